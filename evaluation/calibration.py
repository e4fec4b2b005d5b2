"""How far to trust the model's confidence: expected calibration error and temperature scaling.

Guo et al. 2017, "On Calibration of Modern Neural Networks": bin the predictions by confidence and
compare each bin's accuracy with its mean confidence; one temperature fitted on held-out data
(never the test set) rescales the log-probabilities.
"""

import numpy as np
from scipy.optimize import minimize_scalar

BINS = 15


def reliability(probs, labels, bins: int = BINS) -> dict:
    """Per confidence bin: mean confidence, accuracy and count (empty bins kept, with count 0)."""
    confidence, correct = probs.max(axis=1), probs.argmax(axis=1) == np.asarray(labels)
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    count = np.bincount(which, minlength=bins)
    with np.errstate(invalid="ignore"):
        mean_confidence = np.bincount(which, confidence, bins) / count
        accuracy = np.bincount(which, correct, bins) / count
    return {"edges": np.linspace(0, 1, bins + 1).tolist(), "count": count.tolist(),
            "confidence": np.nan_to_num(mean_confidence).tolist(), "accuracy": np.nan_to_num(accuracy).tolist()}


def expected_calibration_error(probs, labels, bins: int = BINS) -> float:
    """Share-weighted mean gap between accuracy and confidence over the bins (0 = calibrated)."""
    table = reliability(probs, labels, bins)
    count = np.array(table["count"])
    gaps = np.abs(np.array(table["accuracy"]) - np.array(table["confidence"]))
    return float(np.sum(count * gaps) / count.sum())


def with_temperature(probs, temperature: float) -> np.ndarray:
    """Softmax of log-probabilities divided by `temperature` (> 1 softens, < 1 sharpens)."""
    logits = np.log(np.clip(probs, 1e-12, None)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    scaled = np.exp(logits)
    return scaled / scaled.sum(axis=1, keepdims=True)


def fit_temperature(probs, labels) -> float:
    """The temperature that minimises the negative log-likelihood of `labels`."""
    rows = np.arange(len(labels))

    def nll(temperature):
        return -np.mean(np.log(with_temperature(probs, temperature)[rows, labels] + 1e-12))

    return float(minimize_scalar(nll, bounds=(0.05, 20), method="bounded").x)
