"""Each architecture (MobileNetV2, CNN, ViT) behind the same classifier contract; the comparison command."""

import json

import keras
import numpy as np
import pytest

import config
from evaluation.cam import activation_maps
from inference.export import export_checked
from models.classifier import (
    architecture_module,
    backbone_of,
    build_model,
    classifier_of,
    classifier_parts,
    is_pretrained,
    is_transfer_learning,
    unfreeze_base,
    with_flip_averaging,
)
from models.training import compile_for_training
from runkit.errors import UserError
from tests.helpers import ROOT, as_argv, assert_one_line_error, run_script, tiny_run

SMALL = {  # each architecture, small enough to train a step in a second
    "mobilenet_v2": {"architecture": "mobilenet_v2", "image_size": 32, "weights": None},
    "cnn": {"architecture": "cnn", "image_size": 28, "frozen_epochs": 0, "cnn_filters": 8},
    "vit": {"architecture": "vit", "image_size": 32, "frozen_epochs": 0, "vit_dim": 16, "vit_depth": 2,
            "vit_heads": 2},
}


def raw_pixels(n=16, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(n, 28, 28, 1)).astype("uint8")


@pytest.fixture(scope="module", params=list(SMALL))
def small(request):
    cfg = config.make_config(SMALL[request.param])
    return cfg, build_model(cfg)


def test_every_architecture_in_config_is_covered_and_its_preset_selects_it():
    assert set(SMALL) == set(config.ARCHITECTURES)
    for preset in ("cnn", "vit"):
        assert config.make_config(config.PRESETS[preset]).architecture == preset


def test_each_architecture_takes_raw_pixels_and_returns_probabilities(small):
    cfg, model = small
    classifier = classifier_of(model)
    assert classifier.input_shape == (None, 28, 28, 1) and classifier.output_shape == (None, 10)
    probs = classifier.predict(raw_pixels(), verbose=0)
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)
    # 0-255 in, the backbone's value range out: the contract every exported model keeps
    preprocess, backbone, _ = classifier_parts(classifier)
    extremes = preprocess.predict(np.stack([np.zeros((28, 28, 1)), np.full((28, 28, 1), 255)]), verbose=0)
    low, high = architecture_module(cfg.architecture).VALUE_RANGE
    np.testing.assert_allclose([extremes[0].min(), extremes[1].max()], [low, high], atol=1e-5)
    assert extremes.shape[1:3] == (cfg.image_size, cfg.image_size)
    assert len(backbone.output_shape) == 4  # a feature map, for the shared head and the activation maps


def test_each_architecture_trains_a_step(small):
    cfg, model = small
    classifier = classifier_of(model)
    compile_for_training(model, cfg)
    model.run_eagerly = True  # one step: tracing the graph would take longer than running it
    before = [w.numpy().copy() for w in backbone_of(classifier).trainable_weights]
    history = model.fit(raw_pixels(32), np.arange(32) % 10, batch_size=16, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    after = backbone_of(classifier).trainable_weights
    assert any(not np.allclose(b, a.numpy()) for b, a in zip(before, after, strict=True))  # the backbone learned


def test_each_architecture_exports_and_reloads_with_identical_predictions(small, tmp_path):
    _, model = small
    classifier = classifier_of(model)
    export_checked(classifier, tmp_path / "model.h5", raw_pixels())  # raises if the reload disagrees
    export_checked(with_flip_averaging(classifier), tmp_path / "tta.h5", raw_pixels())
    reloaded = keras.models.load_model(tmp_path / "model.h5", compile=False, safe_mode=True)
    np.testing.assert_allclose(reloaded.predict(raw_pixels(), verbose=0), classifier.predict(raw_pixels(), verbose=0),
                               atol=1e-5)


def test_activation_maps_draw_over_each_architecture(small):
    cfg, model = small
    maps = activation_maps(classifier_of(model), raw_pixels(4))
    assert maps.shape == (4, cfg.image_size, cfg.image_size)
    assert maps.min() >= 0 and maps.max() <= 1


@pytest.mark.parametrize("overrides, pretrained", [
    ({}, True), ({"weights": "/some/no_top.h5"}, True), ({"weights": None}, False), (SMALL["cnn"], False)])
def test_only_mobilenet_with_weights_counts_as_pretrained(overrides, pretrained):
    assert is_pretrained(config.make_config(overrides)) is pretrained


def test_scratch_architectures_train_their_batch_norm():
    cfg = config.make_config(SMALL["cnn"])
    model = build_model(cfg)
    assert not is_transfer_learning(cfg)
    unfreeze_base(model, 0, is_transfer_learning(cfg))
    bn = next(layer for layer in backbone_of(classifier_of(model)).layers
              if isinstance(layer, keras.layers.BatchNormalization))
    assert bn.trainable
    before = bn.moving_mean.numpy().copy()
    model(raw_pixels(), training=True)
    assert not np.allclose(bn.moving_mean.numpy(), before)


@pytest.mark.parametrize("overrides, message", [
    ({"architecture": "resnet"}, "architecture='resnet' must be one of mobilenet_v2, cnn, vit"),
    ({"architecture": "cnn", "frozen_epochs": 2}, "no pretrained base to freeze; set --frozen_epochs 0"),
    ({"architecture": "vit", "frozen_epochs": 0, "image_size": 30}, "vit_patch_size=4 must divide image_size (30)"),
    ({"vit_dim": 64, "vit_heads": 5}, "vit_heads=5 must be >= 1 and divide vit_dim (64)"),
    ({"architecture": "mobilenet_v2", "image_size": 28}, "image_size=28 must be >= 32 for mobilenet_v2"),
])
def test_impossible_architecture_settings_are_refused(overrides, message):
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        config.make_config(overrides)


@pytest.mark.slow
def test_comparison_runs_a_preset_end_to_end_and_tabulates(tmp_path):
    overrides = {name: value for name, value in tiny_run(tmp_path).items()
                 if name not in ("frozen_epochs", "image_size", "artifacts_dir", "visualizations_dir", "exports_dir")}
    out = tmp_path / "architectures.json"
    result = run_script("bench.compare_architectures",  # one preset: the others run the same code
                        ["--presets", "cnn", "--out_dir", str(tmp_path / "compare"), "--out", str(out),
                         "--cnn_filters", "4", *as_argv(overrides)])
    assert "| cnn | cnn 28 px | no |" in result.stdout
    [row] = json.loads(out.read_text())["rows"]
    assert row["architecture"] == "cnn" and row["epochs"] == 1  # the tiny run's finetune_epochs, no frozen phase
    metrics = json.loads((tmp_path / "compare" / "cnn" / "artifacts" / "metrics.json").read_text())
    assert row["test_accuracy"] == metrics["test_accuracy"]
    assert row["parameters"] > 0 and row["train_images_per_s"] > 0
    assert row["h5_mb"] > 0 and row["latency_ms_one_image_keras"] > 0
    folder = tmp_path / "compare" / "cnn"
    assert (folder / "visualizations" / "activation_maps.png").is_file()
    assert (folder / "exports" / "fashion_mnist_model_int8.tflite").is_file()
    assert (ROOT / overrides["results_file"]).read_text().count("architecture=cnn") == 1  # evaluate.py appended it


@pytest.mark.slow
def test_comparison_refuses_unknown_presets():
    assert_one_line_error(run_script("bench.compare_architectures", ["--presets", "cnn,resnet"], check=False),
                          "choose from full, quick, robust, augmix, cnn, vit")
