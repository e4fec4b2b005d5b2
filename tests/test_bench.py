"""The benchmark script stays runnable: a tiny setting, checked for the four figures (not for timings)."""

import json
import sys

import pytest

from config import make_config
from models.classifier import build_model, classifier_of
from runkit.errors import UserError
from runkit.processes import json_from_child
from tests.helpers import SMALL_CNN, as_argv, run_script, write_synthetic_fashion_mnist


@pytest.mark.slow
def test_benchmark_writes_all_four_figures(tmp_path):
    export = tmp_path / "model.h5"
    classifier_of(build_model(make_config({"image_size": 32, "weights": None}))).save(export)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "metrics.json").write_text(json.dumps({
        "train_command": "python train.py --preset quick", "test_accuracy": 0.93, "train_minutes": 18.6,
        "machine": {"cpu_count": 2, "gpus": [], "backend": "tensorflow", "tensorflow": "2.21.0"}}))
    out = tmp_path / "results.json"
    argv = ["--sizes", "32", "--steps", "2", "--repeats", "2", "--warmup", "2", "--export", str(export),
            "--run_dir", str(run_dir), "--out", str(out),
            *as_argv({"data_dir": write_synthetic_fashion_mnist(tmp_path / "data"), "batch_size": 16,
                      **SMALL_CNN})]
    result = run_script("bench.benchmark", argv)
    assert "pipeline/cached" in result.stdout

    results = json.loads(out.read_text())
    row = results["training"]["32"]
    for feed in ("pipeline", "cached", "pipeline_xla"):
        rates = row[feed]["images_per_s"]
        assert 0 < rates["min"] <= rates["median"] <= rates["max"]
        assert row[feed]["peak_rss_mb"] > 100  # TensorFlow alone takes more than this
    assert f"{'train 32px pipeline/cached (median)':44} {row['ratio']:29.3f}" in result.stdout
    assert row["naive_dataset_mb"] == 200 * 32 * 32 * 3 * 4 / 1e6  # 200 synthetic training images, float32
    assert results["inference"]["latency_ms_one_image"]["median"] > 0
    assert results["inference"]["latency_ms_one_image_tf_function"]["median"] > 0
    assert results["inference"]["images_per_s_batch_256"]["median"] > 0
    assert results["accuracy_per_minute"]["accuracy_points_per_minute"] == 93 / 18.6
    assert results["machine"]["cpu_count"] >= 1


@pytest.mark.slow
def test_benchmark_says_what_is_missing(tmp_path):
    argv = ["--sizes", "--export", str(tmp_path / "no.h5"), "--run_dir", str(tmp_path),
            "--out", str(tmp_path / "r.json")]
    run_script("bench.benchmark", argv)
    results = json.loads((tmp_path / "r.json").read_text())
    assert "run export_model.py first" in results["inference"]["skipped"]
    assert "run train.py and evaluate.py first" in results["accuracy_per_minute"]["skipped"]


def test_a_measurement_that_dies_silently_is_one_line():
    killed = [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"]  # as the OOM killer
    with pytest.raises(UserError, match=r"^benchmark step pipeline failed: exit -9, nothing on stderr$"):
        json_from_child(killed, "benchmark step pipeline")
    said = [sys.executable, "-c", "import sys; print('partial'); sys.exit('out of memory')"]
    with pytest.raises(UserError, match=r"^a step failed: out of memory$"):
        json_from_child(said, "a step")
    assert json_from_child([sys.executable, "-c", "print('log'); print('{\"x\": 1}')"], "a step") == {"x": 1}
