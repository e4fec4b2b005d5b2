"""A script writes and deletes only what it wrote itself: a folder of a user's files given by mistake is refused
untouched, --fresh removes a run's own files by name, the results table is rewritten only when it is one."""

import dataclasses
import os
from pathlib import Path

import pytest

import evaluate
import export_model
import train
from config import make_config
from inference.export import check_exports_folder
from models.run_folder import remove_run_outputs, start_or_resume
from runkit.errors import UserError
from runkit.files import RunFiles, append_result, check_results_table, claim_run_folder, remove_orphans, write_json
from tests.helpers import as_argv, tiny_run


def snapshot(folder: Path) -> dict:
    """Every file below `folder` with its content, and every folder."""
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None for p in sorted(folder.rglob("*"))}


def users_folder(folder: Path) -> Path:
    """A folder of a user's own notes that happen to share names with a run's files."""
    for name, text in {"notes.md": "# my notes", "config.json": '{"mine": 1}', "metrics.json": "{}",
                       "best.weights.h5": "not weights", "backup/old.txt": "keep", "tensorboard/x.txt": "keep",
                       "deep/.tmp-1-draft.txt": "a draft"}.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def test_train_refuses_a_folder_of_other_files_and_changes_nothing(tmp_path):
    folder = users_folder(tmp_path / "notes")
    before = snapshot(folder)
    for fresh in ([], ["--fresh"]):
        with pytest.raises(UserError, match=r"holds files that are not a training run \(backup, best.weights.h5, "
                                            r"config.json, deep, metrics.json and 2 more\): nothing was changed"):
            train.main(as_argv({**tiny_run(tmp_path), "artifacts_dir": str(folder)}) + fresh)
        assert snapshot(folder) == before


def test_a_new_or_empty_folder_is_marked_as_a_run_and_an_older_run_is_recognised(tmp_path):
    for folder in (tmp_path / "new", tmp_path / "empty"):
        (tmp_path / "empty").mkdir(exist_ok=True)
        claim_run_folder(RunFiles(folder))
        assert RunFiles(folder).marker.is_file()
    older = RunFiles(tmp_path / "older")  # a run from before the marker: its config and history
    write_json(older.config, {"seed": 42})
    write_json(older.history, {"epochs": [], "completed": False})
    (older.root / "my_notes.txt").write_text("kept")
    claim_run_folder(older)
    assert older.marker.is_file() and (older.root / "my_notes.txt").read_text() == "kept"


def a_run_with_a_users_files(root: Path) -> RunFiles:
    files = RunFiles(root)
    claim_run_folder(files)
    for path in (files.config, files.history, files.metrics, files.novelty, files.csv_log, files.best_weights,
                 files.backup / "finetune-3.weights.h5", files.backup / "frozen-1.weights.h5",
                 files.tensorboard / "frozen" / "train" / "events.out.tfevents.1.host",
                 files.tensorboard / "finetune" / "validation" / "events.out.tfevents.2.host"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")
    for name in ("backup/mine.weights.h5", "tensorboard/finetune/notes.txt", "plots/.tmp-1-figure.png", "README"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("the user's")
    return files


def test_fresh_removes_the_runs_own_files_by_name_and_nothing_else(tmp_path):
    files = a_run_with_a_users_files(tmp_path / "run")
    start_or_resume(files, {"seed": 1}, steps_per_epoch=10, fresh=True)
    left = {name for name, content in snapshot(files.root).items() if content is not None}
    assert left == {"RUN.json", "config.json", "backup/mine.weights.h5", "tensorboard/finetune/notes.txt",
                    "plots/.tmp-1-figure.png", "README"}
    assert not (files.tensorboard / "frozen").exists()  # emptied, so removed
    remove_run_outputs(files)  # twice is harmless
    assert (files.root / "backup/mine.weights.h5").read_text() == "the user's"


def test_only_a_dead_writers_temporary_files_in_the_folder_itself_are_removed(tmp_path):
    for name in (".tmp-999999999-history.json", f".tmp-{os.getpid()}-live.json", ".tmp-notes", "sub/.tmp-1-x"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("")
    remove_orphans(tmp_path)
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()) == [
        f".tmp-{os.getpid()}-live.json", ".tmp-notes", "sub/.tmp-1-x"]


def test_the_results_table_is_appended_to_only_when_it_is_one(tmp_path):
    notebook = tmp_path / "notebook.md"
    notebook.write_text("# experiments\n\n| a | b |\n")
    for check in (lambda: check_results_table(notebook), lambda: append_result(notebook, {"date": "today"})):
        with pytest.raises(UserError, match="notebook.md is not a results table .*: it was left as it is"):
            check()
    assert notebook.read_text() == "# experiments\n\n| a | b |\n"
    older = tmp_path / "older.csv"  # a table from before the dataset column
    older.write_text("date,run,changed_config,val_accuracy,test_accuracy,train_minutes,machine\n1,a,,0.9,0.9,1,m\n")
    append_result(older, {"date": "2", "test_accuracy": "0.95"})
    assert older.read_text().splitlines()[0].startswith("date,dataset,run") and len(older.read_text().splitlines()) == 3
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    append_result(empty, {"date": "3"})
    assert empty.read_text().startswith("date,dataset,run")


def a_trained_runs_config(root: Path, **changes) -> list[str]:
    """The command line of later scripts for a folder holding a run's config.json (what they read first)."""
    cfg = dataclasses.replace(make_config({"artifacts_dir": str(root / "run")}), **changes)
    write_json(RunFiles(cfg.artifacts_dir).config, dataclasses.asdict(cfg))
    return ["--artifacts_dir", cfg.artifacts_dir]


def test_evaluate_refuses_a_results_file_that_is_no_table_before_any_work(tmp_path):
    notebook = tmp_path / "notebook.md"
    notebook.write_text("# my notebook\n")
    with pytest.raises(UserError, match="results_file=.*notebook.md is not a results table"):
        evaluate.main(a_trained_runs_config(tmp_path, results_file=str(notebook)))
    assert notebook.read_text() == "# my notebook\n"


def test_export_refuses_a_folder_of_other_files_and_a_saved_model_folder_that_is_none(tmp_path):
    folder = users_folder(tmp_path / "exports")
    before = snapshot(folder)
    with pytest.raises(UserError, match=r"exports_dir=.*exports holds files that are not exports \(backup, "):
        export_model.main(a_trained_runs_config(tmp_path, exports_dir=str(folder)))
    assert snapshot(folder) == before
    exports = tmp_path / "earlier"  # an export's own files, and a saved_model/ that a user filled
    (exports / "saved_model").mkdir(parents=True)
    (exports / "saved_model" / "photo.jpg").write_text("mine")
    (exports / "fashion_mnist_model.h5").write_text("")
    with pytest.raises(UserError, match=r"saved_model is not a SavedModel \(no saved_model.pb\)"):
        check_exports_folder(exports)
    (exports / "saved_model" / "saved_model.pb").write_text("")
    check_exports_folder(exports)  # an exports folder with its SavedModel: written again
    (exports / "exports.json").write_text("{}")
    (exports / "notes.txt").write_text("beside a real export: left alone, not refused")
    check_exports_folder(exports)
