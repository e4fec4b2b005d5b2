"""Mean ± std over seeds of evaluated runs: `python -m bench.seeds RUN_DIR RUN_DIR ... [--out FILE]`.

    python -m bench.seeds results/quick/quick_seed42 results/quick/quick_seed1 results/quick/quick_seed2

Each RUN_DIR holds the metrics.json that evaluate.py wrote, with the single-view accuracy beside the
flip-averaged one (older runs: metrics_no_tta.json, the same weights evaluated with --tta_flip false).
The runs must differ only by seed and by where their files are, so the spread is the seed's. Prints a
Markdown table and, with --out, writes it as JSON.
"""

import argparse
import dataclasses
import statistics
from pathlib import Path

from config import make_config
from runkit import cli
from runkit.errors import UserError
from runkit.files import read_json, write_json

# Config fields that may differ between the seeds of one setting: where the files are, and the seed.
PLACES = ("seed", "data_dir", "weights", "artifacts_dir", "visualizations_dir", "exports_dir", "results_file")
COLUMNS = ("test_accuracy", "test_accuracy_no_tta", "best_val_accuracy", "train_minutes")


def read_run(folder: Path) -> dict:
    """One row: the seed, the columns that exist for this run, and its config (fields added to config.py
    since the run took their defaults)."""
    metrics = read_json(folder / "metrics.json", "evaluate.py")
    config = dataclasses.asdict(make_config(base=metrics["config"]))
    row = {"run": str(folder), "seed": config["seed"], "config": config,
           **{k: metrics[k] for k in ("test_accuracy", "best_val_accuracy", "train_minutes")}}
    if "test_accuracy_by_view" in metrics:
        row["test_accuracy_no_tta"] = metrics["test_accuracy_by_view"]["single_view"]
    elif (folder / "metrics_no_tta.json").exists():  # runs evaluated before evaluate.py reported both views
        row["test_accuracy_no_tta"] = read_json(folder / "metrics_no_tta.json", "evaluate.py --tta_flip false")[
            "test_accuracy"]
    return row


def summarise(rows: list[dict]) -> dict:
    """Mean and sample std (n-1) of each column every run has; refuses runs of different settings."""
    if len(rows) < 2:
        raise UserError("give at least two run folders: a spread needs two seeds")
    first = rows[0]["config"]
    for row in rows[1:]:
        differ = [k for k in first if k not in PLACES and first[k] != row["config"][k]]
        if differ:
            raise UserError(f"{rows[0]['run']} and {row['run']} differ in more than the seed: {', '.join(differ)}")
    if len({row["seed"] for row in rows}) < len(rows):
        raise UserError(f"two runs share a seed ({', '.join(str(r['seed']) for r in rows)}): each seed once")
    stats = {}
    for column in COLUMNS:
        if all(column in row for row in rows):
            values = [row[column] for row in rows]
            stats[column] = {"mean": statistics.mean(values), "std": statistics.stdev(values)}
    return stats


def markdown_table(rows: list[dict], stats: dict) -> str:
    columns = [c for c in COLUMNS if c in stats]
    lines = ["| seed | " + " | ".join(columns) + " | run |", "|---" * (len(columns) + 2) + "|"]
    for row in rows:
        lines.append(f"| {row['seed']} | " + " | ".join(f"{row[c]:.4f}" for c in columns) + f" | {row['run']} |")
    lines.append("| mean ± std | " + " | ".join(f"{stats[c]['mean']:.4f} ± {stats[c]['std']:.4f}" for c in columns)
                 + " | |")
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description="mean ± std over seeds of evaluated runs")
    parser.add_argument("runs", nargs="+", type=Path, help="run folders holding evaluate.py's metrics.json")
    parser.add_argument("--out", type=Path, help="also write the table as JSON here")
    options = parser.parse_args(argv)
    rows = [read_run(folder) for folder in options.runs]
    stats = summarise(rows)
    print(markdown_table(rows, stats))
    if options.out:
        write_json(options.out, {"command": " ".join(["python", "-m", "bench.seeds", *argv]), "stats": stats,
                                 "runs": [{k: v for k, v in row.items() if k != "config"} for row in rows],
                                 "config": rows[0]["config"]})
        print(f"wrote {options.out}")


if __name__ == "__main__":
    cli.run(main, announce_machine=False)  # reads files only
