"""Two-phase transfer learning (frozen base, then fine-tuning) that can resume after a crash."""

import contextlib
import csv
import importlib.util
import math
import re
import shlex
import sys
import time

import numpy as np

from config import NON_TRAINING_FIELDS
from data.pipeline import EpochBatches
from models.classifier import freeze_base, is_transfer_learning, unfreeze_base
from models.clr import CyclicalLR, LogLearningRate
from runkit.errors import UserError
from runkit.files import RunFiles, atomic_path, claim_run_folder, make_folder, read_json, remove_orphans, write_json
from runkit.frameworks import keras
from runkit.history import best_val_accuracy
from runkit.machine import optional_tensorflow

PHASES = ("frozen", "finetune")


def make_optimizer(name: str, learning_rate):
    """Keras' optimizer of that name (one of config.OPTIMIZERS); SGD with Nesterov momentum."""
    settings = {"learning_rate": learning_rate, **({"momentum": 0.9, "nesterov": True} if name == "sgd" else {})}
    return keras.optimizers.get({"class_name": name, "config": settings})


def compile_for_training(model, cfg, learning_rate=1e-3) -> None:
    """A fresh optimizer with this LR (a number or a schedule) and cross-entropy on integer labels, or on probability
    vectors when a distilled student learns from its teachers'."""
    loss = (keras.losses.CategoricalCrossentropy(label_smoothing=cfg.label_smoothing) if cfg.teachers
            else sparse_crossentropy(cfg.label_smoothing))
    model.compile(optimizer=make_optimizer(cfg.optimizer, learning_rate), loss=loss,
                  metrics=["accuracy"], jit_compile=cfg.jit_compile or "auto",
                  steps_per_execution=cfg.steps_per_execution)


def use_compilation_cache(folder: str | None) -> None:
    """On JAX, keep each compiled step in `folder` (None: not at all), so that the next run with the same
    shapes (another seed, a resumed run, a sweep's next run) loads it instead of compiling again."""
    if folder and keras.backend.backend() == "jax":
        import jax

        jax.config.update("jax_compilation_cache_dir", str(make_folder(folder)))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)  # the many short compiles add up too


@contextlib.contextmanager
def training_precision(mixed_precision: str):
    """Layers built in the block compute in that mixed policy, their weights kept in float32 (so evaluation
    and exports load them into the float32 model); Keras adds loss scaling for mixed_float16."""
    keras.config.set_dtype_policy("float32" if mixed_precision == "off" else mixed_precision)
    try:
        yield
    finally:
        keras.config.set_dtype_policy("float32")


def sparse_crossentropy(label_smoothing: float):
    """Cross-entropy on integer labels; with smoothing, the target gives that much mass to all classes."""
    if not label_smoothing:
        return "sparse_categorical_crossentropy"

    def smoothed_crossentropy(labels, probs):
        one_hot = keras.ops.one_hot(keras.ops.reshape(keras.ops.cast(labels, "int32"), (-1,)), probs.shape[-1])
        return keras.losses.categorical_crossentropy(one_hot, probs, label_smoothing=label_smoothing)

    return smoothed_crossentropy


def progress_verbosity() -> int:
    """Keras' progress bar on a terminal, one line per epoch in a log file."""
    return 1 if sys.stdout.isatty() else 2


