"""The same code on Keras' JAX backend (what the GPU machines run), each check in a process of its own."""

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest

from evaluation.cam import activation_maps
from tests.helpers import as_argv, assert_one_line_error, run_script, tiny_cnn_run
from tests.test_model import raw_images, small_classifier_shaped_like_ours

jax = pytest.importorskip("jax", reason="JAX is not installed (requirements-dev.txt brings it)")
ON_JAX = {"KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}


def on_jax(code: str) -> str:
    """Run `code` with Keras on JAX; its stdout."""
    return run_script("-c", [textwrap.dedent(code)], env=ON_JAX).stdout


@pytest.mark.slow
def test_geometric_augmentation_compiles_into_the_jax_training_step():
    out = on_jax("""
        import keras, numpy as np
        from config import make_config
        from models.classifier import build_model
        from models.training import compile_for_training
        cfg = make_config({"architecture": "cnn", "image_size": 28, "frozen_epochs": 0, "cnn_filters": 4,
                           "rotation": 0.1, "zoom": 0.1, "shear": 0.1, "translation": 0.1})
        model = build_model(cfg)
        compile_for_training(model, cfg)  # jit_compile="auto": Keras compiles only if every layer allows it
        history = model.fit(np.zeros((8, 28, 28, 1), "uint8"), np.arange(8), batch_size=4, verbose=0)
        print(keras.backend.backend(), model.jit_compile, np.isfinite(history.history["loss"][0]))
    """)
    assert out.split() == ["jax", "True", "True"]


@pytest.mark.slow
def test_activation_maps_on_jax_are_tensorflows(tmp_path):
    classifier = small_classifier_shaped_like_ours()
    classifier.save(tmp_path / "classifier.keras")
    images = raw_images(4)
    np.save(tmp_path / "images.npy", images)
    on_jax(f"""
        import keras, numpy as np
        from evaluation.cam import activation_maps
        classifier = keras.models.load_model({str(tmp_path / "classifier.keras")!r})
        np.save({str(tmp_path / "maps.npy")!r}, activation_maps(classifier, np.load({str(tmp_path / "images.npy")!r})))
    """)
    np.testing.assert_allclose(np.load(tmp_path / "maps.npy"), activation_maps(classifier, images), atol=1e-4)


@pytest.mark.slow
def test_tf_distribute_strategies_are_refused_on_jax(tmp_path):
    result = run_script("train.py", [*as_argv(tiny_cnn_run(tmp_path)), "--strategy", "mirrored"], check=False,
                        env=ON_JAX)
    assert_one_line_error(result, "strategy=mirrored is TensorFlow's tf.distribute, and Keras runs on jax here")
    assert not (tmp_path / "artifacts" / "history.json").exists()


@pytest.mark.slow
def test_a_run_trained_on_jax_is_read_by_the_scripts_on_tensorflow(tmp_path):
    """The GPU machines train on JAX; evaluation and export here run on TensorFlow from the same files."""
    overrides = tiny_cnn_run(tmp_path)
    run_script("train.py", as_argv(overrides), env=ON_JAX)
    history = json.loads((tmp_path / "artifacts" / "history.json").read_text())
    assert history["completed"] and history["run"]["machine"]["backend"] == "jax"
    run_script("evaluate.py", ["--artifacts_dir", overrides["artifacts_dir"]])
    metrics = json.loads((tmp_path / "artifacts" / "metrics.json").read_text())
    assert metrics["machine"]["backend"] == "tensorflow" and metrics["test_images"] == 50


@pytest.mark.slow
def test_data_parallel_over_two_cpu_devices_matches_one_device(tmp_path):
    deterministic = {"dropout": "0", "horizontal_flip": "false"}  # the same steps computed two ways
    single = {**tiny_cnn_run(tmp_path), **deterministic, "batch_size": "32"}
    run_script("train.py", as_argv(single), env=ON_JAX)
    parallel = {**single, "strategy": "data_parallel", "batch_size": "16", "scale_lr": "false",
                "artifacts_dir": str(tmp_path / "parallel")}
    run_script("train.py", as_argv(parallel), env={**ON_JAX, "XLA_FLAGS": "--xla_force_host_platform_device_count=2"})
    one, two = (json.loads((Path(o["artifacts_dir"]) / "history.json").read_text()) for o in (single, parallel))
    assert two["run"]["distribution"] == {"strategy": "data_parallel", "replicas": 2, "workers": 1,
                                          "global_batch_size": 32, "lr_scale": 1.0}
    for a, b in zip(one["epochs"], two["epochs"], strict=True):
        assert b["loss"] == pytest.approx(a["loss"], rel=1e-3)
        assert b["val_loss"] == pytest.approx(a["val_loss"], rel=1e-3)
