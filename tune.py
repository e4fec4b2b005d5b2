"""Search config.py's settings with Optuna: each trial an ordinary run folder, one study shared by any number of
workers, on one machine or many.

    python tune.py --space "clr_max=log:1e-4:3e-3,finetune_layers=int:40:154,dropout=0:0.5,optimizer=adam|adamw" \\
        --trials 20 --preset quick                 # a study in runs/tune/search/ (its SQLite file, its trials)
    python tune.py ... --storage postgresql://USER@HOST/DB    # the same command on each machine joins one study
    python tune.py ... --storage /shared/disk/search.journal  # or a journal file on a disk the machines share
    python tune.py --space "seed=42|1|2" --sampler grid --workers 3 --timeout_minutes 8 --preset quick
    python tune.py --report [--study NAME] [--storage URL]    # the table, best.json and the plots, at any time

Config overrides after the options go to every trial. Trial N trains in runs/tune/STUDY/trial-00N/ (artifacts/,
log.txt); the objective is its best validation accuracy, and the test set is never read while searching:
`python evaluate.py --artifacts_dir runs/tune/STUDY/trial-00N/artifacts` scores a trial afterwards. The same command
again carries on: finished trials are kept, a trial cut short by --timeout_minutes resumes from its last epoch,
and a trial whose worker died (SIGKILL, a lost machine) is taken up by another once its heartbeats stop.
"""

import argparse
import dataclasses
import difflib
import math
import os
import re
import signal
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import optuna

from config import Config, make_config
from models.runs import command_line_overrides
from runkit import cli
from runkit.errors import UserError
from runkit.files import make_folder
from tuning.report import report
from tuning.search import FINISHED, Worker, open_study
from tuning.space import check_space, grid_of, read_space
from tuning.storage import open_storage
from tuning.trials import Trials

TRIAL_PATHS = ("artifacts_dir", "visualizations_dir", "exports_dir")  # each trial's own, named by tune.py
# What tune.py writes in a study's folder; a folder holding anything else is not a study's, and is left alone.
STUDY_FILES = re.compile(r"study\.db(-journal|-wal|-shm)?|trials\.csv|best\.json|\w+\.png|trial-\d+|\.tmp-.*")
# Chosen by replaying 47 finished quick-budget runs as trials (python -m bench.pruners, docs/tuning.md).
PRUNERS = {"halving": lambda: optuna.pruners.SuccessiveHalvingPruner(min_resource=2, reduction_factor=2),
           "median": lambda: optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=5),
           "none": optuna.pruners.NopPruner}


