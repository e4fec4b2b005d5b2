""""Not recognised": the outliers the score is fitted on, the score in the model, the non-garment set and its bench."""

import io

import numpy as np
import pytest
from PIL import Image

from config import make_config
from data.images import load_image
from evaluation.non_garments import non_garments, split
from inference.novelty import generated_outliers, probabilities_and_features, with_score
from inference.runtime import recognised
from models.classifier import build_model, classifier_of, with_flip_averaging
from runkit.files import write_json
from tests.helpers import assert_one_line_error, run_script, synthetic_split


def test_generated_outliers_are_seeded_stretched_images_of_the_input_s_shape():
    images, _ = synthetic_split(per_class=2, seed=0)
    images = images[..., None]
    first, again = (generated_outliers(images, np.random.default_rng(3)) for _ in range(2))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, generated_outliers(images, np.random.default_rng(4)))
    assert first.shape == images.shape and first.dtype == np.uint8
    assert set(first.max(axis=(1, 2, 3))) <= {0, 255}  # each stretched to 0-255 (a flat one all black)
    assert not any(np.array_equal(o, i) for o, i in zip(first, images, strict=True))  # none is its garment
    colour = generated_outliers(np.repeat(images[:8], 3, axis=-1)[:, :24, :20], np.random.default_rng(0))
    assert colour.shape == (8, 24, 20, 3)


def test_the_score_is_one_unit_on_the_mean_pooled_features_and_leaves_the_probabilities_alone():
    classifier = classifier_of(build_model(make_config({"image_size": 32, "weights": None})))
    export = with_flip_averaging(classifier)
    pixels = np.random.default_rng(0).integers(0, 256, (4, 28, 28, 1)).astype("float32")
    rng = np.random.default_rng(1)
    record = {"weights": rng.normal(size=1280).tolist(), "bias": 0.5, "threshold": 0.0}
    probs, scores = with_score(export, record).predict(pixels, verbose=0)
    np.testing.assert_allclose(probs, export.predict(pixels, verbose=0), atol=1e-6)
    single = probabilities_and_features(classifier)  # one view's probabilities and pooled features
    features = [single.predict(view, verbose=0)[1] for view in (pixels, pixels[:, :, ::-1])]
    assert scores.shape == (4, 1)
    np.testing.assert_allclose(scores[:, 0], np.mean(features, axis=0) @ record["weights"] + 0.5, rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(recognised(np.array([[0.5], [1.0], [1.5]]), {"threshold": 1.0}), [False, True, True])


def test_the_non_garment_set_is_readable_and_split_by_source():
    pictures = non_garments(seed=0)
    assert [p.data for p in pictures[:5]] == [p.data for p in non_garments(seed=0)[:5]]  # seeded
    choose, report = split(pictures)
    assert len(choose) + len(report) == len(pictures) > 300
    assert not {p.group for p in choose} & {p.group for p in report}  # a photo and its crops stay on one side
    families = {"photo", "face", "digit", "text", "shape", "flat", "noise", "texture"}
    assert {p.family for p in choose} == {p.family for p in report} == families
    for p in pictures[::37]:
        assert load_image(io.BytesIO(p.data), p.group).shape == (28, 28)


@pytest.mark.slow
def test_bench_unknown_refuses_an_export_without_the_score_and_compare_on_onnx(tmp_path):
    model = tmp_path / "model.h5"
    model.write_bytes(b"")
    write_json(tmp_path / "exports.json", {"model": "model.h5"})
    assert_one_line_error(run_script("bench.unknown", ["--model", str(model)], check=False),
                          f"the exports.json beside {model} has no 'not recognised' score")
    onnx = tmp_path / "model.onnx"
    onnx.write_bytes(b"")
    novelty = {"weights": [1.0], "bias": 0.0, "threshold": 0.0}
    write_json(tmp_path / "exports.json", {"model": "model.h5", "novelty": novelty})
    assert_one_line_error(run_script("bench.unknown", ["--model", str(onnx), "--compare"], check=False),
                          "--compare needs the model's layers: give the .h5 or .keras export")


@pytest.mark.parametrize("size", [(40, 40), (300, 120)])
def test_a_flat_picture_becomes_black_as_the_generated_flat_outliers_are(tmp_path, size):
    path = tmp_path / "flat.png"
    Image.new("RGB", size, (200, 30, 90)).save(path)
    assert load_image(path).max() == 0
