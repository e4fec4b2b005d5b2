"""An ensemble's accuracy from its runs' saved test predictions (evaluate.py's test_predictions.npz): the mean of
their probabilities; `python -m bench.ensemble` prints and writes it.
"""

import shlex

import numpy as np

from runkit.errors import UserError
from runkit.files import RunFiles, read_json
from runkit.machine import machine_info


def read_predictions(folder: str) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities (n, classes), labels (n,)) of one evaluated run."""
    path = RunFiles(folder).predictions
    if not path.is_file():
        raise UserError(f"{path} is missing: run `python evaluate.py --artifacts_dir {shlex.quote(folder)}` first")
    with np.load(path) as saved:
        return saved["probs"], saved["labels"]


def ensemble(folders: list[str]) -> dict:
    """Each run's test accuracy and training minutes, and those of the mean of their probabilities."""
    if len(folders) < 2:
        raise UserError("give at least two run folders: an ensemble needs two models")
    predictions = [read_predictions(folder) for folder in folders]
    labels = predictions[0][1]
    for folder, (_, other) in zip(folders[1:], predictions[1:], strict=True):
        if not np.array_equal(other, labels):
            raise UserError(f"{folder} was evaluated on other test labels than {folders[0]}: not the same test set")
    members = [{"run": folder, "test_accuracy": float((probs.argmax(axis=1) == labels).mean()),
                "train_minutes": read_json(RunFiles(folder).metrics, "evaluate.py")["train_minutes"]}
               for folder, (probs, _) in zip(folders, predictions, strict=True)]
    mean_probs = np.mean([probs for probs, _ in predictions], axis=0)
    return {"members": members, "test_accuracy": float((mean_probs.argmax(axis=1) == labels).mean()),
            "train_minutes": sum(m["train_minutes"] for m in members), "models_at_inference": len(folders),
            "test_images": len(labels), "machine": machine_info()}
