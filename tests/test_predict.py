import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import predict
from config import make_config
from data.images import load_image, to_fashion_mnist
from data.spec import FASHION_MNIST_CLASSES as CLASS_NAMES
from models.classifier import build_model, classifier_of
from runkit.errors import UserError
from tests.helpers import ROOT, garment, large_photo, png_header_only, run_script, synthetic_split


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
        assert image[14, 14] == 255 and image[0, 14] == 255 and image[27, 14] == 255  # trimmed: 28 tall, bright
        assert image[:, :7].max() == 0 and image[:, -7:].max() == 0  # its 92x40 box keeps its aspect, on black
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


def test_hostile_files_get_one_line_each_and_real_pictures_a_prediction(tmp_path, capsys):
    model_path = tmp_path / "model.h5"
    classifier_of(build_model(make_config({"image_size": 32, "weights": None}))).save(model_path)
    garment = np.asarray(garment_on(background=255, foreground=35))
    Image.fromarray(garment.astype(np.uint16) * 257).save(tmp_path / "sixteen_bit.png")
    garment_on(background=255, foreground=35, colour=True).convert("CMYK").save(tmp_path / "cmyk.jpg")
    frames = [garment_on(255, 35).convert("P"), garment_on(0, 220).convert("P")]
    frames[0].save(tmp_path / "animated.gif", save_all=True, append_images=frames[1:])
    hostile = {
        "bomb.png": png_header_only(tmp_path / "bomb.png", 30_000, 30_000),
        "huge.png": png_header_only(tmp_path / "huge.png", 8_000, 8_000),
        "folder": tmp_path / "a_folder",
        "cut.png": tmp_path / "cut.png",
        "notes.txt": tmp_path / "notes.txt",
    }
    hostile["folder"].mkdir()
    garment_on(255, 35).save(hostile["cut.png"])
    hostile["cut.png"].write_bytes(hostile["cut.png"].read_bytes()[:60])
    hostile["notes.txt"].write_text("not an image")
    pictures = [tmp_path / name for name in ("sixteen_bit.png", "cmyk.jpg", "animated.gif")]

    with pytest.raises(SystemExit) as status:
        predict.main([*map(str, pictures), *map(str, hostile.values()), "--model", str(model_path), "--json"])
    assert status.value.code == 1
    out = capsys.readouterr()
    by_file = {Path(r["file"]).name: r for r in json.loads(out.out)}
    assert all(len(by_file[p.name]["top"]) == 3 for p in pictures)
    assert out.err.startswith("running on ") and "Keras" in out.err.splitlines()[0]
    errors = dict(line.split(": ", 2)[1:] for line in out.err.splitlines() if line.startswith("error: "))
    assert {Path(path).name for path in errors} == set(hostile) - {"folder"} | {"a_folder"}
    assert "a decompression bomb" in errors[str(hostile["bomb.png"])]
    assert "declares more than the 50,000,000 pixels this accepts" in errors[str(hostile["huge.png"])]
    assert "a folder, not a picture" in errors[str(hostile["folder"])]
    assert errors[str(hostile["cut.png"])].startswith("not a readable image")


def test_sixteen_bit_transparent_and_exif_rotated_pictures_are_seen_as_their_8_bit_upright_selves():
    garment = garment_on(background=255, foreground=35)
    expected = to_fashion_mnist(garment)
    sixteen = Image.fromarray(np.asarray(garment).astype(np.uint16) * 257)
    np.testing.assert_array_equal(to_fashion_mnist(sixteen), expected)
    backdrop = np.asarray(garment) > 128
    cutout = Image.fromarray(np.stack([np.where(backdrop, 0, np.asarray(garment))] * 3 + [np.where(backdrop, 0, 255)],
                                      axis=-1).astype(np.uint8), "RGBA")  # a cut-out: transparent black backdrop
    np.testing.assert_allclose(to_fashion_mnist(cutout), expected, atol=2)
    lying = garment.transpose(Image.Transpose.ROTATE_90)  # stored sideways, with EXIF saying "rotate back"
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: the camera was turned 90 degrees clockwise
    buffer = io.BytesIO()
    lying.save(buffer, "PNG", exif=exif)
    np.testing.assert_allclose(to_fashion_mnist(Image.open(buffer)), expected, atol=2)


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_a_large_picture_is_shrunk_before_it_costs_memory_and_time(tmp_path, suffix):
    """A 7000x7000 picture (49 megapixels): at most 300 MB more memory than the process had, in a few
    seconds (under one alone; CI shares its cores), and the image of the same scene drawn at 700x700 px."""
    large = large_photo(tmp_path / f"large{suffix}", 7000)
    code = f"""
import resource, time
from data.images import load_image
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
load_image({str(large)!r})
print(time.perf_counter() - started, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024)
"""
    seconds, extra_mb = map(float, run_script("-c", [code]).stdout.split())
    assert extra_mb < 300 and seconds < 4
    same_scene = load_image(large_photo(tmp_path / f"small{suffix}", 700)).astype(int)
    assert np.abs(load_image(large).astype(int) - same_scene).mean() < 4


def tiny_onnx_model(path) -> Path:
    """An ONNX file with export_model.py's contract (raw pixels (n, 28, 28, 1) in, 10 probabilities out), made
    with the onnx package alone: a softmax over one linear layer."""
    from onnx import TensorProto, helper, save

    weights = np.random.default_rng(0).normal(0, 0.01, (784, 10)).astype("float32")
    graph = helper.make_graph(
        [helper.make_node("Flatten", ["pixels"], ["flat"]), helper.make_node("MatMul", ["flat", "w"], ["logits"]),
         helper.make_node("Softmax", ["logits"], ["probs"])], "tiny",
        [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, [None, 28, 28, 1])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [None, 10])],
        [helper.make_tensor("w", TensorProto.FLOAT, weights.shape, weights.ravel())])
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    return Path(path)


def test_a_prediction_through_onnx_imports_neither_tensorflow_nor_keras(tmp_path):
    """What makes one picture take under a second from the shell (TensorFlow's import alone takes seconds)."""
    model, picture = tiny_onnx_model(tmp_path / "model.onnx"), tmp_path / "shirt.png"
    Image.fromarray(garment("t-shirt")).save(picture)
    code = f"""
import runpy, sys
sys.argv = ["predict.py", {str(picture)!r}, "--model", {str(model)!r}, "--json"]
try:
    runpy.run_path({str(ROOT / "predict.py")!r}, run_name="__main__")
finally:
    print("frameworks imported:", [name for name in ("tensorflow", "keras", "jax") if name in sys.modules],
          file=sys.stderr)
"""
    result = run_script("-c", [code])
    assert "frameworks imported: []" in result.stderr
    [answer] = json.loads(result.stdout)
    assert len(answer["top"]) == 3 and answer["top"][0]["class"] in CLASS_NAMES
    assert "ONNX Runtime" in result.stderr