def start_or_resume(files: RunFiles, config: dict, steps_per_epoch: int, fresh: bool) -> dict:
    """The history to continue: the unfinished run of this training config, or a new one where there is none.

    A finished run, or an unfinished one of another training config, is never replaced without `fresh`: a
    one-line error says what is there and what to do. Fields that do not shape training never count. The folder is
    marked as a run's (RUN.json); one that holds other files is refused.
    """
    claim_run_folder(files)
    for folder in (files.root, files.backup):  # where atomic_path writes a run's files
        remove_orphans(folder)
    if not fresh and files.history.exists():
        history = read_json(files.history, "train.py --fresh", keys=("epochs", "completed", "lr_per_step"))
        saved = read_json(files.config, "train.py --fresh")
        if history["completed"]:
            raise UserError(f"{files.root} holds a finished run ({describe_finished(files, history)}): evaluate it "
                            f"with `python evaluate.py --artifacts_dir {shlex.quote(str(files.root))}`, or give "
                            "--fresh to train it again, or another --artifacts_dir")
        changed = [f"{name} ({saved.get(name)!r} there, {value!r} here)" for name, value in config.items()
                   if name not in NON_TRAINING_FIELDS and saved.get(name) != value]
        if changed:
            raise UserError(f"{files.root} holds an unfinished run of another training config: {', '.join(changed)}; "
                            "run it with its own values to resume, or give --fresh to replace it, or another "
                            "--artifacts_dir")
        print(f"resuming the unfinished run in {files.root} ({len(history['epochs'])} epochs done); "
              "--fresh starts over", flush=True)
        write_json(files.config, config)  # the paths and evaluation settings of this command
        return history
    remove_run_outputs(files)
    write_json(files.config, config)
    return {"steps_per_epoch": steps_per_epoch, "epochs": [], "lr_per_step": {}, "completed": False}


def remove_run_outputs(files: RunFiles) -> None:
    """Delete what a run of train.py and evaluate.py wrote into its folder, by name: the files, the resume states
    and the TensorBoard logs (their folders only once empty). Anything else in the folder stays."""
    for path in (files.config, files.history, files.csv_log, files.best_weights, files.metrics, files.predictions,
                 files.novelty, files.teacher_probabilities):
        path.unlink(missing_ok=True)
    remove_resume_states(files)
    for phase in PHASES:
        for split in ("train", "validation"):  # the writers Keras' TensorBoard callback opens
            remove_if_empty(files.tensorboard / phase / split, "events.out.tfevents.*")
        remove_if_empty(files.tensorboard / phase)
    remove_if_empty(files.tensorboard)


def remove_resume_states(files: RunFiles) -> None:
    """Delete the backup folder's resume states (SaveResumeState's files), then the folder if nothing else is there."""
    remove_if_empty(files.backup, "*.weights.h5", keep=lambda p: not RESUME_STATE.fullmatch(p.name))


def remove_if_empty(folder, pattern: str | None = None, keep=lambda path: False) -> None:
    """Delete the files in `folder` matching `pattern` (unless `keep` says so), then the folder if it is empty."""
    if not folder.is_dir():
        return
    for path in folder.glob(pattern) if pattern else ():
        if path.is_file() and not keep(path):
            path.unlink()
    with contextlib.suppress(OSError):  # not empty: something not ours is there
        folder.rmdir()


def describe_finished(files: RunFiles, history: dict) -> str:
    """'best validation accuracy 0.9385, evaluated: test accuracy 0.9357' (or 'not evaluated yet')."""
    described = f"best validation accuracy {best_val_accuracy(history):.4f}"
    if not files.metrics.exists():
        return f"{described}, not evaluated yet"
    metrics = read_json(files.metrics, "evaluate.py")
    return f"{described}, evaluated: test accuracy {metrics.get('test_accuracy', float('nan')):.4f}"


class RecordEpoch(keras.callbacks.Callback):
    """Appends each finished epoch to the history file, so an interrupted run keeps what it did, and writes the
    training log (CSV, one row per epoch of the run, numbered across phases) from it."""

    def __init__(self, history: dict, phase: str, files: RunFiles):
        super().__init__()
        self.history, self.phase, self.files = history, phase, files

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        entry = {"phase": self.phase, "epoch": epoch, "seconds": time.monotonic() - self.started}
        entry.update({k: float(v) for k, v in (logs or {}).items()})
        # A resumed epoch replaces the record of its interrupted try.
        self.history["epochs"] = [e for e in self.history["epochs"]
                                  if (e["phase"], e["epoch"]) != (self.phase, epoch)] + [entry]
        write_json(self.files.history, self.history)
        write_training_log(self.files.csv_log, self.history["epochs"])


