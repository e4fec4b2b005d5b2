"""Fashion-MNIST and MNIST from IDX `.gz` files (both ship the same four): a local folder, Debian's package
(Fashion-MNIST), or Keras' downloader."""

import math
import os
import sys
import zlib
from pathlib import Path

import numpy as np

from data.spec import TITLES
from runkit.errors import UserError

FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
# Where each is looked for before downloading: the folder in an environment variable, then a system folder.
ENV_VARS = {"fashion_mnist": "FASHION_MNIST_DIR", "mnist": "MNIST_DIR"}
SYSTEM_DIRS = {"fashion_mnist": "/usr/share/datasets/fashion-mnist"}  # apt-get install dataset-fashion-mnist
NUM_CLASSES = 10
UINT8_TYPE_CODE = 0x08
HINT = "re-download the file or point --data_dir at a good copy"


def read_idx(path: str | os.PathLike, ndim: int) -> np.ndarray:
    """Parse one gzipped IDX file of unsigned bytes with `ndim` dimensions."""
    path = Path(path)
    try:
        return parse_idx(path.read_bytes(), ndim, str(path))
    except FileNotFoundError:
        raise UserError(f"{path}: file not found; {HINT}") from None
    except OSError as e:  # a folder in its place, no permission, ...
        raise UserError(f"{path}: cannot be read ({e.strerror}); {HINT}") from None


def parse_idx(packed: bytes, ndim: int, name: str = "IDX data") -> np.ndarray:
    """The array in gzipped IDX bytes; any defect raises a UserError naming `name`. Inflates the header, then no
    more than the data it declares and one byte (to tell a file that holds more): a small file that inflates to
    gigabytes costs no memory."""
    # zlib rather than gzip.open: gzip returns what it could read of a truncated file without complaint.
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    header = 4 + 4 * ndim
    try:
        raw = inflater.decompress(packed, header)
        if len(raw) == header and raw[:4] == bytes([0, 0, UINT8_TYPE_CODE, ndim]):
            shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
            expected = math.prod(shape)  # Python ints: a corrupt header cannot overflow
            raw += inflater.decompress(inflater.unconsumed_tail, min(expected + 1, sys.maxsize))  # zlib's limit
    except zlib.error as e:
        raise UserError(f"{name}: not a readable .gz file ({e}); {HINT}") from None
    if len(raw) < header and not inflater.eof:
        raise UserError(f"{name}: not a readable .gz file (it ends early: truncated download?); {HINT}")
    if len(raw) < header:
        raise UserError(f"{name}: too short for an IDX header ({len(raw)} bytes); {HINT}")
    if raw[:4] != bytes([0, 0, UINT8_TYPE_CODE, ndim]):
        raise UserError(
            f"{name}: wrong IDX magic number {raw[:4].hex()} "
            f"(expected 0000{UINT8_TYPE_CODE:02x}{ndim:02x}); {HINT}"
        )
    if len(raw) - header > expected:
        raise UserError(f"{name}: holds more than its header's {shape} = {expected} bytes of data; {HINT}")
    if not inflater.eof:
        raise UserError(f"{name}: not a readable .gz file (it ends early: truncated download?); {HINT}")
    if len(raw) - header != expected:
        raise UserError(
            f"{name}: header says {shape} = {expected} bytes of data, file has {len(raw) - header}; {HINT}"
        )
    return np.frombuffer(raw, np.uint8, offset=header).reshape(shape)


def load_split(folder: str | os.PathLike, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Images (n, 28, 28, 1) and labels (n,), uint8, of the 'train' or 'test' split, checked for consistency."""
    folder = Path(folder)
    images_path = folder / FILES[f"{split}_images"]
    labels_path = folder / FILES[f"{split}_labels"]
    images = read_idx(images_path, ndim=3)
    labels = read_idx(labels_path, ndim=1)
    if images.shape[1:] != (28, 28):
        raise UserError(f"{images_path}: images are {images.shape[1:]}, the data set's are (28, 28); {HINT}")
    if len(images) != len(labels):
        raise UserError(
            f"{labels_path}: {len(labels)} labels for {len(images)} images in {images_path.name}; {HINT}"
        )
    if labels.size and labels.max() >= NUM_CLASSES:
        raise UserError(f"{labels_path}: label {labels.max()} is outside 0-9; {HINT}")
    return images[..., np.newaxis], labels


def find_data_dir(name: str, data_dir: str | None) -> Path | None:
    """The folder to read: the one given, else the environment variable's, else the system's; None: download."""
    env_var = ENV_VARS[name]
    for candidate, origin in ((data_dir, "data_dir"), (os.environ.get(env_var), env_var)):
        if candidate:
            folder = Path(candidate).expanduser()
            if not folder.is_dir():
                raise UserError(f"{origin}={candidate}: no such folder; it must hold the four {TITLES[name]} .gz files")
            missing = [file for file in FILES.values() if not (folder / file).is_file()]
            if missing:
                raise UserError(f"{folder}: missing {', '.join(missing)}; put the four {TITLES[name]} .gz files there")
            return folder
    system = SYSTEM_DIRS.get(name)
    if system and all((Path(system) / file).is_file() for file in FILES.values()):
        return Path(system)
    return None


def load_idx_dataset(name: str, data_dir: str | None = None):
    """((x_train, y_train), (x_test, y_test)) of 'fashion_mnist' or 'mnist' as uint8 arrays, and where they came
    from."""
    folder = find_data_dir(name, data_dir)
    if folder is not None:
        return (load_split(folder, "train"), load_split(folder, "test")), str(folder)
    import keras  # only the download path needs it

    try:
        (x_train, y_train), (x_test, y_test) = getattr(keras.datasets, name).load_data()
    except Exception as e:  # the downloader raises several kinds of network errors
        raise UserError(
            f"could not download {TITLES[name]} ({type(e).__name__}); "
            f"give a folder with the four .gz files via --data_dir or ${ENV_VARS[name]}"
        ) from None
    return ((x_train[..., None], y_train), (x_test[..., None], y_test)), f"keras.datasets.{name}"
