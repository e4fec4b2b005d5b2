import keras
import numpy as np
import pytest

from config import make_config
from models.clr import CyclicalLR
from models.mobilenet import base_of, build_model, classifier_of, freeze_base, unfreeze_base


@pytest.fixture(scope="module")
def cfg():
    return make_config({"image_size": 32, "weights": None, "rotation": 0.2, "translation": 0.2})


@pytest.fixture(scope="module")
def model(cfg):
    return build_model(cfg)


def raw_images(n=8, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(n, 28, 28, 1)).astype("uint8")


def test_classifier_takes_raw_pixels_and_returns_probabilities(model):
    classifier = classifier_of(model)
    assert classifier.input_shape == (None, 28, 28, 1)
    assert classifier.output_shape == (None, 10)
    probs = classifier.predict(raw_images(), verbose=0)
    assert probs.shape == (8, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)
    assert not any("random" in layer.name for layer in classifier.layers)  # no augmentation inside


def test_augmentation_is_active_only_in_training(model):
    x = raw_images()
    augmentation = model.get_layer("augmentation")
    np.testing.assert_array_equal(augmentation(x, training=False), x.astype("float32"))
    assert not np.allclose(augmentation(x, training=True), x)
    np.testing.assert_allclose(model(x, training=False), classifier_of(model)(x, training=False), atol=1e-6)


def test_augmentation_fills_with_black_background(model):
    white = np.full((4, 28, 28, 1), 255, "uint8")
    shifted = model.get_layer("augmentation")(white, training=True).numpy()
    assert shifted.min() == pytest.approx(0, abs=1)  # new border pixels are background, not reflected


def test_finetuning_keeps_batch_norm_frozen(model):
    freeze_base(model)
    assert [w.name for w in model.trainable_weights] == ["kernel", "bias"]  # only the head
    unfreeze_base(model, top_layers=0)
    base = base_of(model)
    batch_norms = [layer for layer in base.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert batch_norms and not any(layer.trainable for layer in batch_norms)
    convs = [layer for layer in base.layers if isinstance(layer, keras.layers.Conv2D)]
    assert all(layer.trainable for layer in convs)
    unfreeze_base(model, top_layers=10)
    assert not any(layer.trainable for layer in base.layers[:-10])


def test_frozen_batch_norm_statistics_do_not_move_in_training(model):
    unfreeze_base(model, top_layers=0)
    bn = next(layer for layer in base_of(model).layers if isinstance(layer, keras.layers.BatchNormalization))
    before = bn.moving_mean.numpy().copy()
    model(raw_images(), training=True)
    np.testing.assert_array_equal(bn.moving_mean.numpy(), before)


def test_cyclical_lr_callback_sets_the_optimizer_lr_every_batch():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(), loss="mse")
    clr = CyclicalLR(0.01, 0.05, step_size=4, policy="triangular")
    seen = []
    record = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: seen.append(float(model.optimizer.learning_rate)))
    model.fit(np.zeros((8, 2)), np.zeros(8), batch_size=1, epochs=1, verbose=0, callbacks=[clr, record])
    np.testing.assert_allclose(seen, [0.01, 0.02, 0.03, 0.04, 0.05, 0.04, 0.03, 0.02], rtol=1e-6)
