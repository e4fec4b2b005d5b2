"""Two-phase transfer learning (frozen base, then fine-tuning) that can resume after a crash."""

import importlib.util
import math
import shutil
import sys
import time
from contextlib import contextmanager

import keras
import numpy as np

from data import skip_epochs
from models.classifier import NUM_CLASSES, freeze_base, is_transfer_learning, unfreeze_base
from models.clr import CyclicalLR, LogLearningRate
from runkit.errors import UserError
from runkit.files import RunFiles, atomic_path, make_folder, read_json, write_json
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


@contextmanager
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
        saved = read_json(files.config, "train.py --fresh")
        history = read_json(files.history, "train.py --fresh", keys=("epochs", "completed", "lr_per_step"))
        if saved == config and not history["completed"]:
            print(f"resuming the unfinished run in {files.root} ({len(history['epochs'])} epochs done); "
                  "--fresh starts over", flush=True)
            return history
    for path in (files.config, files.history, files.csv_log, files.best_weights, files.metrics, files.predictions,
                 files.teacher_probabilities):
        path.unlink(missing_ok=True)
    for folder in (files.backup, files.tensorboard):
        shutil.rmtree(folder, ignore_errors=True)
    write_json(files.config, config)
    return {"steps_per_epoch": steps_per_epoch, "epochs": [], "lr_per_step": {}, "completed": False}


def best_val_accuracy(history: dict) -> float:
    return max((e["val_accuracy"] for e in history["epochs"]), default=float("-inf"))


def training_minutes(history: dict) -> float:
    """The minutes its recorded epochs took (a resumed run's, summed over its processes)."""
    return sum(e["seconds"] for e in history["epochs"]) / 60


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


def tensorboard_logger(log_dir) -> list:
    """Loss, accuracy and LR per epoch for TensorBoard, where its writer (TensorFlow + TensorBoard) is installed."""
    if optional_tensorflow() is None or importlib.util.find_spec("tensorboard") is None:
        return []
    return [keras.callbacks.TensorBoard(str(log_dir), write_graph=False)]


def train_two_phases(model, cfg, train_ds, val_ds, files: RunFiles, history: dict, lr_scale: float = 1.0) -> dict:
    """Train the head on a frozen base, then fine-tune; continue from the last epoch `history` records.

    `lr_scale` multiplies the cyclical LR bounds (the number of replicas when training is distributed).
    """
    steps = history["steps_per_epoch"]
    skip_epochs(train_ds, len(history["epochs"]))
    last = history["epochs"][-1] if history["epochs"] else None
    state = resume_state(files, last["phase"], last["epoch"] + 1) if last else None  # where the run stopped
    for phase, epochs in zip(PHASES, (cfg.frozen_epochs, cfg.finetune_epochs), strict=True):
        done = sum(e["phase"] == phase for e in history["epochs"])
        if done >= epochs:
            continue  # finished before an interruption
        if state and not done:  # an earlier phase ended there: its weights, not its optimizer
            model.load_weights(state)
        if phase == "frozen":
            freeze_base(model)
            scale = lr_scale
        else:
            unfreeze_base(model, cfg.finetune_layers, is_transfer_learning(cfg))
            scale = lr_scale * cfg.finetune_lr_scale
        clr = CyclicalLR(cfg.clr_min * scale, cfg.clr_max * scale, max(1, round(cfg.clr_step_epochs * steps)),
                         cfg.clr_policy, cfg.clr_gamma, total_steps=epochs * steps)
        compile_for_training(model, cfg, clr)
        if state and done:  # this phase stopped there: weights and optimizer (its step count drives the LR)
            model.optimizer.build(model.trainable_variables)
            model.load_weights(state)
        state = None
        history["lr_per_step"][phase] = clr.lr_at(np.arange(epochs * steps)).tolist()
        print(f"\nphase '{phase}': {epochs} epochs, LR {clr.lr_at(0):.2g}..{clr.schedule['max_lr']:.2g} "
              f"({cfg.clr_policy}), {len(model.trainable_weights)} trainable tensors", flush=True)
        model.fit(
            train_ds, validation_data=val_ds, initial_epoch=done, epochs=epochs, shuffle=False,  # train_ds shuffles
            verbose=progress_verbosity(),
            callbacks=[
                StopOnDivergence(phase, f"lower --clr_max (now {cfg.clr_max:g}) or find the bounds with "
                                        "`python lr_range_test.py`"),
                LogLearningRate(),  # it adds the LR to the logs the others record
                SaveResumeState(files, phase),  # before the record: a recorded epoch always has its state
                RecordEpoch(history, phase, files.history),
                SaveBestWeights(files.best_weights, best_val_accuracy(history)),
                keras.callbacks.CSVLogger(str(files.csv_log), append=True),
                *tensorboard_logger(files.tensorboard / phase),
            ],
        )

    history["completed"] = True
    write_json(files.history, history)
    shutil.rmtree(files.backup, ignore_errors=True)
    return history
