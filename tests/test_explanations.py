"""Activation maps that say where: the map each preset draws from, and its peak following a moved garment."""

import keras
import numpy as np
import pytest
from PIL import Image

from config import PRESETS, make_config
from evaluation.cam import map_method, map_side, occlusion_map, split_at_map
from evaluation.cam_shift import follow
from models.classifier import backbone_of, build_classifier, classifier_parts
from tests.helpers import SHARED_WEIGHTS, SILHOUETTES, garment


@pytest.mark.parametrize("preset, method, layer, side", [
    ("quick", "layercam", "block_13_expand_relu", 4), ("full", "layercam", "block_13_expand_relu", 8),  # stride 16
    ("cnn", "gradcam", "stage2_conv2_relu", 14)])  # stride 2, not the last map's 4
def test_each_preset_draws_from_its_map(preset, method, layer, side):
    classifier = build_classifier(make_config({**PRESETS[preset], "weights": None}))
    backbone = classifier_parts(classifier)[1]
    own_method, max_stride = map_method(classifier)
    early, rest = split_at_map(backbone, max_stride)
    assert own_method == method and early.layers[-1].name == layer and early.output.shape[1:3] == (side, side)
    assert map_side(classifier, own_method, max_stride) == side
    x = np.random.default_rng(0).random((2, *backbone.input.shape[1:]), "float32")
    composed = rest[0](early(x)) if rest else early(x)  # the two parts make the whole backbone
    np.testing.assert_allclose(keras.ops.convert_to_numpy(composed), keras.ops.convert_to_numpy(backbone(x)),
                               atol=1e-5)


def test_the_vit_draws_occlusion_maps():
    """None of the maps inside the ViT follows a garment (docs/explanations.md): it is asked from outside."""
    classifier = build_classifier(make_config(PRESETS["vit"]))
    assert map_method(classifier)[0] == "occlusion" and map_side(classifier, "occlusion", None) == 14


def test_occlusion_credits_only_the_pixels_the_class_depends_on():
    """A model whose class 0 grows with the brightness of one 8x8 region, rows 10-17 and columns 4-11."""
    pixels = keras.Input((28, 28, 1))
    region = keras.layers.Flatten()(keras.layers.Cropping2D(((10, 10), (4, 16)))(pixels))
    scores = keras.layers.Dense(2, activation="softmax")(region)
    model = keras.Model(pixels, scores)
    model.layers[-1].set_weights([np.stack([np.full(64, 0.1), np.zeros(64)], axis=1), np.zeros(2)])
    image = np.full((1, 28, 28, 1), 255.0, "float32")

    drop = occlusion_map(model, image, class_index=0)[0]
    assert drop.shape == (28, 28) and np.unravel_index(drop.argmax(), drop.shape) in {
        (row, col) for row in range(10, 18) for col in range(4, 12)}
    # squares there miss it: no drop, but for a float's last digits (oneDNN's kernels differ between CPUs)
    assert drop[10:18, 4:12].min() > 0.01 and drop[:, 20:].max() < 1e-6 and drop[:3].max() < 1e-6
    assert occlusion_map(model, image, class_index=1).max() < 1e-6  # hiding the region only raises class 1


def scenes(count: int, rng, margin: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """28x28 black images with one of the drawn garments, 14 pixels tall, somewhere in them (at least
    `margin` pixels from the left and right edges); the label says which garment."""
    shapes = [np.asarray(Image.fromarray(garment(name)).resize((14, 14), Image.Resampling.LANCZOS))
              for name in SILHOUETTES]
    labels = rng.integers(0, len(shapes), count)
    images = np.zeros((count, 28, 28), np.uint8)
    for image, label in zip(images, labels, strict=True):
        top, left = rng.integers(0, 15), rng.integers(margin, 15 - margin)
        image[top:top + 14, left:left + 14] = shapes[label]
    return images, labels


def follows_a_moved_garment(classifier, epochs: int) -> np.ndarray:
    """The classifier learns which garment is in the picture, wherever it is; moved 6 pixels right, its own
    map's centre and peak must move with it. Returns the moved images."""
    rng = np.random.default_rng(0)
    images, labels = scenes(3000, rng)
    classifier.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    classifier.fit(images[..., None], labels, epochs=epochs, batch_size=64, verbose=0)
    moved, moved_labels = scenes(60, rng, margin=3)
    assert (classifier.predict(moved[..., None], verbose=0).argmax(axis=1) == moved_labels).mean() > 0.95

    result = follow(classifier, moved, *map_method(classifier))
    expected = result["expected_move"]  # 6 pixels of 28, in pixels of the upsampled image
    assert result["centre_move"]["mean"] > 0.7 * expected and result["centre_move"]["mean_abs_error"] < 0.35 * expected
    assert result["peak_move"]["mean"] > 0.5 * expected
    return moved


@pytest.mark.slow
@pytest.mark.skipif(not SHARED_WEIGHTS.is_file(), reason=f"needs the ImageNet weights at {SHARED_WEIGHTS}: a "
                    "MobileNetV2 trained from random weights for seconds classifies nothing")
@pytest.mark.parametrize("preset", ["quick", "full"])
def test_the_map_follows_a_garment_moved_6_pixels(preset):
    """MobileNetV2 with its ImageNet base frozen, as in the first phase of training."""
    keras.utils.set_random_seed(0)
    classifier = build_classifier(make_config({**PRESETS[preset], "weights": str(SHARED_WEIGHTS)}))
    backbone_of(classifier).trainable = False
    moved = follows_a_moved_garment(classifier, epochs=3)
    if preset == "quick":  # where Grad-CAM is usually taken, the 2x2 map, nothing moves
        assert abs(follow(classifier, moved, "gradcam", None)["centre_move"]["mean"]) < 0.3 * 6 * 64 / 28


@pytest.mark.slow
@pytest.mark.parametrize("preset, epochs, width", [  # the CNN's batch norm needs 20 epochs to settle
    ("cnn", 20, {"cnn_filters": 8}), ("vit", 4, {})])  # the CNN at half its width: the same layers and strides
def test_the_map_of_a_model_from_scratch_follows_a_garment_moved_6_pixels(preset, epochs, width):
    """The CNN and the ViT, trained from scratch on the drawn garments; LayerCAM on their last maps lags."""
    keras.utils.set_random_seed(0)
    classifier = build_classifier(make_config({**PRESETS[preset], **width}))
    moved = follows_a_moved_garment(classifier, epochs)
    assert abs(follow(classifier, moved, "layercam", None)["centre_move"]["mean"]) < 0.5 * 6
