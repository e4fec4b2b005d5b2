"""The JSON records the scripts hand to each other (runkit/records.py): one definition each, checked when read and
when written."""

import json

import pytest

from runkit.errors import UserError
from runkit.records import ExportsRecord, MetricsRecord, NoveltyRecord, RunRecord, read_record, run_of, write_record

NOVELTY = NoveltyRecord(weights=[0.5, -1.0], bias=0.0, threshold=1.5)
RUN = RunRecord(command="python train.py", data_source="data/", machine={}, train_images=150, parameters=1000)


def read_back(tmp_path, kind, record):
    path = tmp_path / "record.json"
    path.write_text(json.dumps(record))
    return read_record(path, kind, "evaluate.py")


@pytest.mark.parametrize("kind, record", [(NoveltyRecord, NOVELTY), (RunRecord, RUN), (ExportsRecord, {}),
                                          (ExportsRecord, {"model": "m.h5", "novelty": NOVELTY})])
def test_a_record_reads_back_as_written(tmp_path, kind, record):
    assert read_back(tmp_path, kind, record) == record


@pytest.mark.parametrize("kind, record, words", [
    (NoveltyRecord, {"bias": 0.0, "threshold": 1.0}, "no field 'weights'"),
    (NoveltyRecord, {**NOVELTY, "weights": [1.0, None]}, "its 'weights' is not a list of finite numbers"),
    (NoveltyRecord, {**NOVELTY, "threshold": float("nan")}, "its 'threshold' is not a finite number"),
    (NoveltyRecord, {**NOVELTY, "bias": True}, "its 'bias' is not a finite number"),
    (RunRecord, {**RUN, "train_images": 1.5}, "its 'train_images' is not a whole number"),
    (RunRecord, {**RUN, "command": ["python"]}, "its 'command' is not a text"),
    (ExportsRecord, {"novelty": {**NOVELTY, "weights": "1"}}, "record.json's novelty is damaged: its 'weights'"),
    (MetricsRecord, {"test_accuracy": 0.9}, "no field 'test_loss'"),
    (RunRecord, [RUN], "record.json is damaged"),  # read_json refuses what is not an object
])
def test_a_field_missing_or_of_another_type_is_one_line_naming_it(tmp_path, kind, record, words):
    with pytest.raises(UserError, match="record.json") as caught:
        read_back(tmp_path, kind, record)
    assert words in str(caught.value) and "run `python evaluate.py` to write it again" in str(caught.value)


def test_a_history_without_its_run_record_names_train_py():
    with pytest.raises(UserError, match=r"history.json's run is damaged: not a RunRecord; run `python train.py`"):
        run_of({"epochs": []}, "history.json")
    assert run_of({"run": RUN}, "history.json") == RUN


def test_a_writer_that_drifts_from_the_definition_fails_and_writes_nothing(tmp_path):
    with pytest.raises(TypeError, match="no field 'bias'"):
        write_record(tmp_path / "novelty.json", NoveltyRecord, {"weights": [1.0], "threshold": 0.0})
    assert not (tmp_path / "novelty.json").exists()
    write_record(tmp_path / "novelty.json", NoveltyRecord, NOVELTY)
    assert json.loads((tmp_path / "novelty.json").read_text()) == NOVELTY
