"""bench.sweep: a grid of runs trained and evaluated, a budget that cuts runs short, bad grids refused."""

import csv
import json

import pytest

from tests.helpers import as_argv, assert_one_line_error, run_script, tiny_run


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
