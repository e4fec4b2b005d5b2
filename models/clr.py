"""Cyclical learning rate (Smith 2017, "Cyclical Learning Rates for Training Neural Networks")."""

import math

import keras


def cyclical_lr(step: int, min_lr: float, max_lr: float, step_size: int,
                policy: str = "triangular", gamma: float = 1.0) -> float:
    """The LR at optimizer step `step`; `step_size` is half a cycle, in steps.

    triangular: the LR climbs linearly min -> max over step_size steps and back down;
    triangular2: the same, with the amplitude halved every cycle;
    exp_range: the amplitude shrinks by gamma**step.
    """
    cycle = math.floor(1 + step / (2 * step_size))
    x = abs(step / step_size - 2 * cycle + 1)
    scale = {
        "triangular": 1.0,
        "triangular2": 1 / 2 ** (cycle - 1),
        "exp_range": gamma**step,
    }[policy]
    return min_lr + (max_lr - min_lr) * max(0.0, 1 - x) * scale


class CyclicalLR(keras.callbacks.Callback):
    """Sets the optimizer's LR before every batch from its own step counter.

    Reading the step from the optimizer (not counting batches here) keeps the schedule right
    when training resumes from a backup, which restores the optimizer's iterations.
    """

    def __init__(self, min_lr, max_lr, step_size, policy="triangular", gamma=1.0):
        super().__init__()
        self.schedule = dict(min_lr=min_lr, max_lr=max_lr, step_size=step_size, policy=policy, gamma=gamma)

    def lr_at(self, step: int) -> float:
        return cyclical_lr(step, **self.schedule)

    def on_train_batch_begin(self, batch, logs=None):
        # convert_to_numpy also reads variables mirrored by a tf.distribute strategy (int() does not)
        step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        self.model.optimizer.learning_rate = self.lr_at(step)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:  # the LR the epoch ended with, for the CSV log and history
            logs["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
