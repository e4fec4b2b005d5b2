"""bench.robustness: each corruption changes the images as seeded, and the script reports each one's accuracy."""

import json

import numpy as np
import pytest

from config import make_config
from data.datasets import load_dataset
from data.pipeline import split_of_run
from evaluation.corruptions import CORRUPTIONS, corrupted, suite_accuracies
from models.classifier import build_model, classifier_of
from models.runs import saved_run_config
from tests.helpers import run_script, synthetic_split, write_synthetic_fashion_mnist
from visualizations.model_card import robustness_section


def test_each_corruption_keeps_the_shape_changes_the_images_and_repeats_with_its_seed():
    images, _ = synthetic_split(3, 0)
    for name in CORRUPTIONS:
        seen = corrupted(images, name, seed=0)
        assert seen.shape == images.shape and seen.dtype == np.uint8, name
        assert np.mean(seen != images) > 0.01, name  # it did something
        np.testing.assert_array_equal(seen, corrupted(images, name, seed=0), err_msg=name)
    assert not np.array_equal(corrupted(images, "gaussian noise", 0), corrupted(images, "gaussian noise", 1))


def test_each_picture_is_corrupted_on_its_own_whatever_its_neighbours_in_the_batch():
    images, _ = synthetic_split(3, 0)
    other = images.copy()
    other[1:] = images[1:][::-1] // 2 + 100  # same first picture, other neighbours
    for name in CORRUPTIONS:
        np.testing.assert_array_equal(corrupted(images, name, 0)[0], corrupted(other, name, 0)[0], err_msg=name)


def test_a_rotation_turns_the_garment_and_a_shift_moves_it_with_black_coming_in():
    bar = np.zeros((1, 28, 28), np.uint8)
    bar[0, 4:24, 13:15] = 255  # upright
    tilted = corrupted(bar, "rotate 20-30 deg", 0)[0]
    rows = np.flatnonzero(tilted.max(axis=1) > 128)
    cols_at = [np.flatnonzero(tilted[r] > 128).mean() for r in (rows[0], rows[-1])]
    assert 6 < abs(cols_at[0] - cols_at[1]) < 12  # 20-30 degrees over about 18 rows
    moved = corrupted(np.full((1, 28, 28), 255, np.uint8), "shift 4 px", 0)[0]
    assert (moved == 0).sum() == 28 * 28 - 24 * 24


def test_the_suite_reports_each_corruption_and_the_mean():
    images, labels = synthetic_split(2, 0)

    def predict(x):  # right on clean images only: the bar row of each class, where nothing else is bright
        rows = (x[..., 0] > 200).sum(axis=2).argmax(axis=1)
        return np.eye(10)[np.clip((rows - 2) // 2, 0, 9)]

    result = suite_accuracies(predict, images, labels)
    assert result["clean"] == 1.0 and set(result["corruptions"]) == set(CORRUPTIONS)
    assert result["mean"] == pytest.approx(np.mean(list(result["corruptions"].values())))
    assert result["corruptions"]["contrast x0.35"] < 0.5  # the bar no longer stands out above 200
    sizes = []
    in_threes = suite_accuracies(lambda x: sizes.append(len(x)) or predict(x), images, labels, chunk=3)
    assert in_threes == result and max(sizes) == 3 < len(images)  # memory bounded, same answers


def test_the_model_cards_robustness_section_says_the_mean_the_weakest_and_the_strongest():
    result = {"clean": 0.93, "mean": 0.7, "images": 10000, "seed": 0,
              "corruptions": {"outlines": 0.3, "stripes": 0.4, "fog": 0.9, "shear 0.3": 0.91, "noise": 0.5}}
    section = "\n".join(robustness_section(result))
    assert section.startswith("## Robustness to corrupted pictures")
    assert "on the 10,000 test images, each under 5" in section
    assert "mean accuracy **0.7000** (clean 0.9300" in section and "Weakest: outlines 0.3000, stripes 0.4000" in section
    assert "strongest: shear 0.3 0.9100, fog 0.9000" in section


@pytest.mark.slow
def test_the_script_writes_its_results_file_and_nothing_beside_the_model(tmp_path):
    export = tmp_path / "model.h5"
    classifier_of(build_model(make_config({"image_size": 32, "weights": None}))).save(export)
    card = "# Model card\n\n## How it was evaluated\n\ntext\n"
    (tmp_path / "MODEL_CARD.md").write_text(card)  # export_model.py's: a measurement only reads artifacts
    out = tmp_path / "robustness.json"
    run_script("bench.robustness", ["--model", str(export), "--data_dir", str(write_synthetic_fashion_mnist(
        tmp_path / "data")), "--count", "20", "--out", str(out)])
    result = json.loads(out.read_text())
    assert result["images"] == 20 and len(result["corruptions"]) == len(CORRUPTIONS)
    assert all(0 <= v <= 1 for v in result["corruptions"].values()) and "machine" in result
    assert (tmp_path / "MODEL_CARD.md").read_text() == card


@pytest.mark.slow
def test_the_script_scores_a_runs_own_validation_images_to_choose(tmp_path, trained_run):
    export = tmp_path / "model.h5"
    classifier_of(build_model(make_config({"image_size": 32, "weights": None}))).save(export)
    out = tmp_path / "robustness.json"
    run_script("bench.robustness", ["--model", str(export), "--validation_of", trained_run["artifacts_dir"],
                                    "--out", str(out)])
    result = json.loads(out.read_text())
    cfg = saved_run_config(trained_run["artifacts_dir"])
    _, (_, val_labels) = split_of_run(*load_dataset(cfg).train, cfg)
    assert result["split"] == "validation" and result["images"] == len(val_labels) > 0
    assert result["data_source"].startswith(f"validation split of {trained_run['artifacts_dir']}")
