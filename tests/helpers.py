"""What the tests share: synthetic Fashion-MNIST as real IDX files, a tiny run's config, the scripts run as a
user runs them, and the one-line error check."""

import gzip
import io
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from data.images import load_image
from evaluation.photos import render_photo

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SHARED_DATA = SHARED / "fashion-mnist"
SHARED_WEIGHTS = SHARED / "weights" / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5"


def write_idx(path, array: np.ndarray) -> Path:
    """Write a uint8 array as a gzipped IDX file (the format of the official files)."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())
    return Path(path)


def synthetic_split(per_class: int, seed: int):
    """Images whose class is visible (a bright bar at a class-specific row), so a model can learn it."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(10, dtype=np.uint8), per_class)
    rng.shuffle(labels)
    images = rng.integers(0, 40, size=(len(labels), 28, 28), dtype=np.uint8)
    for image, label in zip(images, labels, strict=True):
        image[2 + 2 * label: 4 + 2 * label, 4:24] = 230
    return images, labels


def write_synthetic_fashion_mnist(folder: Path) -> Path:
    """The four Fashion-MNIST file names with 20 train and 5 test images per class."""
    folder.mkdir(parents=True, exist_ok=True)
    for split, per_class, seed in (("train", 20, 0), ("t10k", 5, 1)):
        images, labels = synthetic_split(per_class, seed)
        write_idx(folder / f"{split}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{split}-labels-idx1-ubyte.gz", labels)
    return folder


OUTPUT_PATHS = ("artifacts_dir", "visualizations_dir", "exports_dir", "results_file")  # where a run writes


def tiny_run(root: Path) -> dict:
    """Command-line overrides for a run that trains in seconds on synthetic data written under `root`."""
    return {
        "data_dir": str(write_synthetic_fashion_mnist(root / "data")), "weights": "none", "image_size": "32",
        "batch_size": "32", "frozen_epochs": "1", "finetune_epochs": "1", "clr_step_epochs": "0.5",
        "val_fraction": "0.25", "artifacts_dir": str(root / "artifacts"), "visualizations_dir": str(root / "vis"),
        "exports_dir": str(root / "exports"), "results_file": str(root / "results.csv"),
    }


SMALL_CNN = {"architecture": "cnn", "image_size": "28", "frozen_epochs": "0", "cnn_filters": "4"}  # builds in a second


def tiny_cnn_run(root: Path) -> dict:
    """tiny_run's overrides for the small CNN: for the tests where the network is not the point (a process
    that trains it traces and compiles in a fraction of MobileNetV2's time, most of all on JAX)."""
    return {**tiny_run(root), **SMALL_CNN}


def as_argv(overrides: dict) -> list[str]:
    return [item for name, value in overrides.items() for item in (f"--{name}", str(value))]


def run_script(script: str, argv, check=True, env=None, cwd=ROOT):
    """Run one of the project's scripts as a user would (`train.py`, or a module such as `bench.seeds`), from
    `cwd`; fail with its output if it fails."""
    target = [str(ROOT / script)] if script.endswith(".py") else [script] if script == "-c" else ["-m", script]
    pythonpath = {"PYTHONPATH": str(ROOT)} if cwd != ROOT else {}  # `-m` and `-c` find the project's modules
    result = subprocess.run([sys.executable, *target, *argv], cwd=cwd, capture_output=True, text=True,
                            env={**os.environ, **pythonpath, **(env or {})}, timeout=600)
    if check:
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def accuracy_of_saved_predictions(artifacts_dir) -> float:
    """The test accuracy that evaluate.py's test_predictions.npz shows, counted again here."""
    with np.load(Path(artifacts_dir) / "test_predictions.npz") as saved:
        return float(np.mean(saved["probs"].argmax(axis=1) == saved["labels"]))


def assert_one_line_error(result, message):
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and message in last, result.stderr[-2000:]


SILHOUETTES = {  # polygons reaching 28 pixels along their longest edge
    "t-shirt": [(0, 4), (8, 0), (20, 0), (27, 4), (25, 11), (21, 9), (21, 27), (7, 27), (7, 9), (3, 11)],
    "trouser": [(8, 0), (20, 0), (21, 27), (16, 27), (14, 9), (12, 27), (7, 27)],
    "sneaker": [(0, 3), (10, 0), (17, 4), (27, 7), (27, 12), (0, 12)],
    "bag": [(0, 0), (27, 0), (27, 19), (0, 19)],
}


def garment(name: str) -> np.ndarray:
    """A light, textured garment on black, as the data set stores them: centred (an odd margin's extra
    pixel above and left), its brightest pixel 255."""
    canvas = Image.new("L", (28, 28))
    ImageDraw.Draw(canvas).polygon(SILHOUETTES[name], fill=255)
    texture = 150 + 105 * np.sin(np.arange(28)[:, None] / 3.0) * np.cos(np.arange(28)[None, :] / 5.0) ** 2
    drawn = np.asarray(canvas, np.float32) * texture
    drawn = (drawn * 255 / drawn.max()).round().astype(np.uint8)
    rows, cols = np.flatnonzero(drawn.any(axis=1)), np.flatnonzero(drawn.any(axis=0))
    shift = [(29 - len(extent)) // 2 - extent[0] for extent in (rows, cols)]  # the extents have no gaps
    return np.roll(drawn, shift, axis=(0, 1))


def large_photo(path, side: int) -> Path:
    """A flat grey backdrop of side x side pixels with a dark t-shirt over half of it (a phone photo's size, a
    PNG of a few hundred KB), written as PNG or JPEG by its suffix."""
    canvas = Image.new("RGB", (side, side), (200, 200, 200))
    scale = side / 2 / 28
    outline = [(side / 4 + x * scale, side / 4 + y * scale) for x, y in SILHOUETTES["t-shirt"]]
    ImageDraw.Draw(canvas).polygon(outline, fill=(40, 40, 40))
    canvas.save(path)
    return Path(path)


def png_header_only(path, width, height):
    """A PNG that declares its size and holds no pixels: what a decompression bomb shows before it is decoded."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
                     + chunk(b"IEND", b""))
    return path


def as_photo(image: np.ndarray, seed: int) -> np.ndarray:
    """The image photographed (bench.photos' rendering), read back as predict.py and demo.py read files."""
    return load_image(io.BytesIO(render_photo(image, np.random.default_rng(seed))))
