"""Using an exported model: load it, run it on raw pixels, name its top classes.

An ONNX file runs through ONNX Runtime alone: nothing here imports Keras or TensorFlow until a Keras file asks
for them, so a one-picture prediction from the shell starts in a fraction of a second."""

from pathlib import Path

import numpy as np

from data.spec import FASHION_MNIST, DataSpec
from runkit.errors import UserError
from runkit.records import ExportsRecord, NoveltyRecord, read_record
from runkit.text import printable

DEFAULT_FOLDER = Path("exports")
DEFAULT_MODEL = "fashion_mnist_model.h5"  # the Keras export's name before exports.json named it


def read_exports_record(folder: Path) -> ExportsRecord | None:
    """`folder`'s exports.json as written by export_model.py, checked, or None where there is none (exports from
    before it)."""
    contract = folder / "exports.json"
    if not contract.exists():
        return None
    record = read_record(contract, ExportsRecord, "export_model.py")
    model = record.get("model", DEFAULT_MODEL)
    if not (isinstance(model, str) and model and Path(model).name == model):
        raise UserError(f"{contract}: its model {printable(repr(model))[:80]} is not a file name beside it; export "
                        "again with `python export_model.py`")
    return record


def default_model(folder: Path = DEFAULT_FOLDER) -> Path:
    """The Keras export export_model.py last wrote into `folder` (exports.json names it)."""
    return folder / (read_exports_record(folder) or {}).get("model", DEFAULT_MODEL)


def spec_of_export(path: Path) -> DataSpec:
    """What an export takes and answers: its data set's spec, from the exports.json beside it, every field checked
    (exports from before data sets were a choice have none there: Fashion-MNIST's)."""
    record = (read_exports_record(path.parent) or {}).get("dataset")
    return FASHION_MNIST if record is None else DataSpec.from_record(record, path.parent / "exports.json")


def novelty_of(path: Path) -> NoveltyRecord | None:
    """The "not recognised" score's weights and threshold saved with an export (inference/novelty.py), checked, or
    None for an export from before it was fitted."""
    return (read_exports_record(path.parent) or {}).get("novelty")


def recognised(scores: np.ndarray, novelty: dict) -> np.ndarray:
    """Whether each "not recognised" score reaches the threshold saved with the export (then the picture is taken for
    one of the classes)."""
    return np.asarray(scores).reshape(-1) >= novelty["threshold"]


def check_fits(spec: DataSpec, input_shape, classes, path: Path) -> None:
    """A one-line error where the model's input or its number of classes is not the contract's (a model moved away
    from its exports.json, or the record tampered with). A dimension left open (ONNX names it, Keras says None)
    fits any size."""
    def fits(given, expected) -> bool:
        return not isinstance(given, int) or given == expected

    if len(input_shape) != len(spec.input_shape) or not all(map(fits, (*input_shape, classes),
                                                                (*spec.input_shape, spec.num_classes))):
        raise UserError(f"{path} takes {tuple(input_shape)} images into {classes} classes, but the exports.json beside "
                        f"it describes {spec.input_shape} into {spec.num_classes} ({spec.name}); keep each export in "
                        "the folder export_model.py wrote")


def top_classes(probs: np.ndarray, k: int, class_names) -> list[dict]:
    """The k most probable classes of one probability vector, most probable first."""
    order = np.argsort(-probs)[:k]
    return [{"class": class_names[i], "probability": float(probs[i])} for i in order]


def model_runner(path: Path, spec: DataSpec | None = None):
    """Probabilities for a batch of raw pixels from an exported model: ONNX through ONNX Runtime, else Keras
    (checked to take `spec`'s input, where given)."""
    run = scored_runner(path, spec)
    return lambda pixels: run(pixels)[0]


def scored_runner(path: Path, spec: DataSpec | None = None, novelty: dict | None = None):
    """(probabilities, "not recognised" scores) for a batch of raw pixels; the scores are None unless `novelty`,
    the record saved with the export, is given (and, for ONNX, the file carries the score as its second output)."""
    if path.suffix == ".onnx":
        session, name = onnx_session(path, spec)

        def run_onnx(pixels, chunk: int = 256):  # in chunks: ONNX Runtime's memory grows with the batch
            parts = [session.run(None, {name: np.asarray(pixels[i:i + chunk], "float32")})
                     for i in range(0, len(pixels), chunk)]
            probs = np.concatenate([p[0] for p in parts])
            if not (novelty and len(parts[0]) > 1):
                return probs, None
            return probs, np.concatenate([p[1][:, 0] for p in parts])
        return run_onnx
    model = load_keras_export(path)
    if spec is not None:
        check_fits(spec, model.input.shape[1:], model.output.shape[-1], path)
    if novelty:
        from inference.novelty import with_score  # here: it imports Keras, which the ONNX path does without

        model = with_score(model, novelty)

    def run(pixels, chunk: int = 256):  # called eagerly: `predict` would first trace a graph, seconds for a picture
        parts = [model(pixels[i:i + chunk], training=False) for i in range(0, len(pixels), chunk)]
        if not novelty:
            return np.concatenate([keras_output(p) for p in parts]), None
        return (np.concatenate([keras_output(p[0]) for p in parts]),
                np.concatenate([keras_output(p[1])[:, 0] for p in parts]))
    return run


def keras_output(tensor) -> np.ndarray:
    from runkit.frameworks import keras

    return keras.ops.convert_to_numpy(tensor)


def runtime_of(path: Path) -> str:
    """What runs the model: 'ONNX Runtime 1.32.0', or 'Keras 3.15.1 on tensorflow'."""
    if path.suffix == ".onnx":
        import onnxruntime

        return f"ONNX Runtime {onnxruntime.__version__}"
    from runkit.frameworks import keras

    return f"Keras {keras.__version__} on {keras.backend.backend()}"


def onnx_runner(path, spec: DataSpec | None = None):
    """Probabilities from the ONNX file through ONNX Runtime (on the CPU), for any batch of raw pixels (checked to
    be `spec`'s, where given)."""
    session, name = onnx_session(path, spec)
    return lambda x: session.run(None, {name: np.asarray(x, "float32")})[0]


def onnx_session(path, spec: DataSpec | None = None):
    """(an ONNX Runtime session on the CPU, its input's name), the input checked to be `spec`'s where given."""
    import onnxruntime

    try:
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as e:  # ONNX Runtime raises its own types for a damaged or foreign file
        raise UserError(f"{path} could not be loaded ({type(e).__name__}): export again with "
                        "`python export_model.py`") from None
    if spec is not None:
        check_fits(spec, session.get_inputs()[0].shape[1:], session.get_outputs()[0].shape[-1], path)
    return session, session.get_inputs()[0].name


def load_keras_export(path: Path):
    """The .h5 or .keras model export_model.py wrote (raw pixels in, probabilities out)."""
    from runkit.frameworks import keras  # here: the ONNX path needs neither Keras nor TensorFlow

    if path.suffix not in (".h5", ".keras"):
        raise UserError(f"{path}: not a Keras model file; give the .h5 or .keras file export_model.py wrote")
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as e:  # a damaged file, or one Keras refuses to deserialise (safe mode): each its own type
        reason = printable(str(e).strip().split("\n")[0])[:160]
        raise UserError(f"{path} could not be loaded ({type(e).__name__}: {reason}): export again with "
                        "`python export_model.py`") from None
