"""Integration tests on the real files in ../shared (skipped where that folder is absent)."""

import numpy as np
import pytest

from config import make_config
from data.idx import load_idx_dataset
from data.pipeline import EpochBatches, make_dataset, split_train_val
from inference.novelty import fit, with_score
from inference.runtime import recognised
from models.classifier import build_model, classifier_of, freeze_base, with_flip_averaging
from tests.helpers import SHARED_DATA, SHARED_WEIGHTS

needs_data = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"real Fashion-MNIST not found at {SHARED_DATA}")
needs_weights = pytest.mark.skipif(not SHARED_WEIGHTS.is_file(),
                                   reason=f"ImageNet weights not found at {SHARED_WEIGHTS}")


@pytest.fixture(scope="module")
def real_data():
    return load_idx_dataset("fashion_mnist", str(SHARED_DATA))[0]


@needs_data
def test_real_files_parse_to_the_documented_shapes_and_statistics(real_data):
    (x_train, y_train), (x_test, y_test) = real_data
    assert x_train.shape == (60000, 28, 28, 1) and x_test.shape == (10000, 28, 28, 1)
    np.testing.assert_array_equal(np.bincount(y_train), np.full(10, 6000))
    np.testing.assert_array_equal(np.bincount(y_test), np.full(10, 1000))
    assert x_train.mean() == pytest.approx(72.9404, abs=1e-3)  # as stated in shared/fashion-mnist/SOURCE.md


@pytest.fixture(scope="module")
def head_trained(real_data):
    """The ImageNet backbone with a head trained for two short epochs on 2,400 real images; its split."""
    (x, y), _ = real_data
    cfg = make_config({"weights": str(SHARED_WEIGHTS), "image_size": 64, "val_fraction": 0.2})
    (x_train, y_train), (x_val, y_val) = split_train_val(x[:3000], y[:3000], cfg.val_fraction, cfg.seed)
    model = build_model(cfg)
    freeze_base(model)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.optimizer.learning_rate = 3e-3
    model.fit(EpochBatches(x_train, y_train, 64, seed=0).dataset, epochs=2, verbose=0, shuffle=False)
    return model, (x_train, y_train), (x_val, y_val)


@pytest.mark.slow
@needs_data
@needs_weights
def test_imagenet_head_learns_real_data_in_one_short_epoch(head_trained):
    """The local ImageNet backbone gives useful features: a head trained briefly beats chance by far."""
    model, _, (x_val, y_val) = head_trained
    _, accuracy = model.evaluate(make_dataset(x_val, y_val, 256), verbose=0)
    assert accuracy > 0.6  # random-init features reach ~0.2 here (shared/weights/SOURCE.md)


@pytest.mark.slow
@needs_data
@needs_weights
def test_the_not_recognised_score_marks_noise_and_flat_pictures_and_keeps_test_garments(head_trained, real_data):
    model, (x_train, _), (x_val, _) = head_trained
    export = with_flip_averaging(classifier_of(model))
    record = fit(export, x_train, x_val, seed=0)
    _, (x_test, _) = real_data
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (20, 28, 28, 1)).astype(np.uint8)  # what predict.py makes of a picture of noise
    flat = np.zeros((1, 28, 28, 1), np.uint8)  # ... and of a flat colour
    _, scores = with_score(export, record).predict(np.concatenate([x_test[:500], noise, flat]), verbose=0)
    known = recognised(scores, record)
    assert known[:500].mean() >= 0.9 and not known[500:].any()
