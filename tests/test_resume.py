"""Resuming after a hard kill or a crash at a phase's end gives the uninterrupted run; comparing every epoch
with the shared trained run also shows that the same seed and config give the same run."""

import json
import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

import train
from models.callbacks import RecordEpoch
from models.run_folder import start_or_resume
from runkit.errors import UserError
from runkit.files import RunFiles, write_json
from tests.helpers import ROOT, as_argv, run_script, tiny_run


def history_of(overrides):
    return json.loads((ROOT / overrides["artifacts_dir"] / "history.json").read_text())


def unfinished_run(folder, completed=False) -> tuple[RunFiles, dict, dict]:
    """A run folder as train.py leaves it: config, history (one epoch, or finished), weights, a student's targets."""
    files = RunFiles(folder)
    config = {"seed": 42, "finetune_epochs": 2, "data_dir": "data", "tta_flip": True, "results_file": "r.csv"}
    write_json(files.config, config)
    history = {"steps_per_epoch": 5, "epochs": [{"phase": "frozen", "epoch": 0, "val_accuracy": 0.9385}],
               "lr_per_step": {}, "completed": completed}
    write_json(files.history, history)
    files.best_weights.write_bytes(b"weights")
    files.teacher_probabilities.write_bytes(b"a distilled student's targets")
    return files, config, history


def test_an_unfinished_run_resumes_whatever_its_paths_and_evaluation_settings(tmp_path):
    files, config, history = unfinished_run(tmp_path)
    elsewhere = {**config, "data_dir": str(tmp_path / "data"), "tta_flip": False, "results_file": "other.csv"}
    assert start_or_resume(files, elsewhere, 5, fresh=False) == history
    assert files.best_weights.exists() and files.teacher_probabilities.exists()
    assert json.loads(files.config.read_text()) == elsewhere  # the later scripts take this command's paths


def test_fresh_replaces_a_run(tmp_path):
    files, config, history = unfinished_run(tmp_path, completed=True)
    assert start_or_resume(files, {**config, "seed": 1}, 5, fresh=True) == {**history, "epochs": [],
                                                                             "completed": False}
    for path in (files.best_weights, files.teacher_probabilities):  # starting over removes the earlier run's files
        assert not path.exists()
    assert json.loads(files.config.read_text())["seed"] == 1


def test_an_unfinished_run_of_another_training_config_is_kept_and_named(tmp_path):
    files, config, history = unfinished_run(tmp_path)
    with pytest.raises(UserError, match=r"unfinished run of another training config: seed \(42 there, 1 here\), "
                                        r"finetune_epochs \(2 there, 3 here\); run it with its own values"):
        start_or_resume(files, {**config, "seed": 1, "finetune_epochs": 3}, 5, fresh=False)
    assert json.loads(files.history.read_text()) == history and files.best_weights.exists()
    assert json.loads(files.config.read_text()) == config


@pytest.mark.parametrize("evaluated", [False, True])
def test_a_finished_run_is_never_replaced_without_fresh(tmp_path, evaluated):
    files, config, history = unfinished_run(tmp_path, completed=True)
    if evaluated:
        write_json(files.metrics, {"test_accuracy": 0.9357})
    said = "evaluated: test accuracy 0.9357" if evaluated else "not evaluated yet"
    with pytest.raises(UserError, match=rf"holds a finished run \(best validation accuracy 0.9385, {said}\): "
                                        rf"evaluate it with `python evaluate.py --artifacts_dir {tmp_path}`, "
                                        "or give --fresh"):
        start_or_resume(files, config, 5, fresh=False)
    assert json.loads(files.history.read_text()) == history and files.best_weights.exists()
    assert files.metrics.exists() is evaluated


def test_temporary_files_of_killed_writers_are_removed_and_a_live_writers_kept(tmp_path):
    files, config, _ = unfinished_run(tmp_path)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    orphans = [files.root / f".tmp-{dead.stdout.strip()}-history.json",
               files.backup / f".tmp-{dead.stdout.strip()}-finetune-2.weights.h5"]
    live = files.root / f".tmp-{os.getpid()}-metrics.json"
    for path in (*orphans, live):
        path.parent.mkdir(exist_ok=True)
        path.write_text("half a file")
    start_or_resume(files, config, 5, fresh=False)
    assert not any(path.exists() for path in orphans) and live.exists()