def write_training_log(path, epochs: list[dict]) -> None:
    """training_log.csv: the run's epoch (from 1), its phase, then what the history recorded of it."""
    columns = ["epoch", "phase", *sorted({key for e in epochs for key in e} - {"epoch", "phase"})]
    rows = [{**e, "epoch": number, "phase": e["phase"]} for number, e in enumerate(epochs, start=1)]
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, columns)
        writer.writeheader()
        writer.writerows(rows)


class SaveBestWeights(keras.callbacks.Callback):
    """Keeps the weights of the best validation accuracy so far, written atomically.

    (keras.callbacks.ModelCheckpoint writes in place, so a crash mid-write would corrupt the best file.)
    """

    def __init__(self, path, best: float):
        super().__init__()
        self.path, self.best = path, best

    def on_epoch_end(self, epoch, logs=None):
        if logs["val_accuracy"] > self.best:
            self.best = logs["val_accuracy"]
            with atomic_path(self.path) as tmp:
                self.model.save_weights(tmp)


class StopOnDivergence(keras.callbacks.Callback):
    """Ends training at the first batch whose running loss is not finite or has grown `factor` times past the
    phase's first batch: raises a UserError before the epoch is recorded, so the history, the resume state and
    the best weights keep what came before."""

    def __init__(self, phase: str, advice: str, factor: float = 10.0):
        super().__init__()
        self.phase, self.advice, self.factor, self.first = phase, advice, factor, None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = float(logs["loss"])
        self.first = self.first or loss
        if not math.isfinite(loss) or loss > self.factor * self.first:
            raise UserError(f"training diverged in phase '{self.phase}', epoch {self.epoch + 1}, batch {batch + 1} "
                            f"(loss {loss:.4g}, {self.first:.4g} at its start); {self.advice}")


class SaveResumeState(keras.callbacks.Callback):
    """After each epoch, the model with its optimizer's state as `<phase>-<epochs done>.weights.h5` in the backup
    folder, written atomically before RecordEpoch records the epoch: the history never lists an epoch whose state
    is missing. The state two epochs back is removed then, as the history has moved past it."""

    def __init__(self, files: RunFiles, phase: str):
        super().__init__()
        self.files, self.phase = files, phase

    def on_epoch_end(self, epoch, logs=None):
        with atomic_path(resume_state(self.files, self.phase, epoch + 1)) as tmp:
            self.model.save_weights(tmp)
        if epoch:
            resume_state(self.files, self.phase, epoch - 1).unlink(missing_ok=True)


def resume_state(files: RunFiles, phase: str, epochs_done: int):
    return files.backup / f"{phase}-{epochs_done}.weights.h5"


RESUME_STATE = re.compile(rf"({'|'.join(PHASES)})-\d+\.weights\.h5")  # resume_state's names


def tensorboard_logger(log_dir) -> list:
    """Loss, accuracy and LR per epoch for TensorBoard, where its writer (TensorFlow + TensorBoard) is installed."""
    if optional_tensorflow() is None or importlib.util.find_spec("tensorboard") is None:
        return []
    return [keras.callbacks.TensorBoard(str(log_dir), write_graph=False)]


class StartEpoch(keras.callbacks.Callback):
    """At each epoch's start, selects the run's epoch `first + epoch` for the data order and for every random
    layer's draws (augmentation, dropout): each a function of the epoch alone, so that a resumed run draws
    what the uninterrupted run drew.

    Keras keeps random state in seed generators (a seed and a counter) that weights files do not hold: each
    generator keeps its own seed, and its counter starts the epoch at a block of draws of its own.
    """

    DRAWS_PER_EPOCH = 2**20  # more than any layer draws in an epoch; 4096 epochs fit a uint32 counter

    def __init__(self, data: EpochBatches, first: int):
        super().__init__()
        self.data, self.first = data, first

    def on_epoch_begin(self, epoch, logs=None):
        self.data.use_epoch(self.first + epoch)
        for state in seed_generator_states(self.model):
            seed = keras.ops.convert_to_numpy(state.value)[0]
            state.assign(np.array([seed, (self.first + epoch) * self.DRAWS_PER_EPOCH], dtype=state.dtype))


