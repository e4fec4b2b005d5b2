"""Resuming after a hard kill or a crash at a phase's end gives the uninterrupted run; comparing every epoch
with the shared trained run also shows that the same seed and config give the same run."""

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import train
from models.training import RecordEpoch, start_or_resume
from runkit.files import RunFiles, write_json
from tests.helpers import ROOT, as_argv, run_script


def history_of(overrides):
    return json.loads((ROOT / overrides["artifacts_dir"] / "history.json").read_text())


@pytest.mark.parametrize("fresh", [False, True])
def test_an_unfinished_run_resumes_unless_fresh_or_its_config_changed(tmp_path, fresh):
    files = RunFiles(tmp_path)
    config = {"seed": 42, "finetune_epochs": 2}
    write_json(files.config, config)
    unfinished = {"steps_per_epoch": 5, "epochs": [{"phase": "frozen", "epoch": 0}], "lr_per_step": {},
                  "completed": False}
    write_json(files.history, unfinished)
    files.best_weights.write_bytes(b"weights")
    files.teacher_probabilities.write_bytes(b"a distilled student's targets")

    history = start_or_resume(files, config, 5, fresh=fresh)
    assert history == ({**unfinished, "epochs": []} if fresh else unfinished)
    for path in (files.best_weights, files.teacher_probabilities):  # starting over removes the earlier run's files
        assert path.exists() is not fresh
    assert start_or_resume(files, {**config, "seed": 1}, 5, fresh=False)["epochs"] == []
    assert json.loads(files.config.read_text())["seed"] == 1


class Crash(BaseException):
    """A kill, as far as the training can tell: nothing after it runs."""


@pytest.mark.slow
@pytest.mark.parametrize("phase, epoch", [("frozen", 0), ("finetune", 2)])  # the last epoch of each phase
def test_a_crash_just_after_a_phase_ends_resumes_to_the_uninterrupted_result(trained_run, tmp_path, monkeypatch,
                                                                             capsys, phase, epoch):
    overrides = {**trained_run, "artifacts_dir": str(tmp_path / "crashed")}
    record = RecordEpoch.on_epoch_end

    def record_then_crash(self, e, logs=None):
        record(self, e, logs)
        if (self.phase, e) == (phase, epoch):
            raise Crash

    monkeypatch.setattr(RecordEpoch, "on_epoch_end", record_then_crash)
    with pytest.raises(Crash):
        train.main(as_argv(overrides))
    monkeypatch.undo()
    before = history_of(overrides)
    assert before["epochs"][-1]["phase"] == phase and not before["completed"]

    capsys.readouterr()
    train.main(as_argv(overrides))
    assert f"resuming the unfinished run in {overrides['artifacts_dir']} ({len(before['epochs'])} epochs done)" in (
        capsys.readouterr().out)
    after, reference = history_of(overrides), history_of(trained_run)
    assert after["completed"] and len(after["epochs"]) == len(reference["epochs"])
    assert after["epochs"][:len(before["epochs"])] == before["epochs"]  # continued, not restarted
    for resumed, uninterrupted in zip(after["epochs"], reference["epochs"], strict=True):
        assert resumed["loss"] == pytest.approx(uninterrupted["loss"], rel=1e-3)
        assert resumed["val_loss"] == pytest.approx(uninterrupted["val_loss"], rel=1e-3)


@pytest.mark.slow
def test_kills_at_random_moments_end_in_the_uninterrupted_result(trained_run, tmp_path):
    overrides = {**trained_run, "artifacts_dir": str(tmp_path / "killed")}
    rng = np.random.default_rng(7)
    for delay in rng.uniform(4, 8, size=3):  # start-up takes seconds: some kills land before training, most in it
        process = subprocess.Popen([sys.executable, "train.py", *as_argv(overrides)], cwd=ROOT,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
    run_script("train.py", as_argv(overrides))
    after, reference = history_of(overrides), history_of(trained_run)
    assert after["completed"] and not (tmp_path / "killed" / "backup").exists()  # a finished run keeps no state
    assert (tmp_path / "killed" / "training_log.csv").read_text().count("epoch,") == 1  # one header, however resumed
    assert [(e["phase"], e["epoch"]) for e in after["epochs"]] == [(e["phase"], e["epoch"])
                                                                   for e in reference["epochs"]]
    assert after["epochs"][-1]["loss"] == pytest.approx(reference["epochs"][-1]["loss"], rel=1e-3)
    assert after["epochs"][-1]["val_loss"] == pytest.approx(reference["epochs"][-1]["val_loss"], rel=1e-3)
