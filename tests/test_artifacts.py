import json
import os
import signal
import subprocess
import sys
import time

import pytest

from runkit.errors import UserError
from runkit.files import append_result, atomic_path, read_json, write_json
from runkit.machine import describe_machine, describe_machines, machine_info
from tests.helpers import ROOT

SLOW_WRITER = """
import time
from runkit.files import atomic_path
with atomic_path({target!r}) as tmp:
    with open(tmp, "w") as f:
        for i in range(10_000):
            f.write("new content line\\n")
            f.flush()
            time.sleep(0.001)
"""


def test_a_writer_killed_midway_leaves_the_previous_file(tmp_path):
    target = tmp_path / "metrics.json"
    write_json(target, {"test_accuracy": 0.9})
    writer = subprocess.Popen([sys.executable, "-c", SLOW_WRITER.format(target=str(target))], cwd=ROOT)
    deadline = time.monotonic() + 30
    while not list(tmp_path.glob(".tmp-*")) and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)  # well inside the write
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    assert json.loads(target.read_text()) == {"test_accuracy": 0.9}


def test_a_failed_write_keeps_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "history.json"
    write_json(target, {"epochs": [1]})
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("{half")
        raise RuntimeError("crash")
    assert json.loads(target.read_text()) == {"epochs": [1]}
    assert list(tmp_path.iterdir()) == [target]


def test_missing_and_damaged_artifacts_name_the_script_to_run(tmp_path):
    with pytest.raises(UserError, match="run `python train.py` first"):
        read_json(tmp_path / "history.json", "train.py")
    (tmp_path / "metrics.json").write_text("{trunc")
    with pytest.raises(UserError, match="damaged: run `python evaluate.py` to write it again"):
        read_json(tmp_path / "metrics.json", "evaluate.py")


def test_results_table_gets_one_header_and_a_row_per_run(tmp_path):
    table = tmp_path / "results" / "runs.csv"
    append_result(table, {"run": "a", "test_accuracy": "0.91"})
    append_result(table, {"run": "b", "test_accuracy": "0.92"})
    lines = table.read_text().splitlines()
    assert lines[0].startswith("date,dataset,run,") and len(lines) == 3
    assert lines[2].split(",")[2] == "b"


def test_machine_info_names_what_ran_the_numbers():
    info = machine_info()
    assert info["backend"] == "tensorflow" and info["tensorflow"] and info["cpu_count"] >= 1
    assert describe_machine(info).startswith(f"{info['cpu_count']} CPU cores, GPU: ")
    jax_box = {"cpu_count": 16, "gpus": ["NVIDIA H100 80GB HBM3"], "backend": "jax", "jax": "0.11.2"}
    assert describe_machine(jax_box) == "16 CPU cores, GPU: NVIDIA H100 80GB HBM3, JAX 0.11.2"
    assert describe_machines(info, info) == describe_machine(info)
    assert describe_machines(jax_box, info) == (f"trained on 16 CPU cores, GPU: NVIDIA H100 80GB HBM3, JAX 0.11.2; "
                                                f"evaluated on {describe_machine(info)}")


def test_an_atomic_write_reaches_the_disk_before_and_after_its_rename(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
                        or real_fsync(fd))
    monkeypatch.setattr(os, "replace", lambda a, b: events.append(("rename", str(b))) or real_replace(a, b))
    target = tmp_path / "history.json"
    write_json(target, {"epochs": []})
    assert [kind for kind, _ in events] == ["fsync", "rename", "fsync"]
    assert events[0][1].startswith(str(tmp_path / ".tmp-")) and events[1][1] == str(target)
    assert events[2][1] == str(tmp_path)  # the folder, so the rename itself survives a power cut
