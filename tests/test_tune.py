"""tune.py: workers sharing one study (SQLite, a journal file, PostgreSQL), a killed worker's trial taken up by
another, pruning, a time limit that queues a trial to resume, the report, and mistakes refused in one line."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import optuna
import pytest

import tune
from config import PRESETS
from models.runs import command_line_overrides
from runkit.errors import UserError
from tests.helpers import ROOT, as_argv, assert_one_line_error, run_script, write_synthetic_fashion_mnist
from tuning.report import best_config
from tuning.space import grid_of, read_space


def trial_overrides(root: Path, epochs: int) -> list[str]:
    """A small CNN on synthetic data: a trial that trains in seconds, and learns (unlike an untrained
    MobileNetV2 at this size)."""
    data = root / "data"
    if not data.exists():
        write_synthetic_fashion_mnist(data)
    return as_argv({"data_dir": data, "architecture": "cnn", "image_size": 28, "batch_size": 32,
                    "frozen_epochs": 0, "finetune_epochs": epochs, "clr_step_epochs": 1, "val_fraction": 0.25,
                    "results_file": root / "results.csv"})


def start_tune(argv: list[str], **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(ROOT / "tune.py"), *argv], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, **kwargs)


def finish(process: subprocess.Popen) -> str:
    output = process.communicate(timeout=600)[0]
    assert process.returncode == 0, output[-3000:]
    return output


def trials_of(storage: str, study: str = "search") -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=study, storage=storage).get_trials()


def epochs_trained(trial_folder: Path) -> list[int]:
    history = json.loads((trial_folder / "artifacts" / "history.json").read_text())
    return [e["epoch"] for e in history["epochs"]]


def assert_each_trial_ran_once(trials, folder: Path, epochs: int) -> None:
    """Every finished trial trained its own folder through once, with its own parameters."""
    done = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len({t.user_attrs["run"] for t in done}) == len(done)
    for t in done:
        assert epochs_trained(folder / t.user_attrs["run"]) == list(range(epochs))
        config = json.loads((folder / t.user_attrs["run"] / "artifacts" / "config.json").read_text())
        assert all(config[name] == pytest.approx(value) for name, value in t.params.items())


@pytest.mark.slow
def test_three_workers_share_one_sqlite_study_and_the_report_gives_a_config_train_py_takes(tmp_path):
    folder, storage = tmp_path / "tune" / "search", f"sqlite:///{tmp_path / 'tune' / 'search' / 'study.db'}"
    argv = ["--space", "dropout=0:0.5,clr_max=log:1e-3:1e-2", "--trials", "4", "--out", str(tmp_path / "tune"),
            "--sampler", "random", *trial_overrides(tmp_path, epochs=2)]
    first = start_tune(argv)
    time.sleep(3)  # the first creates the study's file; the others join it
    outputs = [finish(w) for w in (first, start_tune(argv), start_tune(argv))]

    trials = trials_of(storage)
    done = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert 4 <= len(done) <= 6 and len(trials) == len(done)  # at most one extra each for the two that joined
    assert_each_trial_ran_once(trials, folder, epochs=2)
    assert sorted(p.name for p in folder.glob("trial-*")) == sorted(t.user_attrs["run"] for t in trials)
    assert any("best validation accuracy" in o for o in outputs)

    report = run_script("tune.py", ["--report", "--out", str(tmp_path / "tune")]).stdout
    best = max(done, key=lambda t: t.value)
    assert f"best: trial {best.number}, {best.value:.4f}" in report and "| complete |" in report
    assert {"trials.csv", "best.json", "history.png", "parallel_coordinates.png"} <= {p.name for p in folder.iterdir()}
    overrides = command_line_overrides(["--config", str(folder / "best.json")])
    assert overrides["dropout"] == pytest.approx(best.params["dropout"]) and overrides["architecture"] == "cnn"
    assert "data_dir" not in overrides  # a path of this machine: given beside --config


@pytest.mark.slow
def test_a_killed_workers_trial_is_taken_up_by_another_and_resumes_in_its_folder(tmp_path):
    """On a journal file (Optuna's own has no heartbeat: tuning/storage.py gives it one)."""
    journal = tmp_path / "study.journal"
    argv = ["--space", "dropout=0:0.5", "--trials", "1", "--out", str(tmp_path / "tune"), "--storage", str(journal),
            "--heartbeat_seconds", "1", *trial_overrides(tmp_path, epochs=15)]
    folder = tmp_path / "tune" / "search" / "trial-000"
    killed = start_tune(argv)
    deadline = time.monotonic() + 300
    while not (folder / "artifacts" / "history.json").exists() or len(epochs_trained(folder)) < 2:
        assert killed.poll() is None and time.monotonic() < deadline, killed.communicate()[0]
        time.sleep(0.5)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    time.sleep(2)  # its train.py died with it (PR_SET_PDEATHSIG): the run folder's lock is free
    trained_before = len(epochs_trained(folder))

    output = finish(start_tune(argv))
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(journal)))
    states = [(t.number, t.state.name, t.user_attrs["run"]) for t in trials_of(storage)]
    assert states == [(0, "FAIL", "trial-000"), (1, "COMPLETE", "trial-000")]
    assert "trial 1: dropout=" in output and str(folder) in output
    assert epochs_trained(folder) == list(range(15))  # resumed: every epoch once
    assert "resum" in (folder / "log.txt").read_text().lower() and trained_before >= 2


