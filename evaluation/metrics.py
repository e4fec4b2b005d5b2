"""Test-set metrics of a trained classifier."""

import numpy as np
from sklearn.metrics import classification_report, confusion_matrix

from evaluation.calibration import expected_calibration_error, fit_temperature, reliability, with_temperature


def evaluate_classifier(classifier, dataset, labels, class_names) -> tuple[dict, np.ndarray]:
    """Metrics (loss, accuracy, per-class precision/recall/F1, confusion matrix) and the probabilities."""
    probs = classifier.predict(dataset, verbose=0)
    labels = np.asarray(labels)
    predicted = probs.argmax(axis=1)
    # Cross-entropy of the predictions alone (no L2 term), so it is comparable across configs.
    loss = float(-np.mean(np.log(np.clip(probs[np.arange(len(labels)), labels], 1e-12, None))))
    report = classification_report(labels, predicted, target_names=list(class_names), digits=4, output_dict=True,
                                   zero_division=0)
    matrix = confusion_matrix(labels, predicted, labels=range(len(class_names)))
    metrics = {
        "test_loss": loss,
        "test_accuracy": float(np.mean(predicted == labels)),
        "test_images": len(labels),
        "per_class": {name: report[name] for name in class_names},
        "macro_avg": report["macro avg"],
        "confusion_matrix": matrix.tolist(),
        "top_confusions": top_confusions(matrix, class_names),
        "report_text": classification_report(labels, predicted, target_names=list(class_names), digits=4,
                                             zero_division=0),  # a class never predicted: precision 0, no warning
    }
    return metrics, probs


def calibration_report(val_probs, val_labels, test_probs, test_labels) -> dict:
    """Test-set calibration as trained and with a temperature fitted on the validation predictions."""
    temperature = fit_temperature(val_probs, np.asarray(val_labels))
    scaled = with_temperature(test_probs, temperature)
    return {
        "temperature": temperature,
        "ece": expected_calibration_error(test_probs, test_labels),
        "ece_scaled": expected_calibration_error(scaled, test_labels),
        "reliability": reliability(test_probs, test_labels),
        "reliability_scaled": reliability(scaled, test_labels),
    }


def top_confusions(matrix, class_names, count: int = 5) -> list[dict]:
    """The most frequent (true class, predicted class) mistakes, most frequent first."""
    off_diagonal = np.array(matrix) * (1 - np.eye(len(class_names), dtype=int))
    order = np.argsort(-off_diagonal, axis=None)[:count]
    return [{"true": class_names[t], "predicted": class_names[p], "count": int(off_diagonal[t, p])}
            for t, p in zip(*np.unravel_index(order, off_diagonal.shape), strict=True) if off_diagonal[t, p] > 0]
