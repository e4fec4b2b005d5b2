"""Smith's LR range test: raise the LR exponentially batch by batch and watch the loss."""

import math

import numpy as np

from runkit.frameworks import keras


class LRRangeTest(keras.callbacks.Callback):
    """Records each batch's loss while the optimizer's LR rises from `start` to `end` over `steps` batches.

    Compile the model with `schedule` as its LR: the optimizer computes start * (end/start)**(step/(steps-1))
    inside each step, so the sweep needs no Python between batches and runs on every Keras backend.
    Training stops after `steps` batches or once the smoothed loss exceeds 4x its minimum.
    """

    def __init__(self, start: float, end: float, steps: int, smoothing: float = 0.9):
        super().__init__()
        self.steps, self.smoothing = steps, smoothing
        self.schedule = keras.optimizers.schedules.ExponentialDecay(
            start, decay_steps=max(1, steps - 1), decay_rate=end / start)
        self.means, self.losses, self.smoothed = [], [], []

    @property
    def lrs(self) -> list[float]:
        """The LR of each recorded batch: the schedule at its step."""
        return keras.ops.convert_to_numpy(self.schedule(np.arange(len(self.losses)))).tolist()

    def on_epoch_begin(self, epoch, logs=None):
        self.means.clear()  # Keras' running mean of the loss restarts with each epoch

    def on_train_batch_end(self, batch, logs=None):
        mean = float(logs["loss"])  # the running mean over the epoch so far: recover this batch's loss
        n = len(self.means) + 1
        batch_loss = mean * n - self.means[-1] * (n - 1) if self.means else mean
        self.means.append(mean)
        self.losses.append(batch_loss)
        previous = self.smoothed[-1] if self.smoothed else batch_loss
        self.smoothed.append(self.smoothing * previous + (1 - self.smoothing) * batch_loss)
        exploded = not math.isfinite(batch_loss) or self.smoothed[-1] > 4 * min(self.smoothed)
        if exploded or len(self.losses) >= self.steps:
            self.model.stop_training = True


def suggest_bounds(lrs, smoothed) -> tuple[float, float]:
    """Cyclical LR bounds from the curve: max a third of the LR of lowest loss, min a tenth of the max.

    (Smith: max_lr where the loss stops falling, base_lr 3-4x lower or more; a margin keeps the peak stable.)
    """
    best = float(lrs[int(np.argmin(smoothed))])
    return best / 30, best / 3