def seed_generator_states(model) -> list:
    """The state variable of every seed generator in the model (augmentation layers, dropout)."""
    return [v for v in model.variables if v.name == "seed_generator_state"]


def train_two_phases(model, cfg, train_data: EpochBatches, val_ds, files: RunFiles, history: dict,
                     lr_scale: float = 1.0) -> dict:
    """Train the head on a frozen base, then fine-tune; continue from the last epoch `history` records.

    `lr_scale` multiplies the cyclical LR bounds (the number of replicas when training is distributed).
    """
    last = history["epochs"][-1] if history["epochs"] else None
    state = resume_state(files, last["phase"], last["epoch"] + 1) if last else None  # where the run stopped
    first = 0  # the run's index of the phase's first epoch
    for phase, epochs in zip(PHASES, (cfg.frozen_epochs, cfg.finetune_epochs), strict=True):
        done = sum(e["phase"] == phase for e in history["epochs"])
        if done < epochs:
            if state and not done:  # an earlier phase ended there: its weights, not its optimizer
                model.load_weights(state)
            clr = start_phase(model, cfg, phase, epochs, history["steps_per_epoch"], lr_scale)
            if state and done:  # this phase stopped there: weights and optimizer (its step count drives the LR)
                model.optimizer.build(model.trainable_variables)
                model.load_weights(state)
            state = None
            history["lr_per_step"][phase] = clr.lr_at(np.arange(epochs * history["steps_per_epoch"])).tolist()
            model.fit(train_data.dataset, validation_data=val_ds, initial_epoch=done, epochs=epochs,
                      shuffle=False, verbose=progress_verbosity(),  # the data set orders itself (StartEpoch)
                      callbacks=phase_callbacks(cfg, phase, clr, train_data, first, files, history))
        first += epochs

    history["completed"] = True
    write_json(files.history, history)
    remove_resume_states(files)
    return history


def start_phase(model, cfg, phase: str, epochs: int, steps_per_epoch: int, lr_scale: float) -> CyclicalLR:
    """Freeze or unfreeze the base for `phase`, compile with its cyclical LR, say so; the schedule.

    Each phase gets its own triangle: the head's spans its few epochs (so it reaches clr_max, as it says), the
    fine-tuning's has the half cycle clr_step_epochs.
    """
    steps = epochs * steps_per_epoch
    if phase == "frozen":
        freeze_base(model)
        step_size = steps // 2
    else:
        unfreeze_base(model, cfg.finetune_layers, is_transfer_learning(cfg))
        lr_scale *= cfg.finetune_lr_scale
        step_size = round(cfg.clr_step_epochs * steps_per_epoch)
    clr = CyclicalLR(cfg.clr_min * lr_scale, cfg.clr_max * lr_scale, max(1, step_size), cfg.clr_policy,
                     cfg.clr_gamma, total_steps=steps)
    compile_for_training(model, cfg, clr)
    print(f"\nphase '{phase}': {epochs} epochs, LR {clr.lr_at(0):.2g}..{clr.schedule['max_lr']:.2g} "
          f"({cfg.clr_policy}), {len(model.trainable_weights)} trainable tensors", flush=True)
    return clr


def phase_callbacks(cfg, phase: str, clr: CyclicalLR, train_data: EpochBatches, first: int, files: RunFiles,
                    history: dict) -> list:
    """In order: the epoch's data and draws, the divergence guard, the LR into the logs, then what is written
    after each epoch: the resume state and the best weights before the epoch is recorded, so that a recorded
    epoch always has them."""
    return [
        StartEpoch(train_data, first),
        StopOnDivergence(phase, f"lower --clr_max (now {cfg.clr_max:g}) or find the bounds with "
                                "`python lr_range_test.py`"),
        LogLearningRate(clr),
        SaveResumeState(files, phase),
        SaveBestWeights(files.best_weights, best_val_accuracy(history)),
        RecordEpoch(history, phase, files),
        *tensorboard_logger(files.tensorboard / phase),
    ]
