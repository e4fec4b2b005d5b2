"""Portable exports beside the .h5: native .keras, a TensorFlow SavedModel, ONNX, TFLite float16 and int8
(all but .keras where TensorFlow is installed).

Each file is reloaded through its own runtime and checked against the Keras model on the test set:
size, test accuracy, agreement of the predicted class with Keras, and single-image latency.
"""

import os
import shutil
import time
import warnings
from pathlib import Path

import numpy as np

from inference.export import check_exports_folder
from inference.runtime import onnx_runner
from runkit.files import atomic_path
from runkit.frameworks import keras, tf
from runkit.machine import native_output_silenced

REPRESENTATIVE_IMAGES = 300  # training images that calibrate the int8 ranges (never test images)
BATCH = 250  # images per prediction call when checking an export on the test set


def export_all(classifier: keras.Model, folder, stem: str, calibration_images, x_test, y_test,
               int8_float_layers=(), onnx_model: keras.Model | None = None) -> list[dict]:
    """Write the formats into `folder` as `stem.keras`, `stem.onnx`, ... and return one checked row per format (the
    Keras model first); only .keras without TensorFlow.

    `int8_float_layers`: name prefixes of the layers the int8 model keeps in float (the backbone says which).
    `onnx_model`: what the ONNX file holds where not the classifier alone: the classifier's probabilities first,
    then more outputs (the "not recognised" score).
    """
    folder = Path(folder)
    check_exports_folder(folder)
    reference = classifier.predict(x_test, batch_size=256, verbose=0).argmax(axis=1)
    one = np.zeros((1, *x_test.shape[1:]), "float32")
    rows = [row("keras (in memory)", None, reference, reference, y_test,
                single_image_ms(classifier.predict_on_batch, one))]

    path = folder / f"{stem}.keras"
    with atomic_path(path) as tmp:
        classifier.save(tmp)
    reloaded = keras.models.load_model(path, compile=False)
    rows.append(row(".keras", path, predict_in_batches(reloaded.predict_on_batch, x_test), reference, y_test,
                    single_image_ms(reloaded.predict_on_batch, one)))
    if tf is None:
        return rows

    saved_model = folder / "saved_model"  # a folder: written beside it, then swapped in for the old one
    new, old = (folder / f".tmp-{os.getpid()}-{name}-saved_model" for name in ("new", "old"))
    classifier.export(str(new), format="tf_saved_model", verbose=False)
    if saved_model.exists():
        saved_model.rename(old)
    new.rename(saved_model)
    shutil.rmtree(old, ignore_errors=True)  # the SavedModel check_exports_folder found there
    loaded = tf.saved_model.load(str(saved_model))  # kept referenced: its variables die with it

    def serve(x):
        return loaded.serve(tf.constant(x))
    rows.append(row("SavedModel", saved_model, predict_in_batches(serve, x_test), reference, y_test,
                    single_image_ms(serve, one)))

    path = folder / f"{stem}.onnx"
    onnx_model = onnx_model or classifier
    onnx_model.predict_on_batch(one)  # Keras exports only a model that has been called
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # Keras' patch of tf2onnx asks numpy for `np.object`
        onnx_model.export(str(tmp), format="onnx", verbose=False)  # through tf2onnx
    onnx = onnx_runner(path)  # one session serves every batch size
    rows.append(row("ONNX", path, predict_in_batches(onnx, x_test), reference, y_test, single_image_ms(onnx, one)))

    with native_output_silenced():  # the quantiser prints its settings from C++
        converted = {"float16": float16_model(saved_model),
                     "int8": int8_model(saved_model, calibration_images, int8_float_layers)}
    for name, model_bytes in converted.items():
        path = folder / f"{stem}_{name}.tflite"
        with atomic_path(path) as tmp:
            tmp.write_bytes(model_bytes)
        rows.append(row(f"TFLite {name}", path, predict_in_batches(tflite_runner(path, BATCH), x_test), reference,
                        y_test, single_image_ms(tflite_runner(path, batch=1), one)))
    return rows


def float16_model(saved_model) -> bytes:
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model))
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_types = [tf.float16]
    return converter.convert()


