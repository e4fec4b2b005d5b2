"""What a run's history (history.json, written by train.py after each epoch) says, without importing Keras."""


def best_val_accuracy(history: dict) -> float:
    return max((e["val_accuracy"] for e in history["epochs"]), default=float("-inf"))


def training_minutes(history: dict) -> float:
    """The minutes its recorded epochs took (a resumed run's, summed over its processes)."""
    return sum(e["seconds"] for e in history["epochs"]) / 60
