"""Portable exports beside the .h5: native .keras, a TensorFlow SavedModel, TFLite float16 and int8.

Each file is reloaded through its own runtime and checked against the Keras model on the test set:
size, test accuracy, agreement of the predicted class with Keras, and single-image latency.
"""

import shutil
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from artifacts import atomic_path

REPRESENTATIVE_IMAGES = 300  # training images that calibrate the int8 ranges (never test images)


def export_all(classifier: keras.Model, folder, calibration_images, x_test, y_test) -> list[dict]:
    """Write the four formats into `folder` and return one checked row per format (the Keras model first)."""
    folder = Path(folder)
    reference = classifier.predict(x_test, batch_size=256, verbose=0).argmax(axis=1)
    rows = [row("keras (in memory)", None, reference, reference, y_test, single_image_ms(classifier.predict_on_batch))]

    path = folder / "fashion_mnist_model.keras"
    with atomic_path(path) as tmp:
        classifier.save(tmp)
    reloaded = keras.models.load_model(path, compile=False)
    rows.append(row(".keras", path, predict_in_batches(reloaded.predict_on_batch, x_test), reference, y_test,
                    single_image_ms(reloaded.predict_on_batch)))

    saved_model = folder / "saved_model"
    tmp_dir = folder / ".tmp-saved_model"
    shutil.rmtree(tmp_dir, ignore_errors=True)
    classifier.export(str(tmp_dir), format="tf_saved_model", verbose=False)
    shutil.rmtree(saved_model, ignore_errors=True)
    tmp_dir.rename(saved_model)
    loaded = tf.saved_model.load(str(saved_model))  # kept referenced: its variables die with it

    def serve(x):
        return loaded.serve(tf.constant(x))
    rows.append(row("SavedModel", saved_model, predict_in_batches(serve, x_test), reference, y_test,
                    single_image_ms(serve)))

    for name, quantise in (("float16", float16_options), ("int8", int8_options(calibration_images))):
        converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model))
        quantise(converter)
        path = folder / f"fashion_mnist_model_{name}.tflite"
        with atomic_path(path) as tmp:
            tmp.write_bytes(converter.convert())
        rows.append(row(f"TFLite {name}", path, tflite_predict(path, x_test), reference, y_test,
                        single_image_ms(tflite_runner(path, batch=1))))
    return rows


def float16_options(converter) -> None:
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_types = [tf.float16]


def int8_options(images):
    """Post-training int8 quantisation; float input and output, so callers feed raw pixels as before."""
    def representative():
        for image in images[:REPRESENTATIVE_IMAGES]:
            yield [image[None].astype("float32")]

    def apply(converter):
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    return apply


def tflite_runner(path, batch: int):
    interpreter = tf.lite.Interpreter(model_path=str(path))
    interpreter.resize_tensor_input(interpreter.get_input_details()[0]["index"], [batch, 28, 28, 1])
    interpreter.allocate_tensors()
    input_index = interpreter.get_input_details()[0]["index"]
    output_index = interpreter.get_output_details()[0]["index"]

    def run(x):
        interpreter.set_tensor(input_index, np.asarray(x, "float32"))
        interpreter.invoke()
        return interpreter.get_tensor(output_index)
    return run


def tflite_predict(path, images, batch: int = 250) -> np.ndarray:
    run = tflite_runner(path, batch)
    padded = np.concatenate([images, np.zeros((-len(images) % batch, *images.shape[1:]), images.dtype)])
    return np.concatenate([run(padded[i:i + batch]).argmax(axis=1) for i in range(0, len(padded), batch)])[:len(images)]


def predict_in_batches(predict, images, batch: int = 250) -> np.ndarray:
    return np.concatenate([np.asarray(predict(images[i:i + batch].astype("float32"))).argmax(axis=1)
                           for i in range(0, len(images), batch)])


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


def single_image_ms(predict, calls: int = 50) -> float:
    """Median wall time of one prediction on one image."""
    return float(np.median(latencies_ms(predict, np.zeros((1, 28, 28, 1), "float32"), calls)))


def row(name, path, predicted, reference, labels, latency_ms) -> dict:
    size = None if path is None else (sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())
                                      if Path(path).is_dir() else Path(path).stat().st_size)
    return {"format": name, "path": None if path is None else str(path),
            "size_mb": None if size is None else size / 1e6,
            "test_accuracy": float(np.mean(predicted == labels)),
            "agreement_with_keras": float(np.mean(predicted == reference)),
            "latency_ms_one_image": latency_ms}