def int8_model(saved_model, images, float_layers=()) -> bytes:
    """Post-training int8 quantisation calibrated on `images`; float input and output, so callers feed raw
    pixels as before. Ops of the layers whose names start with one of `float_layers` stay float."""
    def representative():
        for image in images[:REPRESENTATIVE_IMAGES]:
            yield [image[None].astype("float32")]

    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model))
    # The op names as the quantiser knows them, read from a float conversion (only when some layers stay float).
    keep_float = ops_of_layers(converter.convert(), float_layers) if float_layers else []
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    if not keep_float:
        return converter.convert()
    converter.target_spec.supported_ops.append(tf.lite.OpsSet.TFLITE_BUILTINS)
    options = tf.lite.experimental.QuantizationDebugOptions(denylisted_nodes=keep_float)  # selective quantisation
    with warnings.catch_warnings():  # the debugger runs TensorFlow's deprecated interpreter: its notice is noise
        warnings.filterwarnings("ignore", message=r"\s*Warning: tf.lite.Interpreter is deprecated")
        debugger = tf.lite.experimental.QuantizationDebugger(converter=converter, debug_dataset=representative,
                                                             debug_options=options)
        return debugger.get_nondebug_quantized_model()


def ops_of_layers(float_model: bytes, layer_prefixes) -> list[str]:
    """Names of the TFLite ops (their output tensors) that come from Keras layers named `layer_prefixes...`.

    A fused op is named by all the graph paths it fuses (`a/b/block_1_expand_1/convolution;...`).
    """
    def from_layer(path):
        return any(part.startswith(tuple(layer_prefixes)) for part in path.split("/"))

    tensors = tflite_interpreter(model_content=float_model).get_tensor_details()
    return [t["name"] for t in tensors if any(from_layer(p) for p in t["name"].split(";"))]


def tflite_interpreter(**model):
    """LiteRT's interpreter where the ai_edge_litert package is installed, else TensorFlow's (deprecated)."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        Interpreter = tf.lite.Interpreter
    return Interpreter(**model)


def tflite_runner(path, batch: int):
    """Probabilities from the TFLite file for batches of `batch` raw-pixel images."""
    interpreter = tflite_interpreter(model_path=str(path))
    image_shape = list(interpreter.get_input_details()[0]["shape"][1:])
    interpreter.resize_tensor_input(interpreter.get_input_details()[0]["index"], [batch, *image_shape])
    with native_output_silenced():  # "INFO: Created TensorFlow Lite XNNPACK delegate for CPU."
        interpreter.allocate_tensors()
    input_index = interpreter.get_input_details()[0]["index"]
    output_index = interpreter.get_output_details()[0]["index"]

    def run(x):
        interpreter.set_tensor(input_index, np.asarray(x, "float32"))
        interpreter.invoke()
        return interpreter.get_tensor(output_index)
    return run


def predict_in_batches(predict, images, batch: int = BATCH) -> np.ndarray:
    """Predicted classes, `batch` images at a time; the last batch is padded (a TFLite input shape is fixed)."""
    padded = np.concatenate([images, np.zeros((-len(images) % batch, *images.shape[1:]), images.dtype)])
    return np.concatenate([np.asarray(predict(padded[i:i + batch].astype("float32"))).argmax(axis=1)
                           for i in range(0, len(padded), batch)])[:len(images)]


def latencies_ms(predict, batch, calls: int) -> list[float]:
    """Wall times of `calls` predictions on `batch`, after a warm-up (tracing, allocation)."""
    for _ in range(10):
        predict(batch)
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        np.asarray(predict(batch))
        times.append((time.perf_counter() - start) * 1000)
    return times


def single_image_ms(predict, image: np.ndarray, calls: int = 50) -> float:
    """Median wall time of one prediction on one image (a batch of one)."""
    return float(np.median(latencies_ms(predict, image, calls)))


def row(name, path, predicted, reference, labels, latency_ms) -> dict:
    size = None if path is None else (sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())
                                      if Path(path).is_dir() else Path(path).stat().st_size)
    return {"format": name, "path": None if path is None else str(path),
            "size_mb": None if size is None else size / 1e6,
            "test_accuracy": float(np.mean(predicted == labels)),
            "agreement_with_keras": float(np.mean(predicted == reference)),
            "latency_ms_one_image": latency_ms}
