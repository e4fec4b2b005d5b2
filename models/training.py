"""Two-phase transfer learning (frozen base, then fine-tuning) that can resume after a crash."""

import importlib.util
import json
import shutil
import sys
import time

import keras
import numpy as np

from artifacts import RunFiles, atomic_path, optional_tensorflow, write_json
from data import skip_epochs
from models.clr import CyclicalLR, LogLearningRate
from models.classifier import NUM_CLASSES, freeze_base, is_transfer_learning, unfreeze_base

PHASES = ("frozen", "finetune")
OPTIMIZERS = {
    "adam": lambda lr: keras.optimizers.Adam(lr),
    "adamw": lambda lr: keras.optimizers.AdamW(lr),
    "sgd": lambda lr: keras.optimizers.SGD(lr, momentum=0.9, nesterov=True),
    "rmsprop": lambda lr: keras.optimizers.RMSprop(lr),
}


def compile_for_training(model, cfg, learning_rate=1e-3) -> None:
    """A fresh optimizer with this LR (a number or a schedule) and cross-entropy on integer labels."""
    model.compile(optimizer=OPTIMIZERS[cfg.optimizer](learning_rate), loss=sparse_crossentropy(cfg.label_smoothing),
                  metrics=["accuracy"], jit_compile=cfg.jit_compile or "auto")


def sparse_crossentropy(label_smoothing: float):
    """Cross-entropy on integer labels; with smoothing, the target gives that much mass to all classes."""
    if not label_smoothing:
        return "sparse_categorical_crossentropy"

    def smoothed_crossentropy(labels, probs):
        one_hot = keras.ops.one_hot(keras.ops.reshape(keras.ops.cast(labels, "int32"), (-1,)), NUM_CLASSES)
        return keras.losses.categorical_crossentropy(one_hot, probs, label_smoothing=label_smoothing)

    return smoothed_crossentropy


def progress_verbosity() -> int:
    """Keras' progress bar on a terminal, one line per epoch in a log file."""
    return 1 if sys.stdout.isatty() else 2


def start_or_resume(files: RunFiles, config: dict, steps_per_epoch: int, fresh: bool) -> dict:
    """The history to continue: the unfinished run of this same config, else a new one.

    A finished run, another config or `fresh` starts over, replacing the previous run's files.
    """
    if not fresh and files.config.exists() and files.history.exists():
        saved, history = json.loads(files.config.read_text()), json.loads(files.history.read_text())
        if saved == config and not history["completed"]:
            print(f"resuming the unfinished run in {files.root} ({len(history['epochs'])} epochs done); "
                  "--fresh starts over", flush=True)
            return history
    for path in (files.config, files.history, files.csv_log, files.best_weights, files.last_weights,
                 files.metrics, files.predictions):
        path.unlink(missing_ok=True)
    for folder in (files.backup, files.tensorboard):
        shutil.rmtree(folder, ignore_errors=True)
    write_json(files.config, config)
    return {"steps_per_epoch": steps_per_epoch, "epochs": [], "lr_per_step": {}, "completed": False}


def best_val_accuracy(history: dict) -> float:
    return max((e["val_accuracy"] for e in history["epochs"]), default=float("-inf"))


class RecordEpoch(keras.callbacks.Callback):
    """Appends each finished epoch to the history file, so an interrupted run keeps what it did."""

    def __init__(self, history: dict, phase: str, path):
        super().__init__()
        self.history, self.phase, self.path = history, phase, path

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        entry = {"phase": self.phase, "epoch": epoch, "seconds": time.monotonic() - self.started}
        entry.update({k: float(v) for k, v in (logs or {}).items()})
        # A resumed epoch replaces the record of its interrupted try.
        self.history["epochs"] = [e for e in self.history["epochs"]
                                  if (e["phase"], e["epoch"]) != (self.phase, epoch)] + [entry]
        write_json(self.path, self.history)


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


class ResilientBackup(keras.callbacks.BackupAndRestore):
    """Keras' resume state, kept twice because a kill can land while it is written.

    If neither copy loads (a kill during the phase's first save), the phase starts over, which is
    consistent with the history: it records an epoch only after its backup is complete.
    """

    def __init__(self, backup_dir):
        super().__init__(str(backup_dir), double_checkpoint=True)

    def on_train_begin(self, logs=None):
        try:
            super().on_train_begin(logs)
        except OSError:
            print(f"{self.backup_dir} is unreadable (interrupted while written): the phase starts over", flush=True)
            shutil.rmtree(self.backup_dir, ignore_errors=True)


def tensorboard_logger(log_dir) -> list:
    """Loss, accuracy and LR per epoch for TensorBoard, where its writer (TensorFlow + TensorBoard) is installed."""
    if optional_tensorflow() is None or importlib.util.find_spec("tensorboard") is None:
        return []
    return [keras.callbacks.TensorBoard(str(log_dir), write_graph=False)]


def train_two_phases(model, cfg, train_ds, val_ds, files: RunFiles, history: dict, lr_scale: float = 1.0) -> dict:
    """Train the head on a frozen base, then fine-tune; skip what `history` shows as done.

    `lr_scale` multiplies the cyclical LR bounds (the number of replicas when training is distributed).
    """
    steps = history["steps_per_epoch"]
    skip_epochs(train_ds, len(history["epochs"]))
    if files.last_weights.exists():  # resuming after a finished phase: start where it left the model
        model.load_weights(files.last_weights)
    for phase, epochs in zip(PHASES, (cfg.frozen_epochs, cfg.finetune_epochs)):
        if sum(e["phase"] == phase for e in history["epochs"]) >= epochs:
            continue  # finished before an interruption
        if phase == "frozen":
            freeze_base(model)
            scale = lr_scale
        else:
            unfreeze_base(model, cfg.finetune_layers, is_transfer_learning(cfg))
            scale = lr_scale * cfg.finetune_lr_scale
        clr = CyclicalLR(cfg.clr_min * scale, cfg.clr_max * scale, max(1, round(cfg.clr_step_epochs * steps)),
                         cfg.clr_policy, cfg.clr_gamma)
        compile_for_training(model, cfg, clr)
        print(f"\nphase '{phase}': {epochs} epochs, LR {clr.lr_at(0):.2g}..{clr.schedule['max_lr']:.2g} "
              f"({cfg.clr_policy}), {len(model.trainable_weights)} trainable tensors", flush=True)
        model.fit(
            train_ds, validation_data=val_ds, epochs=epochs, shuffle=False,  # train_ds shuffles itself
            verbose=progress_verbosity(),
            callbacks=[
                LogLearningRate(),  # first: it adds the LR to the logs the others record
                # The backup comes before the records, so history never lists an epoch a resume would redo.
                ResilientBackup(files.backup / phase),
                RecordEpoch(history, phase, files.history),
                SaveBestWeights(files.best_weights, best_val_accuracy(history)),
                keras.callbacks.CSVLogger(str(files.csv_log), append=True),
                *tensorboard_logger(files.tensorboard / phase),
            ],
        )
        history["lr_per_step"][phase] = clr.lr_at(np.arange(epochs * steps)).tolist()
        with atomic_path(files.last_weights) as tmp:
            model.save_weights(tmp)
        write_json(files.history, history)

    history["completed"] = True
    write_json(files.history, history)
    shutil.rmtree(files.backup, ignore_errors=True)
    return history
