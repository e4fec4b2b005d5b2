"""CIFAR-10 and CIFAR-100 (Krizhevsky 2009) from the official "python version" archive, or Keras' downloader.

`--data_dir` may hold the archive itself (cifar-10-python.tar.gz, read without unpacking) or its unpacked folder.
"""

import io
import pickle
import tarfile
from pathlib import Path

import numpy as np

from data.datasets import TITLES
from runkit.errors import UserError

LAYOUTS = {  # archive, its folder, training files, test file, meta file, label key, class-name key
    "cifar10": ("cifar-10-python.tar.gz", "cifar-10-batches-py", [f"data_batch_{i}" for i in range(1, 6)],
                "test_batch", "batches.meta", b"labels", b"label_names"),
    "cifar100": ("cifar-100-python.tar.gz", "cifar-100-python", ["train"], "test", "meta", b"fine_labels",
                 b"fine_label_names"),
}
HINT = "download the official archive again (https://www.cs.toronto.edu/~kriz/cifar.html)"


class ArraysOnly(pickle.Unpickler):
    """The archive's files are pickles of dicts of NumPy arrays: refuse anything else a pickle could run."""

    def find_class(self, module, name):
        if module.split(".")[0] == "numpy" and name in ("_reconstruct", "ndarray", "dtype", "scalar"):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not part of a CIFAR file")


def read_pickle(packed: bytes, name: str) -> dict:
    try:
        return ArraysOnly(io.BytesIO(packed), encoding="bytes").load()
    except Exception as e:  # a damaged pickle raises many kinds
        raise UserError(f"{name}: not a CIFAR file ({type(e).__name__}); {HINT}") from None


def archive_reader(name: str, folder: Path):
    """A function from a member's file name to its bytes, from the archive in `folder` or its unpacked folder."""
    archive, inner = LAYOUTS[name][:2]
    for candidate in (folder / inner, folder):
        if (candidate / LAYOUTS[name][3]).is_file():
            return lambda member, folder=candidate: (folder / member).read_bytes(), str(candidate)
    if (folder / archive).is_file():
        try:
            with tarfile.open(folder / archive) as tar:
                members = {Path(m.name).name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
        except (tarfile.TarError, OSError, EOFError) as e:
            raise UserError(f"{folder / archive}: not a readable archive ({type(e).__name__}); {HINT}") from None
        return lambda member: members[member], str(folder / archive)
    raise UserError(f"{folder}: neither {archive} nor its folder {inner}/ is there; put the official archive there")


def load_cifar(name: str, data_dir: str | None):
    """((x_train, y_train), (x_test, y_test)) as uint8 arrays (n, 32, 32, 3), the class names, and the source."""
    if data_dir is None:
        return download(name)
    folder = Path(data_dir).expanduser()
    if not folder.is_dir():
        raise UserError(f"data_dir={data_dir}: no such folder; it must hold {LAYOUTS[name][0]}")
    read, source = archive_reader(name, folder)
    _, _, train_files, test_file, meta_file, label_key, names_key = LAYOUTS[name]

    def split(files):
        images, labels = [], []
        for file in files:
            try:
                batch = read_pickle(read(file), file)
                images.append(np.asarray(batch[b"data"], np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
                labels.append(np.asarray(batch[label_key], np.uint8))
            except (KeyError, FileNotFoundError, ValueError) as e:
                raise UserError(f"{source}: {file} is missing or incomplete ({type(e).__name__}); {HINT}") from None
        return np.concatenate(images), np.concatenate(labels)

    try:
        class_names = tuple(n.decode() for n in read_pickle(read(meta_file), meta_file)[names_key])
    except (KeyError, FileNotFoundError) as e:
        raise UserError(f"{source}: {meta_file} is missing or incomplete ({type(e).__name__}); {HINT}") from None
    return (split(train_files), split([test_file])), class_names, source


def download(name: str):
    import keras  # only the download path needs it

    try:
        (x_train, y_train), (x_test, y_test) = getattr(keras.datasets, name).load_data()
    except Exception as e:  # the downloader raises several kinds of network errors
        raise UserError(f"could not download {TITLES[name]} ({type(e).__name__}); give the folder that holds "
                        f"{LAYOUTS[name][0]} via --data_dir") from None
    return ((x_train, y_train.ravel()), (x_test, y_test.ravel())), None, f"keras.datasets.{name}"
