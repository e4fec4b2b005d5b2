"""Which pruner tune.py should use: finished runs' epochs replayed as the trials of a study.

    python -m bench.pruners --epochs 12 --orders 200 --out results/tune/pruner_replay.json results/

Every training_log.csv under the folders with exactly --epochs epochs (runs on one budget, with many different
settings: what a search's trials look like) is one trial; each order of them is a study on one worker, whose pruner
sees each trial's validation accuracy epoch by epoch, as tune.py reports it. For each pruner: the share of epochs
trained, how often the best run survived, and how far the best surviving run is behind the best of all.
"""

import argparse
import csv
import statistics
from pathlib import Path

import numpy as np
import optuna

from runkit import cli
from runkit.files import write_json

PRUNERS = {
    "none": optuna.pruners.NopPruner,
    "median (3 startup trials, 2 warm-up epochs)": lambda: optuna.pruners.MedianPruner(3, 2),
    "median (3 startup trials, 5 warm-up epochs)": lambda: optuna.pruners.MedianPruner(3, 5),
    "percentile (top 25% kept; 3 startup trials, 2 warm-up epochs)": lambda: optuna.pruners.PercentilePruner(25, 3, 2),
    "successive halving (from epoch 2, 1 in 4 on)": lambda: optuna.pruners.SuccessiveHalvingPruner(2, 4),
    "successive halving (from epoch 2, 1 in 2 on)": lambda: optuna.pruners.SuccessiveHalvingPruner(2, 2),
}


def curves(roots: list[Path], epochs: int) -> dict[str, list[float]]:
    found = {}
    for log in sorted(p for root in roots for p in root.rglob("training_log.csv")):
        with open(log) as f:
            values = [float(row["val_accuracy"]) for row in csv.DictReader(f)]
        if len(values) == epochs:
            found[str(log.parent)] = values
    return found


def replay(pruner, runs: list[list[float]]) -> tuple[int, float]:
    """One study over `runs` in this order: epochs trained, best validation accuracy among the finished."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(direction="maximize", pruner=pruner)
    trained, best = 0, float("-inf")
    for values in runs:
        trial = study.ask()
        for step, value in enumerate(values):
            trial.report(value, step)
            trained += 1
            if trial.should_prune():
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                break
        else:
            study.tell(trial, max(values))
            best = max(best, max(values))
    return trained, best


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("roots", nargs="+", type=Path)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    runs = curves(args.roots, args.epochs)
    values = list(runs.values())
    top = max(max(v) for v in values)
    rng = np.random.default_rng(0)
    orders = [rng.permutation(len(values)) for _ in range(args.orders)]
    rows = []
    for name, make in PRUNERS.items():
        results = [replay(make(), [values[i] for i in order]) for order in orders]
        rows.append({"pruner": name, "epochs_trained_share": statistics.mean(r[0] for r in results) / (
            len(values) * args.epochs), "best_run_kept_share": statistics.mean(r[1] == top for r in results),
            "mean_gap_to_best": statistics.mean(top - r[1] for r in results),
            "worst_gap_to_best": max(top - r[1] for r in results)})
    write_json(args.out, {"command": "python -m bench.pruners " + " ".join(argv), "runs": sorted(runs),
                          "epochs": args.epochs, "orders": args.orders, "best_val_accuracy": top, "pruners": rows})
    print(f"{len(values)} runs of {args.epochs} epochs, {args.orders} orders each; best validation accuracy {top:.4f}")
    print("| pruner | epochs trained | best run kept | mean gap to best | worst gap |\n|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['pruner']} | {r['epochs_trained_share']:.0%} | {r['best_run_kept_share']:.0%} | "
              f"{r['mean_gap_to_best']:.4f} | {r['worst_gap_to_best']:.4f} |")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    cli.run(main, announce_machine=False)
