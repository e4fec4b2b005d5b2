"""bench.sweep: a grid of runs trained and evaluated, a budget that cuts runs short, bad grids refused."""

import csv
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.helpers import OUTPUT_PATHS, ROOT, as_argv, assert_one_line_error, run_script, tiny_run


def shared(tmp_path) -> list[str]:
    """A tiny run's overrides (data, sizes, results table) for every run of the sweep."""
    overrides = tiny_run(tmp_path)
    return as_argv({k: v for k, v in overrides.items() if k not in ("artifacts_dir", "visualizations_dir",
                                                                     "exports_dir")})


@pytest.mark.slow
def test_a_grid_is_trained_evaluated_and_tabled_and_a_second_call_skips_what_is_done(tmp_path):
    out = tmp_path / "sweep"
    argv = ["--grid", "finetune_epochs=1,2", "--out", str(out), "--", *shared(tmp_path)]
    result = run_script("bench.sweep", argv)
    summary = json.loads((out / "sweep.json").read_text())
    assert [r["run"] for r in summary["runs"]] == ["finetune_epochs-1", "finetune_epochs-2"]
    assert [r["status"] for r in summary["runs"]] == ["done", "done"]
    for row in summary["runs"]:
        metrics = json.loads((out / row["run"] / "artifacts" / "metrics.json").read_text())
        assert row["test_accuracy"] == metrics["test_accuracy"] and metrics["config"]["finetune_epochs"] == int(
            row["overrides"]["finetune_epochs"])
        assert row["val_accuracy"] is not None and row["train_minutes"] > 0
    with open(tmp_path / "results.csv") as f:
        table = list(csv.DictReader(f))
    assert [float(r["test_accuracy"]) for r in table] == [r["test_accuracy"] for r in summary["runs"]]
    assert "| finetune_epochs-2 | done |" in result.stdout

    again = run_script("bench.sweep", argv)
    assert "2 runs (2 already done)" in again.stdout and "started" not in again.stdout

    # Cut short while it was being evaluated: evaluated now, its training kept.
    trained = out / "finetune_epochs-2" / "artifacts"
    history = (trained / "history.json").read_text()
    (trained / "metrics.json").unlink()
    again = run_script("bench.sweep", argv)
    assert "2 runs (1 already done)" in again.stdout and "finetune_epochs-2: trained before; evaluating" in again.stdout
    assert (trained / "metrics.json").exists() and (trained / "history.json").read_text() == history


@pytest.mark.slow
def test_runs_past_the_budget_are_cut_short_never_reported_as_finished(tmp_path):
    out = tmp_path / "sweep"
    result = run_script("bench.sweep", ["--grid", "seed=1,2", "--budget_minutes", "0.03", "--out", str(out), "--",
                                        *shared(tmp_path)])
    statuses = {r["run"]: r["status"] for r in json.loads((out / "sweep.json").read_text())["runs"]}
    assert statuses == {"seed-1": "cut short", "seed-2": "not started"}  # training alone takes longer than 2 s
    assert not (tmp_path / "results.csv").exists()  # only evaluated runs add rows
    assert "| seed-1 | cut short | - | - |" in result.stdout


def test_a_bad_grid_or_field_is_refused_before_anything_starts(tmp_path):
    assert_one_line_error(run_script("bench.sweep", ["--grid", "image_size", "--out", str(tmp_path)], check=False),
                          "--grid 'image_size': write NAME=VALUE1,VALUE2")
    assert_one_line_error(run_script("bench.sweep", ["--grid", "imagesize=64,96", "--out", str(tmp_path)],
                                     check=False), "unknown option --imagesize; did you mean --image_size?")
    assert not any(tmp_path.iterdir())


# Its runs have wall-time limits, as on the GPU: never two rehearsals at once, on one worker one after the other.
DEVICE_CALL = pytest.mark.xdist_group("device_call")


def device_call(part: str, tmp_path) -> set[str]:
    """bench/device_call.sh as the GPU machine runs it, on the CPU with a tiny setting: the names it packed."""
    data = tiny_run(tmp_path)["data_dir"]
    env = {**os.environ, "PYTHON": sys.executable, "DEVPACK": data, "OUT": str(tmp_path / "out"),
           "DEVICE_RUNS": str(tmp_path / "runs")}
    tiny = as_argv({**{k: v for k, v in tiny_run(tmp_path).items() if k not in OUTPUT_PATHS + ("data_dir",)},
                    "frozen_epochs": "0"})  # one phase, one compile of each step: the call's plumbing is checked
    result = subprocess.run(["bash", str(ROOT / "bench" / "device_call.sh"), part, *tiny], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    with tarfile.open(tmp_path / "out" / f"device_{part}.tar.gz") as packed:
        return set(packed.getnames())


@pytest.mark.slow
@DEVICE_CALL
def test_the_device_call_trains_its_three_speed_runs_on_jax_and_packs_them(tmp_path):
    names = device_call("speed", tmp_path)
    runs = ("float32_b128", "bf16_spe8_b128", "bf16_spe8_b512")
    assert {f"runs/{run}/history.json" for run in runs} <= names and "runs/device.txt" in names
    for run, precision, batch in zip(runs, ("off", "mixed_bfloat16", "mixed_bfloat16"), (32, 32, 512), strict=True):
        history = json.loads((tmp_path / "runs" / run / "history.json").read_text())
        config = json.loads((tmp_path / "runs" / run / "config.json").read_text())
        assert history["completed"] and history["run"]["machine"]["backend"] == "jax"
        assert (config["mixed_precision"], config["batch_size"]) == (precision, batch)


@pytest.mark.slow
@DEVICE_CALL
def test_the_device_call_distills_three_teachers_into_a_student_of_another_seed(tmp_path):
    names = device_call("distill", tmp_path)
    assert {"runs/student/metrics.json", "runs/teachers/sweep.json"} <= names
    metrics = json.loads((tmp_path / "runs" / "student" / "metrics.json").read_text())
    teachers = sorted(str(tmp_path / "runs" / "teachers" / f"seed-{seed}" / "artifacts") for seed in (1, 2, 42))
    assert sorted(t["run"] for t in metrics["teachers"]) == teachers
    assert (metrics["config"]["seed"], metrics["config"]["split_seed"]) == (7, 42)
    for teacher in teachers:
        assert json.loads((Path(teacher) / "config.json").read_text())["split_seed"] == 42


def test_the_sweep_itself_imports_no_framework(tmp_path):
    """Its runs import Keras in processes of their own; the sweep starts, tables and stops them without it."""
    code = f"""
import runpy, sys
sys.argv = ["bench.sweep", "--grid", "seed=1", "--out", {str(tmp_path / "sweep")!r}, "--budget_minutes", "0.001",
            "--", *{shared(tmp_path)!r}]
try:
    runpy.run_module("bench.sweep", run_name="__main__")
finally:
    print("frameworks imported:", [name for name in ("tensorflow", "keras", "jax") if name in sys.modules])
"""
    result = run_script("-c", [code])
    assert "| seed-1 | cut short |" in result.stdout and "frameworks imported: []" in result.stdout