class Crash(BaseException):
    """A kill, as far as the training can tell: nothing after it runs."""


@pytest.mark.slow
def test_an_epoch_is_recorded_only_after_its_weights_are_written(tmp_path, monkeypatch):
    """A kill just before the record: the best weights and the resume state are on disk already."""
    def crash(self, epoch, logs=None):
        raise Crash

    monkeypatch.setattr(RecordEpoch, "on_epoch_end", crash)
    with pytest.raises(Crash):
        train.main(as_argv(tiny_run(tmp_path)))
    files = RunFiles(tmp_path / "artifacts")
    assert files.best_weights.exists() and (files.backup / "frozen-1.weights.h5").exists()
    assert not files.history.exists()  # nothing recorded yet


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
        assert resumed["loss"] == pytest.approx(uninterrupted["loss"], rel=1e-6)
        assert resumed["val_loss"] == pytest.approx(uninterrupted["val_loss"], rel=1e-6)


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
    assert after["epochs"][-1]["loss"] == pytest.approx(reference["epochs"][-1]["loss"], rel=1e-6)
    assert after["epochs"][-1]["val_loss"] == pytest.approx(reference["epochs"][-1]["val_loss"], rel=1e-6)


# A CNN that learns in seconds, with every kind of random draw a run makes: flips, erasing and dropout on the picture,
# rotations, the families drawn over the pixels (sketches, impulse noise, lines, gratings) and AugMix in the
# consistency loss's two views of the batch's first half, each family on a share of the images drawn for it.
AUGMENTED_CNN = {"image_size": "28", "frozen_epochs": "0", "finetune_epochs": "5", "clr_step_epochs": "2.5",
                 "rotation": "0.05", "erasing": "0.5", "sketch": "0.3", "impulse": "0.1", "lines": "0.3",
                 "gratings": "0.3", "augmix": "true", "consistency": "1.0", "family_share": "0.5",
                 "consistency_share": "0.5"}


def kill_after_epochs(argv, history_path, epochs: int, env) -> None:
    """Start train.py, SIGKILL it once its history records `epochs` epochs (mid-way through the next)."""
    process = subprocess.Popen([sys.executable, "train.py", *argv], cwd=ROOT, env={**os.environ, **env},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if len(json.loads(history_path.read_text())["epochs"]) >= epochs:
                break
        except (OSError, ValueError):
            pass  # not written yet
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_a_killed_run_ends_as_the_uninterrupted_run_to_the_last_digits(tmp_path, backend):
    """Same losses at every epoch and the same best weights (1e-6 relative), on TensorFlow and on JAX."""
    pytest.importorskip(backend)
    env = {"KERAS_BACKEND": backend, "JAX_PLATFORMS": "cpu"}
    base = {"preset": "cnn", **tiny_run(tmp_path), **AUGMENTED_CNN}
    reference, killed = ({**base, "artifacts_dir": str(tmp_path / name)} for name in ("reference", "killed"))
    run_script("train.py", as_argv(reference), env=env)
    kill_after_epochs(as_argv(killed), tmp_path / "killed" / "history.json", 2, env)
    assert len(history_of(killed)["epochs"]) == 2 and not history_of(killed)["completed"]
    run_script("train.py", as_argv(killed), env=env)

    after, before = history_of(killed)["epochs"], history_of(reference)["epochs"]
    assert len(after) == len(before) == 5
    assert before[-1]["loss"] < 0.8 * before[0]["loss"]  # it learns: the draws shape what it learns
    for resumed, uninterrupted in zip(after, before, strict=True):
        for key in ("loss", "val_loss", "accuracy"):
            assert resumed[key] == pytest.approx(uninterrupted[key], rel=1e-6), (resumed["epoch"], key)
    with h5py.File(tmp_path / "killed" / "best.weights.h5") as a, \
            h5py.File(tmp_path / "reference" / "best.weights.h5") as b:
        a_arrays, b_arrays = weight_arrays(a), weight_arrays(b)
    assert a_arrays.keys() == b_arrays.keys() and len(a_arrays) > 10
    for name in a_arrays:
        np.testing.assert_allclose(a_arrays[name], b_arrays[name], rtol=1e-6, atol=1e-7, err_msg=name)


def weight_arrays(h5) -> dict:
    arrays = {}
    h5.visititems(lambda name, item: arrays.update({name: item[()]}) if isinstance(item, h5py.Dataset) else None)
    return arrays
