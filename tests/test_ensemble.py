"""bench/ensemble.py: the test accuracy of the mean of several runs' probabilities, from evaluate.py's files."""

import json

import numpy as np
import pytest

from evaluation.ensemble import ensemble
from tests.helpers import assert_one_line_error, run_script

LABELS = np.array([0, 1, 2, 3])


def write_run(folder, probs, minutes, labels=LABELS):
    """test_predictions.npz and metrics.json, as evaluate.py writes them."""
    folder.mkdir()
    np.savez(folder / "test_predictions.npz", probs=np.asarray(probs, "float32"), labels=labels)
    (folder / "metrics.json").write_text(json.dumps({"train_minutes": minutes}))
    return str(folder)


def one_hot_but(wrong_row: int, confidence: float) -> np.ndarray:
    """Right on every image but `wrong_row`, which goes to class 9 with `confidence`."""
    probs = np.eye(10)[LABELS] * 0.9 + 0.01
    probs[wrong_row] = (1 - confidence) / 9
    probs[wrong_row, 9] = confidence
    return probs


def test_the_mean_of_probabilities_corrects_what_one_model_gets_wrong(tmp_path):
    runs = [write_run(tmp_path / f"r{i}", one_hot_but(i, 0.5), minutes=10.0) for i in range(3)]
    result = ensemble(runs)
    assert [m["test_accuracy"] for m in result["members"]] == [0.75, 0.75, 0.75]
    assert result["test_accuracy"] == 1.0  # each mistake is outvoted by the two other models
    assert result["train_minutes"] == 30.0 and result["models_at_inference"] == 3


@pytest.mark.slow
def test_the_script_prints_and_writes_the_result(tmp_path):
    runs = [write_run(tmp_path / f"r{i}", one_hot_but(0, 0.99), minutes=5.0) for i in range(2)]
    out = tmp_path / "ensemble.json"
    result = run_script("bench.ensemble", [*runs, "--out", str(out)])
    assert "test accuracy 0.7500 (10.0 min of training in all, 2 models at inference)" in result.stdout
    assert json.loads(out.read_text())["test_accuracy"] == 0.75


@pytest.mark.slow
def test_one_line_errors_for_a_missing_evaluation_or_another_test_set(tmp_path):
    good = write_run(tmp_path / "good", one_hot_but(0, 0.5), minutes=1.0)
    (tmp_path / "unevaluated").mkdir()
    assert_one_line_error(run_script("bench.ensemble", [good, str(tmp_path / "unevaluated")], check=False),
                          "test_predictions.npz is missing: run `python evaluate.py")
    other = write_run(tmp_path / "other", one_hot_but(0, 0.5), minutes=1.0, labels=LABELS[::-1])
    assert_one_line_error(run_script("bench.ensemble", [good, other], check=False), "other test labels")
