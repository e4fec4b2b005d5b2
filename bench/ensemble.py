"""What averaging several evaluated runs would give: `python -m bench.ensemble RUN_DIR RUN_DIR ... [--out FILE]`.

    python -m bench.ensemble runs/quick_s42 runs/quick_s1 runs/quick_s2 --out results/ensemble.json

Each RUN_DIR holds the test_predictions.npz that evaluate.py wrote (each test image's probabilities, with
TTA as configured). The ensemble's prediction is the mean of the runs' probabilities; its cost is the sum of
their training times, and as many models at inference. Prints each run's test accuracy and the ensemble's.
"""

import argparse
import shlex

import numpy as np

from runkit import cli
from runkit.errors import UserError
from runkit.files import RunFiles, read_json, write_json
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


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description="Test accuracy of the mean of several runs' probabilities.")
    parser.add_argument("runs", nargs="+", help="evaluated run folders (artifacts_dir)")
    parser.add_argument("--out", help="write the result as JSON here")
    args = parser.parse_args(argv)
    result = ensemble(args.runs)
    for member in result["members"]:
        print(f"{member['run']}: test accuracy {member['test_accuracy']:.4f} ({member['train_minutes']:.1f} min)")
    print(f"mean of the {len(args.runs)} models' probabilities: test accuracy {result['test_accuracy']:.4f} "
          f"({result['train_minutes']:.1f} min of training in all, {len(args.runs)} models at inference)")
    if args.out:
        write_json(args.out, result)


if __name__ == "__main__":
    cli.run(main)