@pytest.mark.slow
def test_a_trial_behind_the_others_is_pruned_and_its_folder_says_so(tmp_path):
    # The grid's order for seed 1 is a constant LR of 0.01, then one a million times smaller, which learns nothing;
    # successive halving prunes the second trial at its first rung (epoch 3), as it is behind the first there.
    argv = ["--space", "finetune_lr_scale=1|0.000001", "--sampler", "grid", "--sampler_seed", "1", "--pruner",
            "halving", "--out", str(tmp_path / "tune"), *trial_overrides(tmp_path, epochs=20), "--clr_min", "0.01",
            "--clr_max", "0.01"]
    output = finish(start_tune(argv))
    trials = trials_of(f"sqlite:///{tmp_path / 'tune' / 'search' / 'study.db'}")
    assert [(t.params["finetune_lr_scale"], t.state.name) for t in trials] == [("1", "COMPLETE"),
                                                                               ("0.000001", "PRUNED")]
    pruned = tmp_path / "tune" / "search" / "trial-001"
    note = json.loads((pruned / "PRUNED.json").read_text())
    assert note["trial"] == 1 and 1 <= note["epochs"] == len(epochs_trained(pruned)) < 20
    assert f"trial 1: pruned after epoch {note['epochs']}" in output


@pytest.mark.slow
def test_a_trial_stopped_by_ctrl_c_resumes_when_the_same_command_runs_again(tmp_path):
    """Ctrl-C reaches tune.py alone (its trials run in sessions of their own): it stops the trial and queues it.
    The time limit does the same (test_the_search_itself_imports_no_framework)."""
    argv = ["--space", "dropout=0.1|0.2", "--sampler", "grid", "--trials", "1", "--out", str(tmp_path / "tune"),
            *trial_overrides(tmp_path, epochs=20)]
    folder = tmp_path / "tune" / "search" / "trial-000"
    stopped = start_tune(argv)
    while not (folder / "artifacts" / "history.json").exists() or len(epochs_trained(folder)) < 2:
        assert stopped.poll() is None, stopped.communicate()[0]
        time.sleep(0.5)
    stopped.send_signal(signal.SIGINT)
    output = stopped.communicate(timeout=120)[0]
    assert stopped.returncode == 130 and "trial 0: cut short; queued to resume" in output
    assert output.strip().endswith("interrupted: run the same command again to resume")
    storage = f"sqlite:///{tmp_path / 'tune' / 'search' / 'study.db'}"
    assert [t.state.name for t in trials_of(storage)] == ["FAIL", "WAITING"]

    finish(start_tune(argv))
    trials = trials_of(storage)
    assert [(t.state.name, t.user_attrs["run"]) for t in trials] == [("FAIL", "trial-000"), ("COMPLETE", "trial-000")]
    assert trials[0].params == trials[1].params
    assert epochs_trained(folder) == list(range(20))


