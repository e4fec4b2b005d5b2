"""Using an exported model: load it, run it on raw pixels, name its top classes."""

from pathlib import Path

import keras
import numpy as np

from data.fashion_mnist import CLASS_NAMES
from models.portable import onnx_runner
from runkit.errors import UserError


def top_classes(probs: np.ndarray, k: int) -> list[dict]:
    """The k most probable classes of one probability vector, most probable first."""
    order = np.argsort(-probs)[:k]
    return [{"class": CLASS_NAMES[i], "probability": float(probs[i])} for i in order]


def model_runner(path: Path):
    """Probabilities for a batch of raw pixels from an exported model: ONNX through ONNX Runtime, else Keras."""
    if path.suffix == ".onnx":
        return onnx_runner(path)
    model = load_keras_export(path)
    return lambda pixels: model.predict(pixels, verbose=0)


def load_keras_export(path: Path) -> keras.Model:
    """The .h5 or .keras model export_model.py wrote (raw pixels in, probabilities out)."""
    if path.suffix not in (".h5", ".keras"):
        raise UserError(f"{path}: not a Keras model file; give the .h5 or .keras file export_model.py wrote")
    try:
        return keras.models.load_model(path, compile=False)
    except (OSError, ValueError) as e:
        raise UserError(f"{path} could not be loaded ({type(e).__name__}): export again with "
                        "`python export_model.py`") from None


def single_view(model: keras.Model) -> keras.Model:
    """The classifier inside an export that averages the mirrored view's prediction in (one view: one map)."""
    names = {layer.name for layer in model.layers}
    return model.get_layer("classifier") if "classifier" in names else model
