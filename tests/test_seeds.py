"""bench/seeds.py: mean ± std over the seeds of one setting, from evaluate.py's metrics files."""

import dataclasses
import json
import statistics

import pytest

from config import Config
from tests.helpers import assert_one_line_error, run_script


def write_run(folder, seed, test, val, no_tta=None, old_format=False, **changes):
    """metrics.json as evaluate.py writes it, the single-view accuracy inside; or, for a run evaluated before
    that (`old_format`), in a metrics_no_tta.json beside it."""
    config = {**dataclasses.asdict(Config()), "seed": seed, "artifacts_dir": str(folder), **changes}
    folder.mkdir(parents=True)
    metrics = {"config": config, "test_accuracy": test, "best_val_accuracy": val, "train_minutes": 10.0 + seed}
    if no_tta is not None and old_format:
        (folder / "metrics_no_tta.json").write_text(json.dumps({**metrics, "test_accuracy": no_tta}))
    elif no_tta is not None:
        metrics["test_accuracy_by_view"] = {"flip_averaged": test, "single_view": no_tta}
    (folder / "metrics.json").write_text(json.dumps(metrics))
    return str(folder)


def test_mean_and_sample_std_over_seeds(tmp_path):
    runs = [write_run(tmp_path / f"s{seed}", seed, test, 0.95, no_tta=test - 0.002, old_format=seed == 2)
            for seed, test in ((42, 0.93), (1, 0.94), (2, 0.95))]  # both ways of recording the single view
    out = tmp_path / "seeds.json"
    result = run_script("bench.seeds", [*runs, "--out", str(out)])
    summary = json.loads(out.read_text())
    assert summary["stats"]["test_accuracy"]["mean"] == pytest.approx(0.94)
    assert summary["stats"]["test_accuracy"]["std"] == pytest.approx(statistics.stdev([0.93, 0.94, 0.95]))  # n-1: 0.01
    assert summary["stats"]["test_accuracy_no_tta"]["mean"] == pytest.approx(0.938)
    assert [r["seed"] for r in summary["runs"]] == [42, 1, 2]
    assert "| mean ± std | 0.9400 ± 0.0100 | 0.9380 ± 0.0100 | 0.9500 ± 0.0000 |" in result.stdout


def test_no_tta_column_only_when_every_run_has_it(tmp_path):
    runs = [write_run(tmp_path / "a", 1, 0.93, 0.95, no_tta=0.92), write_run(tmp_path / "b", 2, 0.94, 0.95)]
    result = run_script("bench.seeds", runs)
    assert "no_tta" not in result.stdout.splitlines()[0]


@pytest.mark.parametrize("second, message", [
    (dict(seed=2, image_size=64), "differ in more than the seed: image_size"),
    (dict(seed=1), "two runs share a seed"),
])
def test_refuses_runs_that_are_not_seeds_of_one_setting(tmp_path, second, message):
    first = write_run(tmp_path / "a", 1, 0.93, 0.95)
    seed = second.pop("seed")
    result = run_script("bench.seeds", [first, write_run(tmp_path / "b", seed, 0.94, 0.95, **second)], check=False)
    assert_one_line_error(result, message)


def test_one_line_error_for_a_run_not_evaluated(tmp_path):
    result = run_script("bench.seeds", [write_run(tmp_path / "a", 1, 0.93, 0.95), str(tmp_path / "b")], check=False)
    assert_one_line_error(result, "metrics.json not found: run `python evaluate.py` first")
