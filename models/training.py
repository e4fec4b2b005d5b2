"""Two-phase transfer learning, one phase at a time: the head on a frozen base, then fine-tuning (`start_phase`
freezes or unfreezes and compiles, train.py fits), continued where a stopped run left off. The optimizer, the
loss, the precision and the JAX compilation cache are set here; the callbacks around each epoch are in
models/callbacks.py, the run folder's life in models/run_folder.py."""

import contextlib
import sys

import numpy as np

from models.classifier import freeze_base, is_transfer_learning, unfreeze_base
from models.clr import CyclicalLR
from models.run_folder import remove_resume_states, resume_state
from runkit.files import RunFiles, make_folder, write_json
from runkit.frameworks import keras


def make_optimizer(name: str, learning_rate):
    """Keras' optimizer of that name (one of config.OPTIMIZERS); SGD with Nesterov momentum."""
    settings = {"learning_rate": learning_rate, **({"momentum": 0.9, "nesterov": True} if name == "sgd" else {})}
    return keras.optimizers.get({"class_name": name, "config": settings})


def compile_for_training(model, cfg, learning_rate=1e-3, loss=None) -> None:
    """A fresh optimizer with this LR (a number or a schedule) and `loss` (loss_for's; cross-entropy on integer labels
    where None)."""
    model.compile(optimizer=make_optimizer(cfg.optimizer, learning_rate),
                  loss=loss or sparse_crossentropy(cfg.label_smoothing),
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


def loss_for(targets: np.ndarray, label_smoothing: float):
    """Cross-entropy on what the run learns from: integer labels, or probability vectors (a distilled student's
    targets, models/distillation.py)."""
    if targets.ndim == 2:
        return keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing)
    return sparse_crossentropy(label_smoothing)


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


def phases(cfg) -> list[tuple[str, int, int]]:
    """(phase, its epochs, the run's index of its first epoch) in the order they train."""
    return [("frozen", cfg.frozen_epochs, 0), ("finetune", cfg.finetune_epochs, cfg.frozen_epochs)]


def epochs_done(history: dict, phase: str) -> int:
    return sum(e["phase"] == phase for e in history["epochs"])


def where_it_stopped(files: RunFiles, history: dict) -> tuple[str, object] | None:
    """(the phase, the resume state) of the last epoch a stopped run recorded; None for a new run."""
    last = history["epochs"][-1] if history["epochs"] else None
    return (last["phase"], resume_state(files, last["phase"], last["epoch"] + 1)) if last else None


def start_phase(model, cfg, phase: str, epochs: int, history: dict, loss, lr_scale: float = 1.0,
                stopped: tuple[str, object] | None = None) -> CyclicalLR:
    """Freeze or unfreeze the base for `phase`, compile with `loss` and the phase's cyclical LR (recorded in
    `history`), continue where a run `stopped`, and say so; the schedule.

    Each phase gets its own triangle: the head's spans its few epochs (so it reaches clr_max, as it says), the
    fine-tuning's has the half cycle clr_step_epochs. `lr_scale` multiplies the bounds (the number of replicas when
    training is distributed).
    """
    if stopped and stopped[0] != phase:  # an earlier phase ended there: its weights, not its optimizer
        model.load_weights(stopped[1])
    steps = epochs * history["steps_per_epoch"]
    if phase == "frozen":
        freeze_base(model)
        step_size = steps // 2
    else:
        unfreeze_base(model, cfg.finetune_layers, is_transfer_learning(cfg))
        lr_scale *= cfg.finetune_lr_scale
        step_size = round(cfg.clr_step_epochs * history["steps_per_epoch"])
    clr = CyclicalLR(cfg.clr_min * lr_scale, cfg.clr_max * lr_scale, max(1, step_size), cfg.clr_policy,
                     cfg.clr_gamma, total_steps=steps)
    compile_for_training(model, cfg, clr, loss)
    if stopped and stopped[0] == phase:  # this phase stopped there: weights and optimizer (its steps drive the LR)
        model.optimizer.build(model.trainable_variables)
        model.load_weights(stopped[1])
    history["lr_per_step"][phase] = clr.lr_at(np.arange(steps)).tolist()
    print(f"\nphase '{phase}': {epochs} epochs, LR {clr.lr_at(0):.2g}..{clr.schedule['max_lr']:.2g} "
          f"({cfg.clr_policy}), {len(model.trainable_weights)} trainable tensors", flush=True)
    return clr


def finish_run(files: RunFiles, history: dict) -> None:
    """Record the run as completed; its resume states have served."""
    history["completed"] = True
    write_json(files.history, history)
    remove_resume_states(files)
