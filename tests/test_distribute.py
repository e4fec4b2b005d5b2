"""tf.distribute on one CPU box: MirroredStrategy over two logical CPUs, and two real workers on loopback ports."""

import json
import os
import socket
import subprocess
import sys
import time

import pytest

import config
from models.distribute import describe_worker_failure, make_distribution
from runkit.errors import UserError
from tests.helpers import ROOT, as_argv, assert_one_line_error, run_script, tiny_cnn_run

# Runs train.py with the CPU split into two logical devices (must happen before TensorFlow starts).
TWO_CPUS = ("import runpy, sys, tensorflow as tf; "
            "tf.config.set_logical_device_configuration(tf.config.list_physical_devices('CPU')[0], "
            "[tf.config.LogicalDeviceConfiguration()] * 2); "
            "sys.argv = sys.argv[1:]; runpy.run_path('train.py', run_name='__main__')")
DETERMINISTIC = {"dropout": "0", "rotation": "0", "zoom": "0", "shear": "0", "translation": "0",
                 "horizontal_flip": "false"}  # no randomness, so two ways of computing the same steps agree


def history_of(overrides) -> dict:
    return json.loads((ROOT / overrides["artifacts_dir"] / "history.json").read_text())


def test_config_knows_the_strategies():
    assert config.make_config({"strategy": "mirrored"}).strategy == "mirrored"
    with pytest.raises(UserError, match="strategy='ring' must be one of default, mirrored, multi_worker, data_"):
        config.make_config({"strategy": "ring"})


@pytest.mark.slow
def test_mirrored_over_two_cpus_matches_one_device(tmp_path):
    single = {**tiny_cnn_run(tmp_path), **DETERMINISTIC, "batch_size": "32"}
    run_script("train.py", as_argv(single))
    mirrored = {**single, "strategy": "mirrored", "batch_size": "16", "scale_lr": "false",
                "artifacts_dir": str(tmp_path / "mirrored")}
    out = run_script("-c", [TWO_CPUS, "train.py", *as_argv(mirrored)]).stdout
    assert "best validation accuracy" in out

    one, two = history_of(single), history_of(mirrored)
    assert two["run"]["distribution"] == {"strategy": "mirrored", "replicas": 2, "workers": 1,
                                          "global_batch_size": 32, "lr_scale": 1.0}
    assert one["run"]["distribution"]["replicas"] == 1 and one["steps_per_epoch"] == two["steps_per_epoch"]
    for a, b in zip(one["epochs"], two["epochs"], strict=True):  # the same global batches and LR: the same losses
        assert b["loss"] == pytest.approx(a["loss"], rel=1e-3)
        assert b["val_loss"] == pytest.approx(a["val_loss"], rel=1e-3)


def free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def start_workers(overrides, ports, scratch) -> list[subprocess.Popen]:
    """Two train.py processes forming one cluster; worker 1's temporary folder is `scratch`."""
    cluster = {"worker": [f"localhost:{p}" for p in ports]}
    workers = []
    for index in range(2):
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3",
               "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})}
        if index:
            env["TMPDIR"] = str(scratch)
        workers.append(subprocess.Popen([sys.executable, "train.py", *as_argv(overrides)], cwd=ROOT, env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    return workers


def finish(workers, timeout=300) -> list[tuple[int, str, str]]:
    return [(w.wait(timeout), *w.communicate()) for w in workers]


@pytest.mark.slow
def test_two_workers_train_only_the_chief_writes_and_a_lost_worker_resumes(tmp_path):
    scratch = tmp_path / "worker1_tmp"
    scratch.mkdir()
    overrides = {**tiny_cnn_run(tmp_path), "strategy": "multi_worker", "batch_size": "16", "finetune_epochs": "6"}
    ports = free_ports(2)

    # Kill worker 1 once the chief has finished two epochs: the chief stops with one line.
    chief, worker = start_workers(overrides, ports, scratch)
    history_file = ROOT / overrides["artifacts_dir"] / "history.json"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not (history_file.exists() and len(history_of(overrides)["epochs"]) >= 2):
        time.sleep(0.5)
    worker.kill()
    (code, _, err), _ = finish([chief, worker])
    assert code == 2, err[-3000:]
    assert_one_line_error(subprocess.CompletedProcess([], code, "", err), "another worker stopped")
    done = history_of(overrides)["epochs"]
    assert 2 <= len(done) < 6
    assert any(scratch.rglob("backup")), "worker 1 keeps its resume state in its own temporary folder"

    # Both started again with the same command: the run resumes and completes.
    results = finish(start_workers(overrides, ports, scratch))
    assert [code for code, _, _ in results] == [0, 0], results[0][2][-3000:] + results[1][2][-3000:]
    assert "resuming the unfinished run" in results[0][1] and "the chief saved the run" in results[1][1]
    history = history_of(overrides)
    assert history["completed"] and len(history["epochs"]) == 6
    assert history["epochs"][:len(done)] == done  # continued, not restarted
    assert history["run"]["distribution"] == {"strategy": "multi_worker", "replicas": 2, "workers": 2,
                                              "global_batch_size": 32, "lr_scale": 2.0}
    defaults = config.Config()  # the LR peak: clr_max x finetune_lr_scale x replicas (linear scaling rule)
    assert max(history["lr_per_step"]["finetune"]) == pytest.approx(2 * defaults.clr_max * defaults.finetune_lr_scale,
                                                                    rel=1e-6)
    assert (ROOT / overrides["artifacts_dir"] / "best.weights.h5").is_file()
    left = list(scratch.rglob("*"))
    assert not left, f"worker 1 removes its scratch copy when the run is complete: {left}"


def test_multi_worker_without_tf_config_says_what_is_missing(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(UserError, match="strategy=multi_worker needs the TF_CONFIG environment variable"):
        make_distribution("multi_worker")


def test_a_lost_worker_is_named_without_the_graph_traceback():
    message = ("Graph execution error:\n\nDetected at node CollectiveReduceV2 defined at (most recent call last):\n"
               '  File "train.py", line 69, in <module>\n\nCollective ops is aborted by: Error reported from '
               "/job:worker/task:1: The following tasks are unhealthy (stopped sending heartbeats):\n"
               "/job:worker/replica:0/task:1\nThe tasks have crashed. Check the task logs for an earlier error.")
    assert describe_worker_failure(Exception(message)) == (
        "The following tasks are unhealthy (stopped sending heartbeats): /job:worker/replica:0/task:1")
    assert describe_worker_failure(Exception("Graph execution error:\n\nSocket closed")) == "Socket closed"


def test_data_parallel_is_refused_on_tensorflow():
    with pytest.raises(UserError, match="strategy=data_parallel is Keras' distribution API on JAX, .* use --strategy "
                                        "mirrored on TensorFlow"):
        make_distribution("data_parallel")
