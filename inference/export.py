"""Export of the inference model to a file that loads with plain Keras, checked before it lands."""

from pathlib import Path

import numpy as np
from absl import logging as absl_logging

from runkit.files import atomic_path
from runkit.frameworks import keras

TOLERANCE = 1e-5  # largest allowed probability difference between the trained and the reloaded model


def export_checked(classifier: keras.Model, path, images: np.ndarray) -> float:
    """Save `classifier` to `path` (format by suffix), reload it, and compare predictions on `images`.

    The file replaces any previous export only if the reloaded model agrees; returns the largest
    probability difference seen.
    """
    with atomic_path(path) as tmp:
        verbosity = absl_logging.get_verbosity()
        absl_logging.set_verbosity(absl_logging.ERROR)  # .h5 is asked for on purpose: no "legacy format" notice
        try:
            classifier.save(tmp)
        finally:
            absl_logging.set_verbosity(verbosity)
        reloaded = keras.models.load_model(tmp, compile=False, safe_mode=True)
        expected = classifier.predict(images, verbose=0)
        got = reloaded.predict(images, verbose=0)
        max_diff = float(np.abs(expected - got).max())
        if max_diff > TOLERANCE or not np.array_equal(expected.argmax(1), got.argmax(1)):
            raise RuntimeError(f"{Path(path).name}: reloaded model disagrees (max difference {max_diff:.2g})")
    return max_diff
