"""Knowledge distillation: the student's targets mix its teachers' probabilities with the labels, its validation
keeps the labels, teachers that saw its validation images are refused, the teachers' probabilities are computed
once per student, and its cost names the teachers'."""

import dataclasses
import json

import numpy as np
import pytest

import evaluate
import train
from config import make_config
from data.idx import load_idx_dataset
from data.pipeline import split_of_run
from models import distillation
from models.classifier import load_trained_classifier
from models.distillation import cached_teacher_probabilities, soft_targets, teacher_configs
from models.runs import trained_run_config
from runkit.errors import UserError
from runkit.files import RunFiles, write_json
from tests.helpers import accuracy_of_saved_predictions, as_argv
from visualizations import model_card

train_make_dataset, train_batches = train.make_dataset, train.EpochBatches  # the real ones, which the test wraps


def test_a_target_is_the_weighted_mean_of_the_teachers_and_the_label():
    teachers = np.array([[0.7, 0.2, 0.1] + [0.0] * 7, [0.1] * 10])
    targets = soft_targets(np.array([1, 3]), teachers, weight=0.25)
    np.testing.assert_allclose(targets[0, :3], [0.175, 0.8, 0.025])
    np.testing.assert_allclose(targets[1, 3], 0.775)
    np.testing.assert_allclose(targets.sum(axis=1), 1, rtol=1e-6)
    np.testing.assert_array_equal(soft_targets(np.array([1, 3]), teachers, weight=0.0).argmax(axis=1), [1, 3])


def test_a_teacher_without_weights_or_that_held_out_other_validation_images_is_refused(tmp_path):
    teacher = tmp_path / "teacher"
    write_json(RunFiles(teacher).config, dataclasses.asdict(make_config({"seed": 1, "artifacts_dir": str(teacher)})))
    student = make_config({"seed": 7, "split_seed": 42, "teachers": str(teacher)})
    with pytest.raises(UserError, match=r"teacher/best.weights.h5 not found: run `python train.py` first"):
        teacher_configs(student)  # not trained yet: refused before the student's run starts
    RunFiles(teacher).best_weights.write_bytes(b"weights")
    with pytest.raises(UserError, match=r"held out other validation images .* --split_seed 42 --val_fraction 0.1"):
        teacher_configs(student)
    write_json(RunFiles(teacher).config, dataclasses.asdict(make_config({"seed": 1, "split_seed": 42})))
    assert [t.seed for t in teacher_configs(student)] == [1]


def test_the_teachers_probabilities_are_computed_once_for_the_same_weights_and_images(tmp_path, monkeypatch):
    teacher = make_config({"artifacts_dir": str(tmp_path / "teacher")})
    weights = RunFiles(teacher.artifacts_dir).best_weights
    weights.parent.mkdir()
    cache, images = tmp_path / "student" / "teacher_probabilities.npz", np.zeros((4, 28, 28), "uint8")
    with pytest.raises(UserError, match=r"teacher/best.weights.h5 not found: run `python train.py` first"):
        cached_teacher_probabilities([teacher], images, cache)
    weights.write_bytes(b"weights")
    calls = []
    monkeypatch.setattr(distillation, "teacher_probabilities",
                        lambda teachers, images: calls.append(len(images)) or np.full((len(images), 10), 0.1))

    first = cached_teacher_probabilities([teacher], images, cache)
    np.testing.assert_array_equal(cached_teacher_probabilities([teacher], images, cache), first)
    assert calls == [4]  # the second call, a resumed student's, read them
    cached_teacher_probabilities([teacher], images[:3], cache)  # other images
    weights.write_bytes(b"retrained weights")  # a retrained teacher
    cached_teacher_probabilities([teacher], images[:3], cache)
    cache.write_bytes(b"damaged")
    cached_teacher_probabilities([teacher], images[:3], cache)
    assert calls == [4, 3, 3, 3]
    assert len(cached_teacher_probabilities([teacher], images[:3], cache)) == 3 and calls == [4, 3, 3, 3]


@pytest.mark.slow
def test_the_student_learns_from_its_teachers_and_records_their_cost(trained_run, tmp_path, monkeypatch):
    """The trained run teaches a student of another seed on the same split, twice over (two teachers)."""
    teacher = trained_run["artifacts_dir"]
    student = {**trained_run, "artifacts_dir": str(tmp_path / "student"), "results_file": str(tmp_path / "r.csv"),
               "seed": "3", "split_seed": "42", "frozen_epochs": "0", "finetune_epochs": "1",  # one phase to compile
               "teachers": f"{teacher},{teacher}", "distill_weight": "0.4"}
    fed = []
    monkeypatch.setattr(train, "EpochBatches", lambda x, y, *a: fed.append(y) or train_batches(x, y, *a))
    monkeypatch.setattr(train, "make_dataset", lambda x, y, *a: fed.append(y) or train_make_dataset(x, y, *a))
    train.main(as_argv(student))

    cfg = trained_run_config(["--artifacts_dir", teacher])
    ((images, labels), _), _ = load_idx_dataset("fashion_mnist", cfg.data_dir)
    (x_train, y_train), (_, y_val) = split_of_run(images, labels, cfg)
    probs = load_trained_classifier(cfg, RunFiles(teacher).best_weights).predict(x_train, verbose=0)
    np.testing.assert_allclose(fed[0], 0.4 * probs + 0.6 * np.eye(10)[y_train], atol=1e-5)
    with np.load(RunFiles(student["artifacts_dir"]).teacher_probabilities) as kept:  # for a resumed student
        np.testing.assert_allclose(kept["probabilities"], probs, atol=1e-5)
    np.testing.assert_array_equal(fed[1], np.eye(10)[y_val])  # validation measures the labels

    evaluate.main(as_argv({"artifacts_dir": student["artifacts_dir"], "results_file": student["results_file"]}))
    metrics = json.loads(RunFiles(student["artifacts_dir"]).metrics.read_text())
    assert [t["run"] for t in metrics["teachers"]] == [teacher, teacher]
    assert all(t["train_minutes"] > 0 for t in metrics["teachers"])
    assert metrics["test_accuracy"] == accuracy_of_saved_predictions(student["artifacts_dir"])

    student_cfg = trained_run_config(["--artifacts_dir", student["artifacts_dir"]])
    history = json.loads(RunFiles(student["artifacts_dir"]).history.read_text())
    card = model_card.render(student_cfg, history, metrics, exports=[])
    assert f"- distilled from 2 teachers ({teacher}, {teacher}), whose " in card
    assert "held out for validation (seed 42)" in card  # the split's seed, not the student's 3

