"""The GPU speed settings (mixed precision, steps per execution): off by default, and a run trained with them
evaluates and exports as any other."""

import json

import keras
import numpy as np
import pytest

from config import make_config
from models.classifier import backbone_of, build_model, classifier_of
from models.training import training_precision
from tests.helpers import accuracy_of_saved_predictions, as_argv, run_script, tiny_cnn_run


def test_mixed_precision_computes_in_16_bits_keeps_float32_weights_and_probabilities():
    with training_precision("mixed_bfloat16"):
        model = build_model(make_config({"image_size": 32, "weights": None}))
    assert keras.config.dtype_policy().name == "float32"  # the global policy is restored after the block
    classifier = classifier_of(model)
    conv = next(layer for layer in backbone_of(classifier).layers if isinstance(layer, keras.layers.Conv2D))
    assert conv.compute_dtype == "bfloat16" and conv.kernel.dtype == "float32"
    probs = classifier(np.zeros((2, 28, 28, 1), "float32"))
    assert probs.dtype == "float32" and np.allclose(keras.ops.convert_to_numpy(probs).sum(axis=1), 1, atol=1e-5)


@pytest.mark.slow
def test_a_run_trained_in_mixed_precision_with_two_steps_per_call_evaluates(tmp_path):
    overrides = {**tiny_cnn_run(tmp_path), "mixed_precision": "mixed_bfloat16", "steps_per_execution": "2"}
    run_script("train.py", as_argv(overrides))
    history = json.loads((tmp_path / "artifacts" / "history.json").read_text())
    assert history["completed"] and len(history["epochs"]) == 1
    run_script("evaluate.py", as_argv({"artifacts_dir": overrides["artifacts_dir"]}))
    metrics = json.loads((tmp_path / "artifacts" / "metrics.json").read_text())
    assert metrics["config"]["mixed_precision"] == "mixed_bfloat16"
    assert metrics["test_accuracy"] == accuracy_of_saved_predictions(overrides["artifacts_dir"])


@pytest.mark.slow
def test_on_jax_a_second_run_of_the_same_shapes_compiles_nothing(tmp_path):
    """The persistent compilation cache: another seed, same shapes, loads every compiled step."""
    cache = tmp_path / "jax_cache"
    overrides = {**tiny_cnn_run(tmp_path), "compilation_cache": str(cache)}
    run_script("train.py", as_argv(overrides), env={"KERAS_BACKEND": "jax"})
    compiled = sorted(path.name for path in cache.iterdir())
    assert compiled  # the steps of both phases, evaluation and more
    run_script("train.py", [*as_argv(overrides), "--seed", "7", "--fresh"], env={"KERAS_BACKEND": "jax"})
    assert sorted(path.name for path in cache.iterdir()) == compiled
