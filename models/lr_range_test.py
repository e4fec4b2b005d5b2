"""Smith's LR range test: raise the LR exponentially batch by batch and watch the loss."""

import math

import keras
import numpy as np


class LRRangeTest(keras.callbacks.Callback):
    """Sets LR = start * (end/start)**(step/steps) and records the loss until it diverges."""

    def __init__(self, start: float, end: float, steps: int, smoothing: float = 0.9):
        super().__init__()
        self.start, self.end, self.steps, self.smoothing = start, end, steps, smoothing
        self.lrs, self.means, self.losses, self.smoothed = [], [], [], []

    def lr_at(self, step: int) -> float:
        return self.start * (self.end / self.start) ** (step / max(1, self.steps - 1))

    def on_train_batch_begin(self, batch, logs=None):
        self.model.optimizer.learning_rate = self.lr_at(len(self.lrs))

    def on_train_batch_end(self, batch, logs=None):
        mean = float(logs["loss"])  # Keras reports the running mean over the epoch: recover this batch's
        n = len(self.means) + 1
        batch_loss = mean * n - self.means[-1] * (n - 1) if self.means else mean
        self.lrs.append(self.lr_at(len(self.lrs)))
        self.means.append(mean)
        self.losses.append(batch_loss)
        previous = self.smoothed[-1] if self.smoothed else batch_loss
        self.smoothed.append(self.smoothing * previous + (1 - self.smoothing) * batch_loss)
        if len(self.lrs) >= self.steps or not math.isfinite(batch_loss) or self.smoothed[-1] > 4 * min(self.smoothed):
            self.model.stop_training = True


def suggest_bounds(lrs, smoothed) -> tuple[float, float]:
    """Cyclical LR bounds from the curve: max a third of the LR of lowest loss, min a tenth of the max.

    (Smith: max_lr where the loss stops falling, base_lr 3-4x lower or more; a margin keeps the peak stable.)
    """
    best = float(lrs[int(np.argmin(smoothed))])
    return best / 30, best / 3
