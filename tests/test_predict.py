import json

import numpy as np
import pytest
from PIL import Image

import predict
from config import make_config
from data.images import to_fashion_mnist
from models.classifier import build_model, classifier_of
from runkit.errors import UserError
from tests.helpers import run_script, synthetic_split


def garment_on(background: int, foreground: int, size=(112, 56), colour=False) -> Image.Image:
    """A tall bright (or dark) rectangle on a uniform background, like a product photo."""
    height, width = size
    pixels = np.full((height, width), background, np.uint8)
    pixels[10:-10, 8:-8] = foreground
    image = Image.fromarray(pixels)
    return image.convert("RGB") if colour else image


def test_any_picture_becomes_a_light_on_dark_28x28_image():
    light_on_dark = to_fashion_mnist(garment_on(background=0, foreground=220))
    dark_on_light = to_fashion_mnist(garment_on(background=255, foreground=35, colour=True))
    for image in (light_on_dark, dark_on_light):
        assert image.shape == (28, 28) and image.dtype == np.uint8
        assert image[0].max() < 20 and image[14, 14] > 200  # black background, bright garment
        assert image[:, :5].max() < 20 and image[:, -5:].max() < 20  # 112x56 keeps its aspect: side margins
    np.testing.assert_allclose(light_on_dark, dark_on_light, atol=2)


@pytest.mark.slow
def test_predict_classifies_files_and_reports_bad_ones(tmp_path):
    model_path = tmp_path / "model.h5"
    model = classifier_of(build_model(make_config({"image_size": 32, "weights": None})))
    model.save(model_path)
    images, _ = synthetic_split(per_class=1, seed=0)
    Image.fromarray(images[0]).save(tmp_path / "a.png")
    garment_on(background=255, foreground=30, colour=True).save(tmp_path / "b.jpg")
    (tmp_path / "notes.txt").write_text("not an image")

    files = [str(tmp_path / name) for name in ("a.png", "b.jpg", "notes.txt")]
    result = run_script("predict.py", [*files, "--model", str(model_path), "--json", "--top_k", "2"], check=False)
    assert result.returncode == 1  # one file failed, the others were classified
    assert result.stderr.strip().splitlines()[-1] == f"error: {files[2]}: not a readable image (UnidentifiedImageError)"
    by_file = {r["file"]: r for r in json.loads(result.stdout)}
    assert "error" in by_file[files[2]]
    top = by_file[files[0]]["top"]
    assert len(top) == 2 and top[0]["probability"] >= top[1]["probability"]
    expected = model.predict(images[:1, ..., None], verbose=0)[0]
    assert top[0]["probability"] == np.float32(expected.max()).item()


def test_predict_without_an_exported_model_says_what_to_run(tmp_path):
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(tmp_path / "a.png")
    with pytest.raises(UserError, match="run `python export_model.py` first"):
        predict.main([str(tmp_path / "a.png"), "--model", str(tmp_path / "none.h5")])
