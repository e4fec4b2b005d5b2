"""Many training runs on one machine, within a wall-time budget: `python -m bench.sweep --grid NAME=V1,V2 ...`.

    python -m bench.sweep --grid image_size=96,128 --grid erasing=0,0.5 --parallel 4 --budget_minutes 9 \\
        --out runs/sweep -- --data_dir DIR --weights FILE
    python -m bench.sweep --grid seed=42,1,2 --out runs/seeds -- --preset quick      # on a CPU, one at a time

Each combination of the --grid values is one run; the overrides after `--` go to all of them. A run is
`train.py` then `evaluate.py` in processes of their own, its files under OUT/<its overrides>/, its output in
OUT/<its overrides>/log.txt; `evaluate.py` appends its row to the results table (`results_file`, default
runs/results.csv). Up to --parallel runs go at once (on a GPU each JAX process is given its share of the
memory). When the budget ends, runs still going are stopped and reported as cut short: they are never
evaluated, so no row of theirs reaches the results table. The same command again skips finished runs,
evaluates those cut short after training, and resumes the others from their last finished epoch. Prints one
table at the end and writes it to OUT/sweep.json.
"""

import argparse
import itertools
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from config import make_config
from models.runs import command_line_overrides
from runkit import cli
from runkit.errors import UserError
from runkit.files import RunFiles, make_folder, read_json, write_json
from runkit.history import best_val_accuracy, training_minutes

ROOT = Path(__file__).resolve().parents[1]
STOP_GRACE_S = 30  # a stopped run's time to exit before it is killed


@dataclass
class Run:
    overrides: dict  # the grid's values for this run
    folder: Path
    status: str = "waiting"  # waiting, training, evaluating, done, cut short, failed, not started
    process: subprocess.Popen | None = None
    log: object = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.folder.name

    def argv(self, shared: list[str]) -> list[str]:
        paths = {"artifacts_dir": self.folder / "artifacts", "visualizations_dir": self.folder / "visualizations",
                 "exports_dir": self.folder / "exports"}
        return [*shared, *(f"--{k}={v}" for k, v in {**self.overrides, **paths}.items())]


def parse_grid(specs: list[str]) -> list[dict]:
    """`NAME=V1,V2` specs -> one dict of overrides per combination, in order."""
    axes = []
    for spec in specs:
        name, sep, values = spec.partition("=")
        if not sep or not name or not values:
            raise UserError(f"--grid {spec!r}: write NAME=VALUE1,VALUE2 (a config field and its values)")
        axes.append([(name, value) for value in values.split(",")])
    return [dict(combination) for combination in itertools.product(*axes)]


def run_folder(out: Path, overrides: dict) -> Path:
    return out / ("_".join(f"{k}-{v}" for k, v in overrides.items()).replace("/", "-") or "defaults")


def start(run: Run, script: str, shared: list[str], parallel: int) -> None:
    env = dict(os.environ)
    if parallel > 1:  # JAX takes 75% of a GPU's memory by default; share it. TF: grow as needed.
        env.setdefault("XLA_PYTHON_CLIENT_MEM_FRACTION", f"{0.9 / parallel:.3f}")
        env.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
    argv = run.argv(shared)  # the same for both scripts: evaluate.py passes --fresh by
    run.log = open(make_folder(run.folder) / "log.txt", "a")  # noqa: SIM115  (closed when the run ends)
    # started in the caller's folder, so that relative paths mean what they said there
    run.process = subprocess.Popen([sys.executable, str(ROOT / script), *argv], env=env,
                                   stdout=run.log, stderr=subprocess.STDOUT)
    run.status = "training" if script == "train.py" else "evaluating"


def advance(run: Run, shared: list[str], parallel: int) -> None:
    """Move a run on when its process has ended: training -> evaluating -> done, or failed."""
    code = run.process.poll()
    if code is None:
        return
    run.log.close()
    if code != 0:
        run.status = "failed"
    elif run.status == "training":
        start(run, "evaluate.py", shared, parallel)
        return
    else:
        run.status = "done"


def stop(runs: list[Run]) -> None:
    """Stop the runs still going (SIGTERM, then SIGKILL after STOP_GRACE_S): they are cut short."""
    going = [r for r in runs if r.status in ("training", "evaluating")]
    for run in going:
        run.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_S
    for run in going:
        try:
            run.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            run.process.kill()
            run.process.wait()
        run.log.close()
        run.status = "cut short"


