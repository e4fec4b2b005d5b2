import numpy as np
import pytest

from evaluation.calibration import expected_calibration_error, fit_temperature, reliability, with_temperature
from evaluation.metrics import top_confusions


def sample(n=20_000, temperature=1.0, seed=0):
    """Labels drawn from the model's own probabilities (calibrated), shown at another temperature."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2.5, size=(n, 10))
    true_probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = np.array([rng.choice(10, p=p) for p in true_probs])
    return with_temperature(true_probs, temperature), labels


def test_calibrated_predictions_have_small_ece():
    probs, labels = sample()
    assert expected_calibration_error(probs, labels) < 0.02


def test_overconfidence_shows_in_ece_and_temperature_scaling_undoes_it():
    probs, labels = sample(temperature=0.5)  # sharpened: overconfident
    assert expected_calibration_error(probs, labels) > 0.1
    temperature = fit_temperature(probs, labels)
    assert temperature == pytest.approx(2.0, rel=0.1)
    assert expected_calibration_error(with_temperature(probs, temperature), labels) < 0.02


def test_reliability_bins_count_every_prediction():
    probs, labels = sample(n=500)
    table = reliability(probs, labels, bins=10)
    assert len(table["count"]) == 10 and sum(table["count"]) == 500 and len(table["edges"]) == 11
    filled = np.array(table["count"]) > 0
    conf = np.array(table["confidence"])[filled]
    edges = np.array(table["edges"])
    assert np.all(conf >= edges[:-1][filled] - 1e-9) and np.all(conf <= edges[1:][filled] + 1e-9)


def test_top_confusions_are_the_largest_off_diagonal_counts():
    matrix = np.diag([50, 50, 50])
    matrix[0, 2], matrix[2, 1], matrix[1, 0] = 7, 3, 9
    assert top_confusions(matrix, ["a", "b", "c"], count=2) == [
        {"true": "b", "predicted": "a", "count": 9}, {"true": "a", "predicted": "c", "count": 7}]
    assert top_confusions(np.diag([5, 5]), ["a", "b"]) == []  # no mistakes, no pairs
