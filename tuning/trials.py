"""One trial: an ordinary run of `train.py` in a process of its own, in the study's folder, named by its trial.

Its epochs are reported to Optuna as the run's history records them, so a pruner can stop a trial that is clearly
behind; a pruned run's folder says so in PRUNED.json. The objective is the run's best validation accuracy: the
test set is never read while searching.
"""

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import optuna

from runkit.files import RunFiles, make_folder, read_json, write_json
from runkit.history import best_val_accuracy

ROOT = Path(__file__).resolve().parents[1]
POLL_S = 2.0  # how often a trial's history is read while it trains
STOP_GRACE_S = 30  # a stopped run's time to exit before it is killed
PRUNED = "PRUNED.json"


class TrialFailed(Exception):
    """train.py ended with an error: the trial is failed, and the search goes on."""


class CutShort(Exception):
    """The search's time ran out, or it was stopped, while the trial trained: it is queued again, to resume from its
    last epoch."""


@dataclass
class Trials:
    """How each trial runs: the study's folder, the overrides every trial shares, the space, the search's end."""

    folder: Path
    shared: list[str]  # command-line overrides for every trial
    space: dict  # field -> tuning.space.Dimension
    deadline: float | None = None  # time.monotonic() at which running trials are cut short
    env: dict | None = None  # the environment of the trials' processes
    stopping: threading.Event = field(default_factory=threading.Event)  # set: cut running trials short (Ctrl-C)

    def __call__(self, trial: optuna.Trial) -> float:
        params = {name: dim.suggest(trial) for name, dim in self.space.items()}
        run = trial.user_attrs.get("run") or f"trial-{trial.number:03d}"  # a retried trial resumes its folder
        trial.set_user_attr("run", run)
        folder = make_folder(self.folder / run)
        files = RunFiles(folder / "artifacts")
        print(f"trial {trial.number}: {describe(params)} in {folder}", flush=True)
        with open(folder / "log.txt", "a") as log:
            env = {**(self.env or os.environ), "PYTHONUNBUFFERED": "1"}  # its log shows each line as it comes
            # Dies with this worker (tuning/child.py), so that a retried trial never trains beside its orphan; a
            # session of its own: Ctrl-C reaches the search, which stops its trials and queues them.
            process = subprocess.Popen([sys.executable, str(ROOT / "tuning" / "child.py"), str(os.getpid()),
                                        str(ROOT / "train.py"), *self.argv(params, folder)],
                                       stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
            try:
                self.watch(trial, process, files, folder)
            finally:
                stop(process)
        if process.returncode != 0:
            failure = f"train.py exited with {process.returncode}: {last_line(folder / 'log.txt')} ({folder}/log.txt)"
            trial.set_user_attr("failure", failure)
            raise TrialFailed(failure)
        return best_val_accuracy(read_json(files.history, "train.py", keys=("epochs",)))

    def argv(self, params: dict, folder: Path) -> list[str]:
        paths = {"artifacts_dir": folder / "artifacts", "visualizations_dir": folder / "visualizations",
                 "exports_dir": folder / "exports"}
        return [*self.shared, *(f"--{k}={v}" for k, v in {**params, **paths}.items())]

    def watch(self, trial: optuna.Trial, process: subprocess.Popen, files: RunFiles, folder: Path) -> None:
        """Report each epoch the run records until it ends; stop it if the pruner says so or time runs out."""
        def report(reported: int) -> list:  # the epochs its history records, those after `reported` reported
            epochs = read_json(files.history, "train.py", keys=("epochs",))["epochs"] if files.history.is_file() else []
            for step, epoch in enumerate(epochs[reported:], start=reported):
                trial.report(epoch["val_accuracy"], step)
            return epochs

        reported = 0
        while True:
            running = process.poll() is None  # read first: the epochs read after it are all it recorded
            reported = len(report(reported))
            if not running:
                return
            if reported and trial.should_prune():
                stop(process)
                epochs = report(reported)  # it may have ended one more epoch before it stopped: the study keeps it
                write_json(folder / PRUNED, {"trial": trial.number, "epochs": len(epochs),
                                             "val_accuracy": epochs[-1]["val_accuracy"],
                                             "why": "behind the other trials at this epoch (the study's pruner)"})
                raise optuna.TrialPruned(f"behind the others after epoch {len(epochs)}")
            if self.stopping.is_set() or (self.deadline is not None and time.monotonic() > self.deadline):
                stop(process)
                trial.set_user_attr("cut_short", True)
                raise CutShort(f"trial {trial.number}: stopped after epoch {reported}")
            time.sleep(POLL_S)


def describe(params: dict) -> str:
    """A trial's values on one line, floats to 4 significant digits."""
    return " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())


def stop(process: subprocess.Popen) -> None:
    """End a run (SIGTERM, then SIGKILL after STOP_GRACE_S); it resumes from its last finished epoch."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def last_line(path: Path) -> str:
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1].strip() if lines else "(no output)"
