"""A study, and the loop each worker runs on it until the study has its trials.

Any number of workers (threads of one `tune.py`, or `tune.py` processes on any machines sharing the storage) run
the same loop: take a queued trial or ask for a new one while fewer than `n_trials` are finished or running, else
wait for the others' to end or go stale (a lost worker's trial is then queued again for one of them).
"""

import collections
import json
import time

import optuna
from optuna.storages import fail_stale_trials
from optuna.trial import TrialState

from runkit.errors import UserError
from tuning.trials import CutShort, TrialFailed

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
FAILURES_IN_A_ROW = 3  # a worker stops after this many: something other than the settings is wrong
WAIT_S = 5.0  # how often a worker with nothing to start looks again


def open_study(name: str, storage, sampler, pruner, setup: dict) -> optuna.Study:
    """The study `name` in `storage`, created with `setup` (its space and shared overrides) or joined if that
    matches; a UserError if the study was started with another setup."""
    study = optuna.create_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner,
                                direction="maximize", load_if_exists=True)
    setup = json.loads(json.dumps(setup))  # as the storage gives it back
    for key, value in setup.items():
        if key not in study.user_attrs:
            study.set_user_attr(key, value)
        elif study.user_attrs[key] != value:
            raise UserError(f"study {name!r} was started with {key} {study.user_attrs[key]}, not {value}: give the "
                            "same to join it, or another --study")
    return study


class Worker:
    """One worker's loop over a study: trials until the study has `n_trials` finished (or the deadline)."""

    def __init__(self, study: optuna.Study, objective, n_trials: int, deadline: float | None):
        self.study, self.objective, self.n_trials, self.deadline = study, objective, n_trials, deadline
        self.failures = 0

    def run(self) -> None:
        while not self.objective.stopping.is_set() and (self.deadline is None or time.monotonic() < self.deadline):
            fail_stale_trials(self.study)  # a lost worker's trial is queued again
            states = collections.Counter(t.state for t in self.study.get_trials(deepcopy=False))
            finished = sum(states[s] for s in FINISHED)
            if finished >= self.n_trials:
                return
            if states[TrialState.WAITING] or finished + states[TrialState.RUNNING] < self.n_trials:
                self.study.optimize(self.objective, n_trials=1, catch=(TrialFailed, CutShort),
                                    callbacks=[self.after_trial])
            else:  # the rest are running elsewhere: wait for them to end or go stale
                self.objective.stopping.wait(WAIT_S)

    def after_trial(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        """Say how the trial ended; queue a trial cut short again (it resumes in its folder)."""
        if trial.state == TrialState.FAIL and trial.user_attrs.get("cut_short"):
            study.add_trial(optuna.trial.create_trial(
                state=TrialState.WAITING, params=trial.params, distributions=trial.distributions,
                user_attrs={k: v for k, v in trial.user_attrs.items() if k != "cut_short"},
                system_attrs=trial.system_attrs))
            print(f"trial {trial.number}: cut short; queued to resume from its last epoch", flush=True)
            return
        self.failures = self.failures + 1 if trial.state == TrialState.FAIL else 0
        if trial.state == TrialState.FAIL:
            print(f"trial {trial.number}: failed: {trial.user_attrs.get('failure', 'see its log.txt')}", flush=True)
            if self.failures >= FAILURES_IN_A_ROW:
                raise UserError(f"{self.failures} trials in a row failed, the last: "
                                f"{trial.user_attrs.get('failure')}; fix that and run the same command again")
        elif trial.state == TrialState.PRUNED:
            print(f"trial {trial.number}: pruned after epoch {len(trial.intermediate_values)}, "
                  f"{last_value(trial):.4f} validation accuracy", flush=True)
        else:
            best = study.best_trial
            print(f"trial {trial.number}: {trial.value:.4f} best validation accuracy "
                  f"(the study's best: {best.value:.4f}, trial {best.number})", flush=True)


def last_value(trial: optuna.trial.FrozenTrial) -> float:
    return trial.intermediate_values[max(trial.intermediate_values)] if trial.intermediate_values else float("nan")
