"""What happens around each epoch of training: the epoch's data order and random draws (so a resumed run draws what
the uninterrupted one drew), a guard against divergence, and what is written after it: the resume state and the
best weights before the epoch is recorded, so that a recorded epoch always has them."""

import csv
import importlib.util
import math
import time

import numpy as np

from data.pipeline import EpochBatches
from models.clr import CyclicalLR, LogLearningRate
from models.run_folder import resume_state
from runkit.errors import UserError
from runkit.files import RunFiles, atomic_path, write_json
from runkit.frameworks import keras
from runkit.history import best_val_accuracy
from runkit.machine import optional_tensorflow


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
