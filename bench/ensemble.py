"""What averaging several evaluated runs would give: `python -m bench.ensemble RUN_DIR RUN_DIR ... [--out FILE]`.

    python -m bench.ensemble runs/quick_s42 runs/quick_s1 runs/quick_s2 --out results/ensemble.json

Each RUN_DIR holds the test_predictions.npz that evaluate.py wrote (each test image's probabilities, with
TTA as configured). The ensemble's prediction is the mean of the runs' probabilities; its cost is the sum of
their training times, and as many models at inference. Prints each run's test accuracy and the ensemble's.
"""

import argparse

from evaluation.ensemble import ensemble
from runkit import cli
from runkit.files import write_json


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
