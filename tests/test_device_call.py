"""bench/device_call.sh as the GPU machine runs it, rehearsed on the CPU on Keras-on-JAX with a tiny setting."""

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.helpers import OUTPUT_PATHS, ROOT, as_argv, tiny_cnn_run

# Its runs have wall-time limits, as on the GPU: never two rehearsals at once, on one worker one after the other.
DEVICE_CALL = pytest.mark.xdist_group("device_call")


def device_call(part: str, tmp_path) -> set[str]:
    """bench/device_call.sh as the GPU machine runs it, on the CPU with a tiny setting: the names it packed."""
    run = tiny_cnn_run(tmp_path)  # the call's plumbing is what is checked: the small CNN compiles in seconds on JAX
    env = {**os.environ, "PYTHON": sys.executable, "DEVPACK": run["data_dir"], "OUT": str(tmp_path / "out"),
           "DEVICE_RUNS": str(tmp_path / "runs")}
    tiny = as_argv({k: v for k, v in run.items() if k not in OUTPUT_PATHS + ("data_dir",)})
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
    assert {"runs/student/metrics.json", "runs/teachers/study.db", "runs/teachers/trials.csv"} <= names
    metrics = json.loads((tmp_path / "runs" / "student" / "metrics.json").read_text())
    teachers = sorted(str(path) for path in (tmp_path / "runs" / "teachers").glob("trial-*/artifacts"))
    assert sorted(t["run"] for t in metrics["teachers"]) == teachers and len(teachers) == 3
    assert (metrics["config"]["seed"], metrics["config"]["split_seed"]) == (7, 42)
    configs = [json.loads((Path(teacher) / "config.json").read_text()) for teacher in teachers]
    assert sorted(c["seed"] for c in configs) == [1, 2, 42] and {c["split_seed"] for c in configs} == {42}
