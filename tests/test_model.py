import dataclasses
import importlib.util

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras.src.trainers.trainer import model_supports_jit  # Keras' own test for jit_compile="auto"

from config import CORRUPTION_FIELDS, PRESETS, Config, make_config
from data.spec import FASHION_MNIST
from evaluation.cam import activation_maps
from inference.export import export_checked
from models.augmentation import augmentation_seeds, build_augmentation, corruption_steps
from models.callbacks import tensorboard_logger
from models.classifier import (
    base_of,
    build_model,
    classifier_of,
    freeze_base,
    unfreeze_base,
    with_flip_averaging,
)
from models.clr import CyclicalLR
from models.consistency import JensenShannon, jensen_shannon
from models.training import loss_for, sparse_crossentropy
from runkit.errors import UserError


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


@pytest.mark.parametrize("channels", [1, 3])
def test_flip_averaging_is_the_mean_over_the_mirror_image(tmp_path, channels):
    keras.utils.set_random_seed(0)
    classifier = keras.Sequential([keras.Input((28, 28, channels)), keras.layers.Rescaling(1 / 255),
                                   keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
    tta = with_flip_averaging(classifier)
    x = raw_images() if channels == 1 else np.random.default_rng(1).integers(0, 256, (8, 28, 28, 3)).astype("float32")
    expected = (classifier.predict(x, verbose=0) + classifier.predict(x[:, :, ::-1], verbose=0)) / 2
    np.testing.assert_allclose(tta.predict(x, verbose=0), expected, atol=1e-6)
    assert not np.allclose(expected, classifier.predict(x, verbose=0))  # the mirror image did count
    export_checked(tta, tmp_path / "tta.h5", x)  # still stock layers: reloads with safe_mode


def test_the_loss_follows_the_targets_integer_labels_or_probability_vectors():
    """A distilled student learns from its teachers' probabilities: the loss is chosen by the targets it gets."""
    probs = np.array([[0.7, 0.2, 0.1]], "float32")
    assert loss_for(np.array([0]), 0.0) == "sparse_categorical_crossentropy"
    soft = loss_for(np.array([[0.5, 0.5, 0.0]]), 0.0)
    np.testing.assert_allclose(soft(np.array([[0.5, 0.5, 0.0]]), probs), -(0.5 * np.log(0.7) + 0.5 * np.log(0.2)),
                               rtol=1e-5)


def test_label_smoothing_moves_mass_to_all_classes():
    assert sparse_crossentropy(0.0) == "sparse_categorical_crossentropy"
    probs = np.array([[0.7, 0.2, 0.1] + [0.0] * 7], "float32")
    target = np.full(10, 0.1 / 10) + np.eye(10)[0] * 0.9  # 0.91 on the label, 0.01 elsewhere
    expected = -np.sum(target * np.log(np.clip(probs[0], 1e-7, 1)))
    loss = sparse_crossentropy(0.1)(np.array([0]), probs)
    np.testing.assert_allclose(loss, [expected], rtol=1e-4)


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


def test_each_random_layer_draws_its_own_stream():
    """Layers given one seed draw one stream: a flip would happen exactly when a rotation is negative."""
    augmentation = build_augmentation(make_config({"rotation": 0.1, "zoom": 0.1, "translation": 0.1, "erasing": 0.5}))
    layer = {type(layer).__name__: layer for layer in augmentation.layers}
    x = np.zeros((256, 28, 28, 1), "float32")
    flips, negative_angles = [], []
    for _ in range(5):
        flips.append(np.ravel(layer["RandomFlip"].get_random_transformation(x, training=True)["flips"]))
        angles = layer["RandomRotation"].get_random_transformation(x, training=True)["angle"]
        negative_angles.append(np.ravel(keras.ops.convert_to_numpy(angles)) < 0)
    flips, negative_angles = np.concatenate(flips), np.concatenate(negative_angles)
    assert 0.4 < flips.mean() < 0.6 and 0.4 < negative_angles.mean() < 0.6
    assert abs(np.corrcoef(flips, negative_angles)[0, 1]) < 0.15  # 1280 draws: 0.03 is one standard deviation
    seeds = [layer.seed for layer in augmentation.layers]
    assert len(set(seeds)) == len(seeds) == 5


def test_corruption_families_are_built_only_when_asked_each_with_its_own_seed():
    assert [type(layer).__name__ for layer in build_augmentation(make_config({})).layers] == ["RandomFlip"]
    families = {"contrast": 0.5, "brightness": 0.3, "blur": 0.5, "noise": 50.0, "sketch": 0.2, "impulse": 0.1,
                "lines": 0.2, "gratings": 0.2, "augmix": True}
    augmentation = build_augmentation(make_config({**families, "horizontal_flip": False}))
    assert [type(layer).__name__ for layer in augmentation.layers] == [
        "RandomSketch", "RandomContrast", "RandomBrightness", "RandomGaussianBlur", "RandomPixelNoise",
        "RandomImpulseNoise", "RandomLines", "RandomGratings", "RandomAugMix"]
    seeds = [layer.seed for layer in augmentation.layers]
    assert len(set(seeds)) == len(seeds)


def test_pixel_noise_draws_a_standard_deviation_per_image_in_training_only():
    augmentation = build_augmentation(make_config({"noise": 60.0, "horizontal_flip": False}))
    grey = np.full((256, 28, 28, 1), 128, "uint8")
    np.testing.assert_array_equal(augmentation(grey, training=False), grey.astype("float32"))
    noisy = augmentation(grey, training=True).numpy()
    assert noisy.min() >= 0 and noisy.max() <= 255
    stds = noisy.reshape(256, -1).std(axis=1)
    assert stds.max() < 62 and stds.min() < 5 and 25 < stds.mean() < 35  # uniform in [0, 60] per image
    assert not np.allclose(noisy[0], augmentation(grey, training=True).numpy()[0])  # new draws each call


def square(count: int) -> np.ndarray:
    """Black images with a 12x12 square of grey 200 in the middle."""
    images = np.zeros((count, 28, 28, 1), "uint8")
    images[:, 8:20, 8:20] = 200
    return images


def test_impulse_noise_sets_a_share_drawn_per_image_of_pixels_to_black_or_white_in_training_only():
    augmentation = build_augmentation(make_config({"impulse": 0.2, "horizontal_flip": False}))
    grey = np.full((256, 28, 28, 1), 128, "uint8")
    np.testing.assert_array_equal(augmentation(grey, training=False), grey.astype("float32"))
    noisy = augmentation(grey, training=True).numpy()
    assert set(np.unique(noisy)) == {0.0, 128.0, 255.0}
    shares = (noisy != 128).reshape(256, -1).mean(axis=1)
    assert shares.max() < 0.25 and shares.min() < 0.02 and 0.08 < shares.mean() < 0.12  # uniform in [0, 0.2]
    assert 0.4 < (noisy == 255).sum() / (noisy != 128).sum() < 0.6  # salt and pepper alike


def test_a_sketch_keeps_the_edges_and_darkens_what_is_flat_on_a_share_of_the_images():
    augmentation = build_augmentation(make_config({"sketch": 1.0, "horizontal_flip": False}))
    images = square(64)
    np.testing.assert_array_equal(augmentation(images, training=False), images.astype("float32"))
    sketch = augmentation(images, training=True).numpy()
    assert (sketch[:, 10:18, 10:18] <= 0.5 * 200 + 1e-3).all()  # inside: no gradient, at most half the picture
    assert (sketch[:, 8, 10:18] >= 64 - 1e-3).all() and (sketch[:, 10:18, 19] >= 64 - 1e-3).all()  # the outline
    assert (sketch[:, :5, :5] == 0).all() and len(np.unique(sketch[:, 9, 14])) > 32  # peaks drawn per image
    half = build_augmentation(make_config({"sketch": 0.5, "horizontal_flip": False}))
    changed = (half(square(512), training=True).numpy() != square(512)).reshape(512, -1).any(axis=1)
    assert 0.43 < changed.mean() < 0.57  # 512 draws of 50%: 0.022 is one standard deviation


def test_lines_cross_a_share_of_the_images_each_line_a_thin_stroke():
    augmentation = build_augmentation(make_config({"lines": 0.5, "horizontal_flip": False}))
    black = np.zeros((512, 28, 28, 1), "uint8")
    np.testing.assert_array_equal(augmentation(black, training=False), black.astype("float32"))
    drawn = augmentation(black, training=True).numpy()
    lit = (drawn > 0).reshape(512, -1).sum(axis=1)
    assert 0.43 < (lit > 0).mean() < 0.57
    assert np.median(lit[lit > 0]) < 120 and lit.max() < 400  # strokes, not fills: 3 lines of 40 px by 3 at most
    levels = np.unique(drawn[drawn > 0].round())
    assert len(levels) > 50  # a grey level of its own for each line


def test_gratings_lay_stripes_light_or_dark_at_angles_of_their_own_over_a_share_of_the_images():
    augmentation = build_augmentation(make_config({"gratings": 0.5, "horizontal_flip": False}))
    grey = np.full((512, 28, 28, 1), 128, "uint8")
    np.testing.assert_array_equal(augmentation(grey, training=False), grey.astype("float32"))
    change = augmentation(grey, training=True).numpy()[..., 0] - 128
    striped = np.abs(change).reshape(512, -1).max(axis=1) > 0
    assert 0.43 < striped.mean() < 0.57  # 512 draws of 50%: 0.022 is one standard deviation
    change = change[striped]
    strength = np.abs(change).reshape(len(change), -1).max(axis=1)
    assert strength.min() > 15 and strength.max() <= 110 + 1e-3
    assert (np.abs(change).reshape(len(change), -1).min(axis=1) < 0.3 * strength).all()  # stripes, not a shift
    light = change.reshape(len(change), -1).sum(axis=1) > 0
    assert 0.35 < light.mean() < 0.65
    # Along rows or down columns: a vertical grating varies along rows only, a horizontal one down columns only.
    along_rows, down_columns = np.abs(np.diff(change, axis=2)).mean(axis=(1, 2)), np.abs(np.diff(change, axis=1)).mean(
        axis=(1, 2))
    share_along_rows = along_rows / (along_rows + down_columns)
    assert share_along_rows.min() < 0.2 and share_along_rows.max() > 0.8 and 0.3 < np.median(share_along_rows) < 0.7


def test_augmix_draws_its_operations_per_image_and_per_call_inside_a_compiled_step():
    """Keras' AugMix picks its chain with Python's `random` while tracing: a compiled step repeats it. Not ours."""
    augmentation = build_augmentation(make_config({"augmix": True, "horizontal_flip": False}))
    assert [type(layer).__name__ for layer in augmentation.layers] == ["RandomAugMix"]
    images = np.repeat(square(1), 128, axis=0)
    np.testing.assert_array_equal(augmentation(images, training=False), images.astype("float32"))
    step = tf.function(lambda x: augmentation(x, training=True))  # traced once, as in fit
    first, second = step(images).numpy(), step(images).numpy()
    assert first.min() >= 0 and first.max() <= 255
    change = np.abs(first - images).reshape(128, -1).mean(axis=1)
    assert change.max() > 5 * np.median(change) > 0  # images of one batch changed unlike each other
    assert len({first[i].tobytes() for i in range(128)}) == 128
    assert np.abs(first - second).mean() > 1  # and the next call draws again
    # One operation on the square's middle: geometric ones keep its 200, autocontrast makes 255, posterize 192,
    # solarize 55 (or 200 above its threshold). Three or more values in one call: chosen image by image.
    middle = tf.function(augmentation.layers[0].operation)(images.astype("float32")).numpy()[:, 14, 14, 0]
    assert len(np.unique(middle.round())) >= 3


def test_the_consistency_loss_is_the_jensen_shannon_divergence_of_the_three_views():
    rng = np.random.default_rng(0)
    p = [rng.dirichlet(np.ones(10), size=8).astype("float32") for _ in range(3)]
    mixture = sum(p) / 3
    expected = np.mean(sum((q * np.log(q / mixture)).sum(axis=1) for q in p) / 3)
    assert float(jensen_shannon(p)) == pytest.approx(expected, rel=1e-4)
    assert float(jensen_shannon([p[0]] * 3)) == pytest.approx(0, abs=1e-6)
    layer = JensenShannon(12.0)
    np.testing.assert_array_equal(layer(p, training=True), p[0])
    assert float(layer.losses[0]) == pytest.approx(12 * expected, rel=1e-4)


def test_with_consistency_the_label_s_view_is_the_picture_and_two_views_of_it_are_corrupted():
    x = np.random.default_rng(0).integers(0, 256, (4, 28, 28, 1)).astype("float32")
    base = {**PRESETS["cnn"], "dropout": 0.0, "horizontal_flip": False, "noise": 60.0}
    plain = build_model(make_config(base))
    model = build_model(make_config({**base, "consistency": 12.0}))
    assert {"consistency_view_1", "consistency_view_2", "consistency"} <= {layer.name for layer in model.layers}
    assert not {"consistency_view_1", "consistency"} & {layer.name for layer in plain.layers}  # off unless asked
    assert [v.shape for v in model.trainable_variables] == [v.shape for v in plain.trainable_variables]  # one net
    classifier = classifier_of(model)
    np.testing.assert_allclose(model(x, training=False), classifier(x, training=False), atol=1e-6)
    # In training the label's loss reads the clean picture (the noise only reaches it without consistency) ...
    np.testing.assert_allclose(model(x, training=True), classifier(x, training=True), atol=1e-5)
    assert np.abs(plain(x, training=True) - classifier_of(plain)(x, training=True)).max() > 1e-3
    # ... and the two views are noised, each with draws of its own.
    views = [model.get_layer(f"consistency_view_{i}")(x, training=True).numpy() for i in (1, 2)]
    assert (views[0] != x).mean() > 0.5 and (views[1] != x).mean() > 0.5 and (views[0] != views[1]).mean() > 0.5
    plain(x, training=False)
    penalties = len(plain.losses)  # the head's L2
    model(x, training=False)
    assert len(model.losses) == penalties
    inference = sum(float(loss) for loss in model.losses)
    model(x, training=True)
    assert len(model.losses) == penalties + 1 and sum(float(loss) for loss in model.losses) > inference


def test_one_consistency_view_compares_the_picture_with_one_corrupted_view():
    base = {**PRESETS["cnn"], "noise": 60.0, "consistency": 1.0}
    names = {layer.name for layer in build_model(make_config({**base, "consistency_views": 1})).layers}
    assert "consistency_view_1" in names and "consistency_view_2" not in names
    assert "consistency_view_2" in {layer.name for layer in build_model(make_config(base)).layers}
    with pytest.raises(UserError, match="consistency_views=3 must be 1 or 2"):
        make_config({**base, "consistency_views": 3})


def test_a_consistency_share_makes_the_views_of_the_batch_s_first_pictures_only():
    x = np.random.default_rng(0).integers(0, 256, (8, 28, 28, 1)).astype("float32")
    base = {**PRESETS["cnn"], "noise": 60.0, "consistency": 1.0, "consistency_views": 1}
    whole = build_model(make_config(base)).get_layer("consistency_view_1")
    quarter = build_model(make_config({**base, "consistency_share": 0.25})).get_layer("consistency_view_1")
    assert whole(x, training=True).shape[0] == 8 and quarter(x, training=True).shape[0] == 2  # a quarter's pass
    assert quarter(x, training=False).shape[0] == 1  # the token image of validation, as before
    # The divergence compares each view with the predictions on the same pictures: the batch's first.
    rng = np.random.default_rng(1)
    clean, view = (rng.dirichlet(np.ones(10), size=n).astype("float32") for n in (8, 2))
    layer = JensenShannon(1.0)
    np.testing.assert_array_equal(layer([clean, view], training=True), clean)
    assert float(layer.losses[0]) == pytest.approx(float(jensen_shannon([clean[:2], view])), rel=1e-6)
    with pytest.raises(UserError, match=r"consistency_share=0.0 must be in \(0, 1\] \(a share of the batch\)"):
        make_config({**base, "consistency_share": 0.0})


def test_consistency_without_a_corruption_to_compare_is_refused_in_one_line():
    with pytest.raises(UserError, match="consistency=12 compares a picture with views of it through the "
                                        "corruption families, and none is on: set --augmix true"):
        make_config({"consistency": 12.0})
    assert make_config({"consistency": 12.0, "augmix": True}).consistency == 12.0


def test_config_names_every_field_that_makes_a_corruption_for_the_views():
    # The consistency refusal (config.py) reads CORRUPTION_FIELDS: a new family must be named there too.
    switched_on = {f.name: True if f.type is bool else 0.1 for f in dataclasses.fields(Config)
                   if f.type in (float, bool) and not f.default}
    makes_one = {name for name, value in switched_on.items()
                 if corruption_steps(dataclasses.replace(Config(), **{name: value}), FASHION_MNIST,
                                     augmentation_seeds(0))}
    assert makes_one == set(CORRUPTION_FIELDS)


def test_an_augment_share_leaves_the_other_images_as_stored():
    augmentation = build_augmentation(make_config({"noise": 60.0, "brightness": 0.3, "rotation": 0.1,
                                                   "augment_share": 0.25, "horizontal_flip": False}))
    assert [type(layer).__name__ for layer in augmentation.layers] == ["OnAShare"]
    grey = np.full((512, 28, 28, 1), 128, "uint8")
    np.testing.assert_array_equal(augmentation(grey, training=False), grey.astype("float32"))
    changed = (augmentation(grey, training=True).numpy() != 128).reshape(512, -1).any(axis=1)
    assert 0.18 < changed.mean() < 0.32  # 512 draws of 25%: 0.02 is one standard deviation


def test_a_family_share_draws_for_each_change_which_images_it_reaches():
    # Grey images: brightness alone leaves them flat but not 128, noise makes them uneven. Drawn change by change
    # (not one draw for both), a quarter of the images get neither, a quarter brightness alone, a half noise.
    augmentation = build_augmentation(make_config({"noise": 60.0, "brightness": 0.3, "family_share": 0.5,
                                                   "horizontal_flip": False}))
    grey = np.full((1024, 28, 28, 1), 128, "uint8")
    np.testing.assert_array_equal(augmentation(grey, training=False), grey.astype("float32"))
    images = augmentation(grey, training=True).numpy().reshape(1024, -1)
    uneven = np.ptp(images, axis=1) > 0.5
    untouched = (images == 128).all(axis=1)
    flat_changed = ~uneven & ~untouched
    assert 0.43 < uneven.mean() < 0.57 and 0.19 < untouched.mean() < 0.31 and 0.19 < flat_changed.mean() < 0.31
    with pytest.raises(UserError, match=r"family_share=0.0 must be in \(0, 1\]"):
        make_config({"family_share": 0.0})


def test_random_erasing_blanks_one_rectangle_per_image_in_training_only():
    no_geometry = {"rotation": 0.0, "zoom": 0.0, "shear": 0.0, "translation": 0.0, "horizontal_flip": False}
    augmentation = build_augmentation(make_config({"erasing": 1.0, **no_geometry}))
    white = np.full((8, 28, 28, 1), 255, "uint8")
    np.testing.assert_array_equal(augmentation(white, training=False), white.astype("float32"))
    erased = augmentation(white, training=True).numpy()[..., 0] == 0
    for mask in erased:  # each image: one filled axis-aligned rectangle of background
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        assert 0 < mask.sum() == len(rows) * len(cols) < 0.5 * mask.size
        assert mask[rows.min():rows.max() + 1, cols.min():cols.max() + 1].all()


def test_finetuning_keeps_batch_norm_frozen(model):
    freeze_base(model)
    assert [w.name for w in model.trainable_weights] == ["kernel", "bias"]  # only the head
    unfreeze_base(model, top_layers=0, freeze_batch_norm=True)
    base = base_of(model)
    batch_norms = [layer for layer in base.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert batch_norms and not any(layer.trainable for layer in batch_norms)
    convs = [layer for layer in base.layers if isinstance(layer, keras.layers.Conv2D)]
    assert all(layer.trainable for layer in convs)
    unfreeze_base(model, top_layers=10, freeze_batch_norm=True)
    assert not any(layer.trainable for layer in base.layers[:-10])


def test_frozen_batch_norm_statistics_do_not_move_in_training(model):
    unfreeze_base(model, top_layers=0, freeze_batch_norm=True)
    bn = next(layer for layer in base_of(model).layers if isinstance(layer, keras.layers.BatchNormalization))
    before = bn.moving_mean.numpy().copy()
    model(raw_images(), training=True)
    np.testing.assert_array_equal(bn.moving_mean.numpy(), before)


def test_cyclical_lr_schedule_drives_the_optimizer_lr_every_batch():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(CyclicalLR(0.01, 0.05, step_size=4, policy="triangular")), loss="mse")
    seen = []
    record = keras.callbacks.LambdaCallback(
        on_train_batch_begin=lambda batch, logs: seen.append(float(model.optimizer.learning_rate)))
    model.fit(np.zeros((8, 2)), np.zeros(8), batch_size=1, epochs=1, verbose=0, callbacks=[record])
    np.testing.assert_allclose(seen, [0.01, 0.02, 0.03, 0.04, 0.05, 0.04, 0.03, 0.02], rtol=1e-6)


def test_tensorboard_logging_is_skipped_without_tensorboard(monkeypatch, tmp_path):
    assert isinstance(tensorboard_logger(tmp_path)[0], keras.callbacks.TensorBoard)
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name: None if name == "tensorboard" else real_find_spec(name))
    assert tensorboard_logger(tmp_path) == []  # training goes on without it (TF 2.21 does not bring it)


def small_classifier_shaped_like_ours(size=32):
    """The classifier's named parts around a small conv base (a random MobileNetV2's activations vanish)."""
    keras.utils.set_random_seed(1)
    pixels = keras.Input((28, 28, 1))
    x = keras.layers.Rescaling(1 / 127.5, offset=-1, name="to_unit_range")(keras.layers.Resizing(size, size)(pixels))
    base_in = keras.Input((size, size, 1))
    hidden = keras.layers.Conv2D(8, 3, activation="relu")(base_in)
    base_out = keras.layers.Conv2D(16, 3, strides=4, activation="relu")(hidden)
    x = keras.Model(base_in, base_out, name="mobilenetv2")(x)
    x = keras.layers.Dropout(0.2, name="dropout")(keras.layers.GlobalAveragePooling2D(name="pool")(x))
    return keras.Model(pixels, keras.layers.Dense(10, activation="softmax", name="probs")(x))


def test_activation_maps_cover_the_upsampled_input_and_depend_on_the_class():
    classifier = small_classifier_shaped_like_ours()
    x = raw_images(4)
    maps = activation_maps(classifier, x)
    assert maps.shape == (4, 32, 32)  # the base's input size (image_size), not 28x28
    assert maps.min() >= 0 and np.allclose(maps.max(axis=(1, 2)), 1)
    assert not np.allclose(activation_maps(classifier, x, class_index=0), activation_maps(classifier, x, class_index=5))


def test_without_geometric_changes_keras_may_compile_the_step_with_xla():
    """On TensorFlow the geometric layers declare no XLA support; the defaults use none of them."""
    model = build_model(make_config({"image_size": 32, "weights": None}))
    assert [type(layer) for layer in model.get_layer("augmentation").layers] == [keras.layers.RandomFlip]
    assert model_supports_jit(model)  # what jit_compile="auto" asks before it picks XLA on a GPU
    with_rotation = build_model(make_config({"image_size": 32, "weights": None, "rotation": 0.1}))
    assert not model_supports_jit(with_rotation)
