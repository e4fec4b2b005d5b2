"""Where a run's files live, and how they are written: atomically, so a crash never leaves half a file."""

import csv
import io
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from runkit.errors import UserError


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
    backup = property(lambda self: self.root / "backup")  # the state after the last epochs, for resuming
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
