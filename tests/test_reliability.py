"""What a long run meets on a laptop: a diverging loss, two runs on one folder."""

import dataclasses
import errno
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

import evaluate
import export_model
import train
import visualize_results
from config import make_config
from models.callbacks import StopOnDivergence
from models.classifier import build_model
from runkit import cli
from runkit.errors import UserError
from runkit.files import RunFiles, exclusive_use, read_json, write_json
from runkit.machine import machine_info
from runkit.records import RunRecord
from tests.helpers import ROOT, as_argv, assert_one_line_error, run_script, tiny_run, write_synthetic_fashion_mnist


def fit_linear(learning_rate, guard, epochs=3):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 4)).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate), loss="mse")
    return model.fit(x, x.sum(axis=1), batch_size=16, epochs=epochs, verbose=0, callbacks=[guard])


def test_a_diverging_loss_stops_training_at_once_with_what_to_do():
    with pytest.raises(UserError, match=r"training diverged in phase 'finetune', epoch 1, batch \d+ .*; lower it"):
        fit_linear(10.0, StopOnDivergence("finetune", "lower it"))


def test_a_converging_loss_trains_to_the_end():
    assert len(fit_linear(0.01, StopOnDivergence("finetune", "lower it")).history["loss"]) == 3


@pytest.mark.slow
def test_train_py_refuses_to_finish_a_diverged_run(trained_run, tmp_path):
    overrides = {**trained_run, "artifacts_dir": str(tmp_path / "diverged"), "clr_min": "50", "clr_max": "100"}
    result = run_script("train.py", as_argv(overrides), check=False)
    assert_one_line_error(result, "training diverged in phase 'frozen', epoch 1")
    assert "lower --clr_max (now 100)" in result.stderr
    assert not (tmp_path / "diverged" / "history.json").exists()  # no epoch recorded, none finished
    assert not (tmp_path / "diverged" / "best.weights.h5").exists()
    assert_one_line_error(run_script("evaluate.py", ["--artifacts_dir", str(tmp_path / "diverged")], check=False),
                          "run `python train.py` first")


HOLD_THE_LOCK = """
import sys, time
from runkit.files import exclusive_use
with exclusive_use(sys.argv[1]):
    print("held", flush=True)
    time.sleep(120)
"""


def test_a_second_training_on_a_folder_in_use_is_refused_and_leaves_it_untouched(tmp_path):
    overrides = tiny_run(tmp_path)
    folder = tmp_path / "artifacts"
    folder.mkdir()
    (folder / "history.json").write_text('{"epochs": [], "completed": false}')
    (folder / "RUN.json").write_text("{}")
    with exclusive_use(folder), pytest.raises(UserError, match=rf"{folder} is in use by process {os.getpid()} on "):
        train.main(as_argv(overrides))
    assert sorted(os.listdir(folder)) == [".lock", "RUN.json", "history.json"]
    assert (folder / "history.json").read_text() == '{"epochs": [], "completed": false}'


def test_the_lock_of_a_killed_process_is_taken_over(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLD_THE_LOCK, str(tmp_path)], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(UserError, match=f"in use by process {holder.pid} "), exclusive_use(tmp_path):
        pass
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    with exclusive_use(tmp_path):
        assert (tmp_path / ".lock").read_text().startswith(f"process {os.getpid()} ")


@pytest.fixture(scope="module")
def evaluated_once(tmp_path_factory):
    """The files of an evaluated run, written without training (an untrained tiny model)."""
    tmp_path = tmp_path_factory.mktemp("evaluated")
    cfg = make_config({"image_size": 32, "weights": None, "artifacts_dir": str(tmp_path / "run"),
                       "data_dir": str(write_synthetic_fashion_mnist(tmp_path / "data"))})
    files = RunFiles(cfg.artifacts_dir)
    write_json(files.config, dataclasses.asdict(cfg))
    write_json(files.history, {"epochs": [{"phase": "frozen", "epoch": 0, "seconds": 1.0, "val_accuracy": 0.1,
                                           "accuracy": 0.1, "loss": 2.3, "val_loss": 2.3}],
                               "lr_per_step": {}, "completed": True, "steps_per_epoch": 1,
                               "run": RunRecord(command="python train.py", data_source=cfg.data_dir,
                                                machine=machine_info(), train_images=150, parameters=1)})
    build_model(cfg).save_weights(files.best_weights)
    evaluate.main(["--artifacts_dir", cfg.artifacts_dir])
    return files


