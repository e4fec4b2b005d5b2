"""Where a run's files live, and how they are written: atomically, so a crash never leaves half a file."""

import csv
import io
import json
import os
import platform
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from errors import UserError


@dataclass(frozen=True)
class RunFiles:
    """The files of one run, all inside its artifacts folder."""

    root: Path

    def __post_init__(self):
        object.__setattr__(self, "root", Path(self.root))

    config = property(lambda self: self.root / "config.json")  # the resolved config of the run
    history = property(lambda self: self.root / "history.json")  # per-epoch metrics and LR per step
    csv_log = property(lambda self: self.root / "training_log.csv")
    best_weights = property(lambda self: self.root / "best.weights.h5")  # best validation accuracy
    last_weights = property(lambda self: self.root / "last.weights.h5")  # end of the last finished phase
    backup = property(lambda self: self.root / "backup")  # mid-phase state for resuming
    tensorboard = property(lambda self: self.root / "tensorboard")  # per-epoch scalars of each phase
    metrics = property(lambda self: self.root / "metrics.json")  # test metrics from evaluate.py
    predictions = property(lambda self: self.root / "test_predictions.npz")


@contextmanager
def atomic_path(path):
    """Yield a temporary name beside `path`; move it into place only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")  # same suffix: Keras picks formats by it
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_json(path, obj) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2) + "\n")


def require(path, script: str) -> Path:
    """The path, or a one-line error naming the script that makes it."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path} not found: run `python {script}` first")
    return path


def read_json(path, script: str):
    """A JSON artifact written by `script`, with a clear error if it is missing or damaged."""
    try:
        return json.loads(require(path, script).read_text())
    except json.JSONDecodeError:
        raise UserError(f"{path} is damaged: run `python {script}` again") from None


def machine_info() -> dict:
    """What a number was measured on: CPUs, accelerators and the framework versions."""
    import keras

    info = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
    }
    if info["backend"] == "jax":
        import jax

        info.update(jax=jax.__version__, gpus=[d.device_kind for d in jax.devices() if d.platform == "gpu"])
    elif info["backend"] == "torch":
        import torch

        info.update(torch=torch.__version__,
                    gpus=[torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())])
    else:
        import tensorflow as tf

        info.update(tensorflow=tf.__version__, gpus=[
            tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name)
            for gpu in tf.config.list_physical_devices("GPU")])
    return info


def optional_tensorflow():
    """The tensorflow module where it is installed, else None: Keras on JAX or PyTorch alone (a GPU box with
    JAX only) trains, evaluates and exports the .h5 without it; what needs it is skipped with a note."""
    try:
        import tensorflow
    except ImportError:
        return None
    return tensorflow


def describe_machine(info: dict) -> str:
    """One line for the results table, e.g. '2 CPU cores, GPU: none, TF 2.21.0'."""
    backend = info.get("backend", "tensorflow")
    framework = {"jax": "JAX", "torch": "PyTorch", "tensorflow": "TF"}[backend] + " " + info[backend]
    return f"{info['cpu_count']} CPU cores, GPU: {', '.join(info['gpus']) or 'none'}, {framework}"


def describe_machines(trained_on: dict, evaluated_on: dict) -> str:
    """The results table's machine: where it trained (its minutes are that machine's), and where it was
    evaluated when that was elsewhere (backends round differently, by about 0.02 pt)."""
    trained, evaluated = describe_machine(trained_on), describe_machine(evaluated_on)
    return trained if trained == evaluated else f"trained on {trained}; evaluated on {evaluated}"


RESULT_COLUMNS = ("date", "run", "changed_config", "val_accuracy", "test_accuracy", "train_minutes", "machine")


def append_result(path, row: dict) -> None:
    """Add one row to the results table (CSV), rewriting it atomically."""
    path = Path(path)
    lines = path.read_text().splitlines(keepends=True) if path.exists() else []
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, RESULT_COLUMNS, lineterminator="\n")
    if not lines:
        writer.writeheader()
    writer.writerow({k: row.get(k, "") for k in RESULT_COLUMNS})
    with atomic_path(path) as tmp:
        tmp.write_text("".join(lines) + buffer.getvalue())
