"""Test-set metrics of a trained classifier."""

import numpy as np
from sklearn.metrics import classification_report, confusion_matrix

from models.calibration import expected_calibration_error, fit_temperature, reliability, with_temperature


def evaluate_classifier(classifier, dataset, labels, class_names) -> tuple[dict, np.ndarray]:
    """Metrics (loss, accuracy, per-class precision/recall/F1, confusion matrix) and the probabilities."""
    probs = classifier.predict(dataset, verbose=0)
    labels = np.asarray(labels)
    predicted = probs.argmax(axis=1)
    # Cross-entropy of the predictions alone (no L2 term), so it is comparable across configs.
    loss = float(-np.mean(np.log(np.clip(probs[np.arange(len(labels)), labels], 1e-12, None))))
    report = classification_report(labels, predicted, target_names=list(class_names), digits=4, output_dict=True)
    metrics = {
        "test_loss": loss,
        "test_accuracy": float(np.mean(predicted == labels)),
        "test_images": len(labels),
        "per_class": {name: report[name] for name in class_names},
        "macro_avg": report["macro avg"],
        "confusion_matrix": confusion_matrix(labels, predicted).tolist(),
        "report_text": classification_report(labels, predicted, target_names=list(class_names), digits=4),
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
