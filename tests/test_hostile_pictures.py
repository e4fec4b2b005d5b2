"""Every picture gets a result or one line: mutated files of every common format, bombs inside containers, 16-bit
pictures on every path, pipes, duplicate and undecodable file names."""

import io
import json
import os
import struct
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import predict
from config import make_config
from data.folder import load_folder
from data.images import conversion_of, fitted, load_image, to_fashion_mnist
from data.spec import photos
from models.classifier import build_model, classifier_of
from runkit.errors import UserError
from tests.helpers import garment, png_header_only

FORMATS = ("PNG", "JPEG", "GIF", "TIFF")


def encoded(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def mutations(data: bytes, rng: np.random.Generator, count: int):
    """`count` mutants of `data`: bytes flipped, runs overwritten, cut short, repeated, or a chunk dropped."""
    for _ in range(count):
        mutant = bytearray(data)
        kind = rng.integers(5)
        if kind == 0:
            for i in rng.integers(0, len(mutant), rng.integers(1, 9)):
                mutant[i] = rng.integers(256)
        elif kind == 1:
            start = rng.integers(0, len(mutant))
            mutant[start:start + 4] = rng.choice([b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\x7f\xff\xff\xff"])
        elif kind == 2:
            mutant = mutant[:rng.integers(1, len(mutant))]
        elif kind == 3:
            start = rng.integers(0, len(mutant))
            mutant[start:start] = mutant[start:start + rng.integers(1, 64)] * int(rng.integers(2, 5))
        else:
            start = rng.integers(0, len(mutant))
            del mutant[start:start + rng.integers(1, 32)]
        yield bytes(mutant)


@pytest.mark.parametrize("fmt", FORMATS)
def test_mutated_pictures_give_a_result_or_the_projects_one_line_error(fmt):
    rng = np.random.default_rng(FORMATS.index(fmt))
    colour = Image.fromarray(np.stack([garment("t-shirt")] * 3, axis=-1)).resize((40, 40))
    sources = [encoded(colour, fmt), encoded(colour.convert("L"), fmt)]
    conversions = [to_fashion_mnist, conversion_of(photos("folder", ("a", "b"), (32, 32, 3)))]
    failures = 0
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        for n, mutant in enumerate(m for source in sources for m in mutations(source, rng, 500)):
            try:
                image = load_image(io.BytesIO(mutant), f"mutant{n}.{fmt.lower()}", conversions[n % 2])
                assert image.dtype == np.uint8
            except UserError as e:
                failures += 1
                assert str(e).startswith(f"mutant{n}.{fmt.lower()}: ") and "\n" not in str(e)
    assert failures  # the mutations did reach the decoders' error paths
    assert not shown, [str(w.message) for w in shown]  # nor did Pillow's own notes reach the user


def test_bytes_pillow_mistakes_for_a_format_are_one_line():
    for data in (b"GRIB\x00\x00\x00\x00", b"\x00\x00\x01\x00\x01\x00" + b"\xff" * 16, b"BM" + b"\x00" * 60):
        with pytest.raises(UserError, match="odd: not a readable image"):
            load_image(io.BytesIO(data), "odd")


def icon_holding(png: bytes) -> bytes:
    """A Windows icon whose one entry is `png` (icons may hold a PNG of any size)."""
    entry = struct.pack("<BBBBHHII", 0, 0, 0, 0, 1, 32, len(png), 6 + 16)
    return struct.pack("<HHH", 0, 1, 1) + entry + png


def test_a_picture_inside_a_container_is_size_checked_before_it_is_decoded(tmp_path):
    png = png_header_only(tmp_path / "big.png", 8000, 8000).read_bytes()
    with pytest.raises(UserError, match="icon.ico: declares more than the 50,000,000 pixels this accepts"):
        load_image(io.BytesIO(icon_holding(png)), "icon.ico")


def test_sixteen_bit_pictures_convert_alike_on_every_path(tmp_path):
    grey = np.linspace(0, 255, 32 * 32).reshape(32, 32).round().astype(np.uint8)
    path = tmp_path / "deep.png"
    Image.fromarray(grey.astype(np.uint16) * 257).save(path)  # 16-bit grey, the same picture
    assert Image.open(path).mode.startswith("I;16")
    for channels in (1, 3):
        converted = load_image(path, convert=lambda image, c=channels: fitted(image, 32, c))
        np.testing.assert_array_equal(converted[..., 0], grey)  # not 97% white: scaled, not clipped
    for name in ("a", "b"):  # a folder data set of 16-bit pictures: training reads the same pixels
        (tmp_path / "set" / name).mkdir(parents=True)
        for i in range(4):
            deep = np.roll(grey, i, axis=0).astype(np.uint16) * 257
            Image.fromarray(deep).save(tmp_path / "set" / name / f"{i}.png")
    (x_train, _), (x_test, _), _, _, _ = load_folder(str(tmp_path / "set"), None, 0.25)
    assert x_train.shape[1:] == (32, 32, 1)
    assert 100 < np.concatenate([x_train, x_test]).mean() < 155  # about the grey ramp's 127.5


def test_a_named_pipe_is_refused_without_waiting_for_a_writer(tmp_path):
    pipe = tmp_path / "photo.png"
    os.mkfifo(pipe)
    outcome = []
    reader = threading.Thread(target=lambda: outcome.append(pytest.raises(UserError, load_image, pipe)), daemon=True)
    reader.start()
    reader.join(timeout=10)
    assert outcome, "reading a named pipe blocked"
    assert "photo.png: not a regular file (a pipe, socket or device)" in str(outcome[0].value)


@pytest.fixture(scope="module")
def small_export(tmp_path_factory):
    path = tmp_path_factory.mktemp("export") / "model.h5"
    classifier_of(build_model(make_config({"image_size": 32, "weights": None}))).save(path)
    return path


def test_predict_answers_every_file_in_the_order_given_duplicates_and_odd_names_included(tmp_path, small_export,
                                                                                        capsys):
    picture = tmp_path / "shirt.png"
    Image.fromarray(garment("t-shirt")).save(picture)
    odd = tmp_path / os.fsdecode(b"caf\xe9\nwarning: forged.png")  # not UTF-8, and a newline
    odd.write_bytes(picture.read_bytes())
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"GRIB\x00\x00\x00\x00")
    files = [picture, broken, picture, odd]
    with pytest.raises(SystemExit) as status:
        predict.main([*map(str, files), "--model", str(small_export), "--json"])
    assert status.value.code == 1  # one file failed
    out = capsys.readouterr()
    results = json.loads(out.out)
    assert [r["file"] for r in results] == [str(picture), str(broken), str(picture),
                                            str(tmp_path) + "/caf\\udce9\\nwarning: forged.png"]
    assert ["top" in r for r in results] == [True, False, True, True] and results[0]["top"] == results[2]["top"]
    assert [line for line in out.err.splitlines() if line.startswith("error: ")] == [
        f"error: {broken}: not a readable image (UnidentifiedImageError)"]

    predict.main([str(picture), str(odd), str(picture), "--model", str(small_export)])  # as text: no error, exit 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and lines[1].startswith(str(tmp_path) + "/caf\\udce9\\nwarning: forged.png: ")
    assert not any(line.startswith("warning:") for line in lines)
    assert Path(str(odd)).exists()
