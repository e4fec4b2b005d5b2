"""Portable exports: int8 layers kept float, agreement with Keras, what is left without TensorFlow."""

import numpy as np
import pytest
import tensorflow as tf

from config import make_config
from inference import portable
from inference.portable import int8_model, ops_of_layers, predict_in_batches, tflite_interpreter, tflite_runner
from models import mobilenet_v2
from models.classifier import build_model, classifier_of


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    classifier = classifier_of(build_model(make_config({"image_size": 32, "weights": None})))
    classifier.trainable = False  # as load_trained_classifier leaves it: batch norm on its moving statistics
    path = tmp_path_factory.mktemp("export") / "saved_model"
    classifier.export(str(path), format="tf_saved_model", verbose=False)
    return path


def dtypes_of(model_bytes: bytes, layer_prefixes) -> set[str]:
    """The dtypes of the ops (output tensors) that come from the named layers."""
    names = set(ops_of_layers(model_bytes, layer_prefixes))
    details = tflite_interpreter(model_content=model_bytes).get_tensor_details()
    return {np.dtype(t["dtype"]).name for t in details if t["name"] in names}


@pytest.mark.slow  # TFLite conversions
def test_int8_keeps_the_backbones_float_layers_in_float(saved_model, tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (40, 28, 28, 1)).astype("uint8")
    everything_int8 = int8_model(saved_model, images)
    mixed = int8_model(saved_model, images, mobilenet_v2.INT8_FLOAT_LAYERS)

    assert dtypes_of(everything_int8, ("block_1_",)) == {"int8"}
    assert dtypes_of(mixed, ("block_1_",)) == {"float32"}  # the first blocks: float ...
    assert dtypes_of(mixed, ("block_16_",)) == {"int8"}  # ... the rest: int8
    assert len(mixed) < 1.2 * len(everything_int8)  # a few float layers barely change the size

    path = tmp_path / "mixed.tflite"
    path.write_bytes(mixed)
    predicted = predict_in_batches(tflite_runner(path, batch=16), images, batch=16)  # 40 images: the last batch padded
    assert predicted.shape == (40,) and set(predicted) <= set(range(10))


@pytest.mark.slow  # TFLite conversions
def test_layer_prefixes_match_whole_layer_names_only(saved_model):
    model = tf.lite.TFLiteConverter.from_saved_model(str(saved_model)).convert()
    assert ops_of_layers(model, ()) == []
    block_1 = ops_of_layers(model, ("block_1_",))
    assert block_1 and not any("block_1_" not in name for name in block_1)
    assert not any("/block_1" in name and "/block_1_" not in name for name in block_1)  # block_10..16 excluded


def test_without_tensorflow_only_the_keras_formats_are_exported(tmp_path, monkeypatch):
    monkeypatch.setattr(portable, "tf", None)  # as on a JAX-only machine
    classifier = classifier_of(build_model(make_config({"image_size": 32, "weights": None})))
    images = np.random.default_rng(0).integers(0, 256, (20, 28, 28, 1)).astype("uint8")
    rows = portable.export_all(classifier, tmp_path, "fashion_mnist_model", images, images, np.arange(20) % 10)
    assert [r["format"] for r in rows] == ["keras (in memory)", ".keras"]
    assert rows[1]["agreement_with_keras"] == 1.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fashion_mnist_model.keras"]