def test_a_space_from_the_command_line_or_a_file_draws_each_kind_within_its_bounds(tmp_path):
    text = "clr_max=log:1e-4:3e-3, finetune_layers=int:40:154,dropout=0:0.5,optimizer=adam|adamw"
    (tmp_path / "space.txt").write_text("# the issue's example\nclr_max=log:1e-4:3e-3  # peak LR\n"
                                        "finetune_layers=int:40:154\ndropout=0:0.5, optimizer=adam|adamw\n")
    space = read_space(text)
    assert read_space(str(tmp_path / "space.txt")) == space
    assert {name: dim.kind for name, dim in space.items()} == {"clr_max": "log", "finetune_layers": "int",
                                                               "dropout": "float", "optimizer": "choice"}
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(20):
        values = {name: dim.suggest(study.ask()) for name, dim in space.items()}
        assert 1e-4 <= values["clr_max"] <= 3e-3 and 0 <= values["dropout"] <= 0.5
        assert isinstance(values["finetune_layers"], int) and 40 <= values["finetune_layers"] <= 154
        assert values["optimizer"] in ("adam", "adamw")
    assert grid_of(read_space("seed=42|1|2,image_size=96|128")) == {"seed": ["42", "1", "2"],
                                                                    "image_size": ["96", "128"]}


def test_the_best_trials_config_is_typed_and_holds_no_path():
    best = best_config({"dropout": 0.25, "optimizer": "adamw", "finetune_layers": 77},
                       ["--preset", "quick", "--data_dir", "/data", "--label_smoothing", "0.1"])
    assert best == {**PRESETS["quick"], "label_smoothing": 0.1, "dropout": 0.25, "optimizer": "adamw",
                    "finetune_layers": 77}


def test_a_bad_space_storage_or_override_is_one_line_and_writes_nothing(tmp_path):
    out = ["--out", str(tmp_path / "tune")]
    result = run_script("tune.py", ["--space", "dropot=0:0.5,dropout=0.5:0.1,optimizer=adam|adam,clr_max=log:0:1",
                                    "--trials", "2", *out], check=False)  # as a user sees it: a line per mistake
    assert result.returncode == 2 and "Traceback" not in result.stderr and "--space has 4 mistakes:" in result.stderr
    for line in ("dropot: no such config field; did you mean dropout?", "dropout=0.5:0.1: the low bound must be "
                 "below", "optimizer=adam|adam: choices must be distinct", "clr_max=log:0:1: a log range needs"):
        assert line in result.stderr
    assert_one_line_error(run_script("tune.py", ["--space", "dropout=0:0.5", "--trials", "2", "--storage",
                                                 "postgresql://tuner:secret@127.0.0.1:9/none", *out], check=False),
                          "--storage postgresql://tuner:***@127.0.0.1:9/none: cannot open it")
    for argv, message in [  # the rest in this process: the same UserError, without starting Python each time
        (["--space", "dropout=0:1", "--trials", "2"], "--space: dropout=1.0 must be in [0, 1)"),
        (["--space", "optimizer=adam|lion", "--trials", "2"], "--space: optimizer='lion' must be one of"),
        (["--space", "image_size=a|64", "--trials", "2"], "--space: --image_size expects int, got 'a'"),
        (["--space", "dropout=0:0.5", "--trials", "2", "--storage", "nosuch://x"], "--storage nosuch://x: cannot"),
        (["--space", "dropout=0:0.5", "--trials", "2", "--storage", str(tmp_path / "missing" / "s.journal")],
         "does not exist"),
        (["--space", "dropout=0:0.5", "--trails", "2"], "unknown option --trails; did you mean --trials?"),
        (["--space", "dropout=0:0.5", "--trials", "2", "--artifacts_dir", "x"], "drop --artifacts_dir"),
        (["--space", "seed=1|2,dropout=0:0.5", "--sampler", "grid"], "a grid needs choices, not ranges: write "
         "dropout=a|b|c"),
    ]:
        with pytest.raises(UserError) as refused:
            tune.main([*argv, *out])
        assert message in str(refused.value) and "\n" not in str(refused.value)
    assert not any(tmp_path.iterdir())