def parse(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(description="Search config.py's settings with Optuna.", allow_abbrev=False,
                                     epilog="Any other --field VALUE is a config override for every trial.")
    parser.add_argument("--space", help="field=SPEC items separated by commas, or a file of them (tuning/space.py)")
    parser.add_argument("--trials", type=int, help="finished trials the study should have (grid: all its points)")
    parser.add_argument("--study", default="search", help="the study's name (default search)")
    parser.add_argument("--out", type=Path, default=Path("runs/tune"), help="the study's folder goes under it")
    parser.add_argument("--storage", help="sqlite:///FILE, a SQLAlchemy URL or a journal file (default: "
                                          "OUT/STUDY/study.db)")
    parser.add_argument("--sampler", choices=("tpe", "random", "grid"), default="tpe")
    parser.add_argument("--pruner", choices=tuple(PRUNERS), help="stops trials behind the others (default halving; "
                                                                 "none for a grid, which runs every point through)")
    parser.add_argument("--sampler_seed", type=int, help="the sampler's seed, for a search one worker repeats "
                                                         "(workers sharing a study should not share a seed)")
    parser.add_argument("--workers", type=int, default=1, help="trials at once in this process (default 1)")
    parser.add_argument("--timeout_minutes", type=float, help="cut running trials short after this long; they "
                                                              "resume when the same command runs again")
    parser.add_argument("--heartbeat_seconds", type=int, default=30, help="a trial whose worker misses 3 beats "
                                                                          "is taken up by another")
    parser.add_argument("--report", action="store_true", help="only report on the study")
    args, overrides = parser.parse_known_args(argv)
    options, fields = [a.dest for a in parser._actions], {f.name for f in dataclasses.fields(Config)}
    for name in (arg[2:].split("=")[0] for arg in overrides if arg.startswith("--")):
        if name not in fields and (meant := close_to(name, options)):  # a misspelt option of tune.py's own
            raise UserError(f"unknown option --{name}; did you mean --{meant}?")
    if args.workers < 1 or args.heartbeat_seconds < 1:
        raise UserError("--workers and --heartbeat_seconds must be at least 1")
    if args.trials is not None and args.trials < 1:
        raise UserError(f"--trials {args.trials}: must be at least 1")
    if args.timeout_minutes is not None and not args.timeout_minutes > 0:
        raise UserError(f"--timeout_minutes {args.timeout_minutes}: must be above 0")
    return args, overrides


def check_study_folder(folder: Path) -> None:
    """A one-line error if `folder` holds files tune.py does not write there: it never writes among a user's."""
    others = sorted(p.name for p in folder.iterdir() if not STUDY_FILES.fullmatch(p.name)) if folder.is_dir() else []
    if others:
        raise UserError(f"{folder} holds files that are not a study's ({', '.join(others[:3])}): nothing was changed "
                        "there; give another --study or --out")


def close_to(name: str, options: list[str]) -> str | None:
    """The option a misspelt name meant, if one is close (config fields get their did-you-mean later)."""
    return next(iter(difflib.get_close_matches(name, options, n=1, cutoff=0.8)), None)


def main(argv: list[str]) -> None:
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)  # heartbeats and plots
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # each trial's end is told in one line (tuning/search.py)
    args, shared = parse(argv)
    folder = args.out / args.study
    check_study_folder(folder)
    storage_url = args.storage or f"sqlite:///{folder / 'study.db'}"
    if args.report:
        if args.storage is None and not (folder / "study.db").is_file():
            raise UserError(f"no study in {folder}: give its --study, --out or --storage")
        study = optuna.load_study(study_name=args.study, storage=open_storage(storage_url, args.heartbeat_seconds))
        report(study, folder, study.user_attrs.get("shared", []))
        return

    if not args.space:
        raise UserError("say what to search: --space \"field=SPEC,...\" (or --report)")
    space = read_space(args.space)
    overrides = command_line_overrides(shared)
    if given := [f"--{f}" for f in TRIAL_PATHS if f in overrides]:
        raise UserError(f"tune.py gives each trial its own folder under {folder}: drop {', '.join(given)}")
    make_config(overrides)
    check_space(space, overrides)
    if args.sampler == "grid":
        grid = grid_of(space)
        n_trials = args.trials or math.prod(map(len, grid.values()))
        sampler = optuna.samplers.GridSampler(grid, seed=args.sampler_seed)
    elif args.trials is None:
        raise UserError("say how many trials: --trials N")
    else:
        n_trials = args.trials
        sampler = optuna.samplers.TPESampler(n_startup_trials=5, constant_liar=True, seed=args.sampler_seed) \
            if args.sampler == "tpe" else optuna.samplers.RandomSampler(seed=args.sampler_seed)

    if args.storage is None:
        make_folder(folder)
    storage = open_storage(storage_url, args.heartbeat_seconds)
    setup = {"space": {name: repr(dim) for name, dim in space.items()}, "shared": shared}
    pruner = args.pruner or ("none" if args.sampler == "grid" else "halving")
    study = open_study(args.study, storage, sampler, PRUNERS[pruner](), setup)
    finished = sum(t.state in FINISHED for t in study.get_trials(deepcopy=False))
    print(f"study {args.study!r}: {finished} of {n_trials} trials finished; {args.workers} worker(s) here, "
          f"{args.sampler} sampler, {pruner} pruner; trials in {folder}", flush=True)

    deadline = None if args.timeout_minutes is None else time.monotonic() + 60 * args.timeout_minutes
    env = dict(os.environ)
    if args.workers > 1:  # JAX takes 75% of a GPU's memory by default; share it. TF: grow as needed.
        env.setdefault("XLA_PYTHON_CLIENT_MEM_FRACTION", f"{0.9 / args.workers:.3f}")
        env.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
    objective = Trials(make_folder(folder), shared, space, deadline, env)
    for stop_signal in (signal.SIGINT, signal.SIGTERM):  # Ctrl-C (even where a shell started it ignoring it, in
        signal.signal(stop_signal, stop_gracefully)      # the background), a scheduler's or `timeout`'s stop
    with ThreadPoolExecutor(args.workers) as pool:
        workers = [pool.submit(Worker(study, objective, n_trials, deadline).run) for _ in range(args.workers)]
        try:
            for worker in workers:
                worker.result()
        except BaseException:  # Ctrl-C, or a worker's error: the others stop too, their trials queued to resume
            objective.stopping.set()
            raise
    report(study, folder, shared)


def stop_gracefully(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    cli.run(main, announce_machine=False)  # its trials say what they run on; the search itself imports no Keras
