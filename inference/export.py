"""Export of the inference model to a file that loads with plain Keras, checked before it lands."""

import re
from pathlib import Path

import numpy as np
from absl import logging as absl_logging

from runkit.errors import UserError
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


# What export_model.py writes into an exports folder (`<stem>` is `<dataset>_model`), and its temporary names.
EXPORT_FILES = re.compile(r"(.+_model(\.h5|\.keras|\.onnx|_float16\.tflite|_int8\.tflite)|saved_model|exports\.json"
                          r"|MODEL_CARD\.md|\.tmp-.+)")


def check_exports_folder(folder) -> None:
    """A one-line error unless `folder` is missing, empty or an exports folder (exports.json, or only the files
    export_model.py writes); its saved_model/ must be a SavedModel, as it is replaced whole."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise UserError(f"exports_dir={folder} is a file, not a folder: give another --exports_dir")
    if not folder.is_dir():
        return
    others = sorted(p.name for p in folder.iterdir() if not EXPORT_FILES.fullmatch(p.name))
    if others and not (folder / "exports.json").is_file():
        shown = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
        raise UserError(f"exports_dir={folder} holds files that are not exports ({shown}): nothing was changed "
                        "there; give an empty or new --exports_dir")
    saved_model = folder / "saved_model"
    if saved_model.exists() and not (saved_model / "saved_model.pb").is_file():
        raise UserError(f"{saved_model} is not a SavedModel (no saved_model.pb), and the export replaces that "
                        "folder whole: move it away or give another --exports_dir")