def test_a_folder_of_other_files_is_never_written_into(tmp_path):
    notes = tmp_path / "tune" / "search" / "notes.txt"
    notes.parent.mkdir(parents=True)
    notes.write_text("mine")
    for argv in (["--space", "dropout=0:0.5", "--trials", "1"], ["--report"]):
        with pytest.raises(UserError, match=r"search holds files that are not a study's \(notes.txt\): nothing was"):
            tune.main([*argv, "--out", str(tmp_path / "tune")])
    assert [p.name for p in notes.parent.iterdir()] == ["notes.txt"] and notes.read_text() == "mine"


def test_joining_a_study_with_another_space_is_refused(tmp_path):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    optuna.create_study(study_name="search", storage=storage).set_user_attr("space", {"dropout": "another"})
    assert_one_line_error(run_script("tune.py", ["--space", "dropout=0:0.5", "--trials", "1", "--storage", storage,
                                                 "--out", str(tmp_path)], check=False),
                          "study 'search' was started with space")


def test_the_search_itself_imports_no_framework(tmp_path):
    """Its trials import Keras in processes of their own; the search asks, watches and reports without it."""
    code = f"""
import runpy, sys
sys.argv = ["tune.py", "--space", "dropout=0.1|0.2", "--sampler", "grid", "--timeout_minutes", "0.001",
            "--out", {str(tmp_path / "tune")!r}, *{trial_overrides(tmp_path, 1)!r}]
try:
    runpy.run_path("tune.py", run_name="__main__")
finally:
    print("frameworks imported:", [name for name in ("tensorflow", "keras", "jax") if name in sys.modules])
"""
    result = run_script("-c", [code])
    assert "| cut short |" in result.stdout and "frameworks imported: []" in result.stdout


@contextmanager
def postgresql_server():
    """A PostgreSQL server of its own on 127.0.0.1 (Debian's binaries), stopped and removed after the block."""
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    if not bins:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql; .ci/run does)")
    as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    data = Path(tempfile.mkdtemp(prefix="pg-"))
    if as_owner:
        shutil.chown(data, "postgres")
    port = 55432 + os.getpid() % 1000
    pg_ctl = [*as_owner, str(bins[-1] / "pg_ctl"), "-D", str(data / "db")]
    subprocess.run([*as_owner, str(bins[-1] / "initdb"), "-D", str(data / "db"), "-U", "postgres", "--auth=trust"],
                   check=True, capture_output=True)
    started = subprocess.run([*pg_ctl, "-w", "-l", str(data / "log"), "-o",
                              f"-p {port} -k {data} -c listen_addresses=127.0.0.1", "start"], capture_output=True)
    if started.returncode != 0:
        pytest.skip(f"PostgreSQL did not start: {(data / 'log').read_text()[-300:]}")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*pg_ctl, "-m", "fast", "stop"], capture_output=True)
        shutil.rmtree(data, ignore_errors=True)


@pytest.mark.slow
def test_two_workers_share_one_study_on_a_postgresql_server(tmp_path):
    with postgresql_server() as url:
        argv = ["--space", "dropout=0:0.5", "--trials", "3", "--storage", url, "--sampler", "random",
                "--out", str(tmp_path / "tune"), *trial_overrides(tmp_path, epochs=2)]
        first = start_tune(argv)
        time.sleep(3)  # the first creates the study's tables; the other joins
        second = start_tune(argv)
        finish(first), finish(second)
        trials = trials_of(url)
    assert 3 <= len(trials) <= 4 and all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    assert_each_trial_ran_once(trials, tmp_path / "tune" / "search", epochs=2)
