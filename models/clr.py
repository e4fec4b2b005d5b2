"""Cyclical learning rate (Smith 2017, "Cyclical Learning Rates for Training Neural Networks")."""

import numpy as np

from runkit.frameworks import keras, ops


def cyclical_lr(step, min_lr: float, max_lr: float, step_size: int, policy: str = "triangular", gamma: float = 1.0,
                total_steps: int | None = None):
    """The LR at optimizer step `step` (a number, array or tensor of steps); `step_size` is half a cycle, in steps.

    triangular: the LR climbs linearly min -> max over step_size steps and back down;
    triangular2: the same, with the amplitude halved every cycle;
    exp_range: the amplitude shrinks by gamma**step;
    one_cycle: one climb over step_size steps, then down to min_lr at `total_steps` (the phase's end).
    """
    step = ops.cast(step, "float32")
    if policy == "one_cycle":
        fall = max(total_steps - step_size, 1)
        x = ops.where(step < step_size, step / step_size, (total_steps - step) / fall)
        return min_lr + (max_lr - min_lr) * ops.clip(x, 0.0, 1.0)
    cycle = ops.floor(1 + step / (2 * step_size))
    x = ops.abs(step / step_size - 2 * cycle + 1)
    if policy == "triangular2":
        scale = ops.power(0.5, cycle - 1)
    elif policy == "exp_range":
        scale = ops.power(gamma, step)
    else:
        scale = 1.0
    return min_lr + (max_lr - min_lr) * ops.maximum(0.0, 1 - x) * scale


class CyclicalLR(keras.optimizers.schedules.LearningRateSchedule):
    """The optimizer's LR as a function of its step count, computed inside the training step.

    A schedule, not a callback that sets the LR between batches: it needs no Python between steps, so it
    also holds in compiled JAX steps (which carry the optimizer's state past callbacks), and a resumed run
    continues it from the optimizer's restored step count.
    """

    def __init__(self, min_lr, max_lr, step_size, policy="triangular", gamma=1.0, total_steps=None):
        self.schedule = dict(min_lr=min_lr, max_lr=max_lr, step_size=step_size, policy=policy, gamma=gamma,
                             total_steps=total_steps)

    def __call__(self, step):
        return cyclical_lr(step, **self.schedule)

    def lr_at(self, steps) -> np.ndarray:
        """The LR at each of `steps` (or at one step), as numbers for logs and plots."""
        return ops.convert_to_numpy(self(np.asarray(steps)))

    def get_config(self):
        return dict(self.schedule)


class LogLearningRate(keras.callbacks.Callback):
    """Adds the LR of the epoch's last step to the logs the callbacks after it record (history, training log).

    (The optimizer's own `learning_rate` is the schedule at its step count: the next step's rate.)
    """

    def __init__(self, schedule: CyclicalLR):
        super().__init__()
        self.schedule = schedule

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            step = int(ops.convert_to_numpy(self.model.optimizer.iterations)) - 1
            logs["learning_rate"] = float(self.schedule.lr_at(max(step, 0)))