@pytest.fixture
def evaluated_run(evaluated_once, tmp_path):
    """A copy of the evaluated run, for a test to damage."""
    return RunFiles(shutil.copytree(evaluated_once.root, tmp_path / "run"))


@pytest.mark.parametrize("name, damage, script", [
    ("config.json", lambda text: text[:len(text) // 2], evaluate),
    ("history.json", lambda text: "[]", evaluate),
    ("history.json", lambda text: '{"epochs": []}', visualize_results),
    ("metrics.json", lambda text: text[:100], visualize_results),
    ("best.weights.h5", None, evaluate),
    ("best.weights.h5", None, export_model),
])
def test_a_damaged_artifact_is_named_with_what_to_do(evaluated_run, name, damage, script):
    path = evaluated_run.root / name
    if damage is None:  # a weights file cut short, as a full disk leaves it
        path.write_bytes(path.read_bytes()[:3000])
    else:
        path.write_text(damage(path.read_text()))
    with pytest.raises(UserError, match=rf"{path} is damaged.*(python train.py|python evaluate.py)"):
        script.main(["--artifacts_dir", str(evaluated_run.root)])


def test_a_damaged_history_of_an_unfinished_run_is_named_before_training(evaluated_run):
    config = read_json(evaluated_run.config, "train.py")
    evaluated_run.history.write_text('{"epochs": [], "comp')
    with pytest.raises(UserError, match=rf"{evaluated_run.history} is damaged: run `python train.py --fresh`"):
        train.main(as_argv({**config, "artifacts_dir": str(evaluated_run.root)}))


@pytest.mark.parametrize("script, option", [(train, "--artifacts_dir"), (visualize_results, "--visualizations_dir"),
                                            (export_model, "--exports_dir")])
def test_an_output_path_that_is_a_file_is_refused(evaluated_run, tmp_path, script, option):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    argv = as_argv(read_json(evaluated_run.config, "train.py")) if script is train else []
    with pytest.raises(UserError, match=f"{blocker} is a file, not a folder"):
        script.main([*argv, "--artifacts_dir", str(evaluated_run.root), option, str(blocker)])


def test_a_full_disk_during_a_save_ends_in_one_line_and_keeps_the_earlier_file(tmp_path, monkeypatch, capsys):
    target = tmp_path / "history.json"
    write_json(target, {"epochs": [1]})

    def disk_full(self, text):
        Path.write_bytes(self, text[:10].encode())
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))

    monkeypatch.setattr(Path, "write_text", disk_full)
    with pytest.raises(SystemExit) as exit_status:
        cli.run(lambda argv: write_json(target, {"epochs": [1, 2]}))
    assert exit_status.value.code == 2
    announced, line = capsys.readouterr().err.splitlines()  # what it runs on, then the one error line
    assert announced.startswith("running on ")
    assert line.startswith(f"error: {tmp_path}/.tmp-") and "No space left on device" in line
    monkeypatch.undo()
    assert json.loads(target.read_text()) == {"epochs": [1]}
    assert [p.name for p in tmp_path.iterdir()] == ["history.json"]  # no temporary file left behind


def test_runs_evaluated_at_once_keep_every_row_of_the_results_table(tmp_path):
    """Runs evaluated at once (the trials of a study, say) each append to one table; none may lose another's row."""
    table = tmp_path / "results.csv"
    append = ("import sys\nfrom runkit.files import append_result\n"
              "for i in range(30): append_result(sys.argv[1], {'run': f'{sys.argv[2]}-{i}'})")
    writers = [subprocess.Popen([sys.executable, "-c", append, str(table), name], cwd=ROOT) for name in "abc"]
    assert all(w.wait(timeout=120) == 0 for w in writers)
    rows = table.read_text().splitlines()
    assert rows[0].startswith("date,dataset,run") and len(rows) == 1 + 90
    assert sorted(r.split(",")[2] for r in rows[1:]) == sorted(f"{n}-{i}" for n in "abc" for i in range(30))