def run_all(runs: list[Run], shared: list[str], parallel: int, deadline: float | None) -> None:
    """Keep `parallel` runs going until all have ended or the deadline comes (then stop those going)."""
    def going():
        return [r for r in runs if r.status in ("training", "evaluating")]

    while going() or any(r.status == "waiting" for r in runs):
        if deadline is not None and time.monotonic() >= deadline:
            stop(runs)
            return
        for run in going():
            advance(run, shared, parallel)
            if run.status == "done":
                print(f"{run.name}: done", flush=True)
            elif run.status == "failed":
                print(f"{run.name}: failed; its output is in {run.folder / 'log.txt'}", flush=True)
        for run in [r for r in runs if r.status == "waiting"][:parallel - len(going())]:
            script = "evaluate.py" if trained(run) else "train.py"  # cut short while it was being evaluated
            start(run, script, shared, parallel)
            print(f"{run.name}: {'started' if script == 'train.py' else 'trained before; evaluating'}", flush=True)
        time.sleep(0.5)


def finished(run: Run) -> bool:
    """Evaluated by an earlier sweep with the same command."""
    return RunFiles(run.folder / "artifacts").metrics.is_file()


def trained(run: Run) -> bool:
    """Its training finished (an earlier sweep stopped it while it was being evaluated)."""
    files = RunFiles(run.folder / "artifacts")
    return files.history.is_file() and read_json(files.history, "train.py", keys=("completed",))["completed"]


def summary_row(run: Run) -> dict:
    """The run's overrides and status, its best validation accuracy and minutes of training so far (from
    its history), and its test accuracy if it was evaluated."""
    files = RunFiles(run.folder / "artifacts")
    row = {"run": run.name, "overrides": run.overrides, "status": run.status, "val_accuracy": None,
           "test_accuracy": None, "train_minutes": None}
    if files.history.is_file():
        history = read_json(files.history, "train.py", keys=("epochs",))
        row["train_minutes"] = round(training_minutes(history), 2)
        row["val_accuracy"] = best_val_accuracy(history) if history["epochs"] else None
    if run.status == "done":
        row["test_accuracy"] = read_json(files.metrics, "evaluate.py", keys=("test_accuracy",))["test_accuracy"]
    return row


def table(rows: list[dict]) -> str:
    def cell(value, digits):
        return "-" if value is None else f"{value:.{digits}f}"
    lines = ["| run | status | val acc | test acc | training minutes |", "|---|---|---|---|---|"]
    lines += [f"| {r['run']} | {r['status']} | {cell(r['val_accuracy'], 4)} | {cell(r['test_accuracy'], 4)} | "
              f"{cell(r['train_minutes'], 1)} |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    sweep_args, shared = (argv[:argv.index("--")], argv[argv.index("--") + 1:]) if "--" in argv else (argv, [])
    parser = argparse.ArgumentParser(description="Train and evaluate a grid of config overrides.")
    parser.add_argument("--grid", action="append", default=[], metavar="NAME=V1,V2",
                        help="a config field and its values; repeat for more fields (their product is run)")
    parser.add_argument("--parallel", type=int, default=1, help="runs at once (default 1)")
    parser.add_argument("--budget_minutes", type=float, default=None, help="stop everything after this long")
    parser.add_argument("--out", type=Path, default=Path("runs/sweep"), help="one folder per run under it")
    args = parser.parse_args(sweep_args)
    if args.parallel < 1:
        raise UserError(f"--parallel {args.parallel}: must be at least 1")
    runs = [Run(overrides, run_folder(args.out, overrides)) for overrides in parse_grid(args.grid)]
    for run in runs:  # every run's config is checked before any starts
        make_config(command_line_overrides([*shared, *(f"--{k}={v}" for k, v in run.overrides.items())]))

    deadline = None if args.budget_minutes is None else time.monotonic() + 60 * args.budget_minutes
    for run in runs:
        if finished(run):
            run.status = "done"
    print(f"sweep: {len(runs)} runs ({sum(r.status == 'done' for r in runs)} already done), {args.parallel} at once"
          + ("" if deadline is None else f", {args.budget_minutes:g} min budget"), flush=True)
    try:
        run_all(runs, shared, args.parallel, deadline)
    except KeyboardInterrupt:
        stop(runs)
    for run in runs:
        if run.status == "waiting":
            run.status = "not started"

    rows = [summary_row(run) for run in runs]
    write_json(args.out / "sweep.json", {"grid": args.grid, "shared": shared, "parallel": args.parallel,
                                         "budget_minutes": args.budget_minutes, "runs": rows})
    print(table(rows))
    print(f"wrote {args.out / 'sweep.json'}; logs in each run's folder")


if __name__ == "__main__":
    cli.run(main, announce_machine=False)  # its runs say what they run on; the sweep itself imports no Keras
