"""Resuming after a hard kill, and repeatability: the same seed and config give the same run."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT, as_argv, run_script, tiny_run


def history_of(overrides):
    return json.loads((ROOT / overrides["artifacts_dir"] / "history.json").read_text())


def kill_after_epochs(overrides, epochs: int) -> dict:
    """Start train.py, SIGKILL it once `epochs` epochs are recorded; return the history left behind."""
    path = ROOT / overrides["artifacts_dir"] / "history.json"
    process = subprocess.Popen([sys.executable, "train.py", *as_argv(overrides)], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        if path.exists() and len(json.loads(path.read_text())["epochs"]) >= epochs:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """A finished run with enough batches per epoch to be killed inside one."""
    root = tmp_path_factory.mktemp("resume")
    overrides = {**tiny_run(root), "batch_size": "8", "finetune_epochs": "3",
                 "artifacts_dir": str(root / "uninterrupted")}
    run_script("train.py", as_argv(overrides))
    return overrides


def test_same_seed_and_config_give_the_same_run(uninterrupted):
    first = history_of(uninterrupted)
    run_script("train.py", as_argv(uninterrupted))  # a finished run is not resumed: it trains again
    second = history_of(uninterrupted)
    assert [e["val_accuracy"] for e in second["epochs"]] == pytest.approx(
        [e["val_accuracy"] for e in first["epochs"]], abs=0.001)
    assert second["run"]["machine"]["tensorflow"] and json.loads(
        (ROOT / uninterrupted["artifacts_dir"] / "config.json").read_text())["seed"] == 42


def test_killed_training_resumes_to_the_uninterrupted_result(uninterrupted, tmp_path):
    overrides = {**uninterrupted, "artifacts_dir": str(tmp_path / "killed")}
    before = kill_after_epochs(overrides, epochs=2)  # the frozen phase and one fine-tuning epoch
    assert not before["completed"] and 2 <= len(before["epochs"]) < 4
    assert (tmp_path / "killed" / "backup").is_dir()

    resumed = run_script("train.py", as_argv(overrides))
    assert "resuming the unfinished run" in resumed.stdout
    after = history_of(overrides)
    assert after["completed"]
    assert [(e["phase"], e["epoch"]) for e in after["epochs"]] == [("frozen", 0)] + [("finetune", i) for i in range(3)]
    assert after["epochs"][:2] == before["epochs"][:2]  # continued, not restarted
    assert not (tmp_path / "killed" / "backup").exists()
    assert (tmp_path / "killed" / "training_log.csv").read_text().count("epoch,") == 1  # one header

    reference = history_of(uninterrupted)["epochs"][-1]
    assert after["epochs"][-1]["val_loss"] == pytest.approx(reference["val_loss"], rel=1e-3)
    assert after["epochs"][-1]["loss"] == pytest.approx(reference["loss"], rel=1e-3)


def test_fresh_starts_over_on_purpose(uninterrupted, tmp_path):
    overrides = {**uninterrupted, "artifacts_dir": str(tmp_path / "fresh")}
    kill_after_epochs(overrides, epochs=1)
    result = run_script("train.py", [*as_argv(overrides), "--fresh"])
    assert "resuming" not in result.stdout
    assert history_of(overrides)["completed"]
