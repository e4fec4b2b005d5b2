"""CIFAR-10 and CIFAR-100 (Krizhevsky 2009) from the official "python version" archive, or Keras' downloader.

`--data_dir` may hold the archive itself (cifar-10-python.tar.gz, read without unpacking) or its unpacked folder.
"""

import io
import pickle
import tarfile
import zlib
from pathlib import Path

import numpy as np

from data.spec import TITLES
from runkit.errors import UserError

LAYOUTS = {  # archive, its folder, training files, test file, meta file, label key, class-name key, classes
    "cifar10": ("cifar-10-python.tar.gz", "cifar-10-batches-py", [f"data_batch_{i}" for i in range(1, 6)],
                "test_batch", "batches.meta", b"labels", b"label_names", 10),
    "cifar100": ("cifar-100-python.tar.gz", "cifar-100-python", ["train"], "test", "meta", b"fine_labels",
                 b"fine_label_names", 100),
}
PIXELS = 32 * 32 * 3
MAX_BYTES = {"data_batch": 10_000 * PIXELS, "test": 10_000 * PIXELS, "train": 50_000 * PIXELS}  # the images alone
SLACK = 2**21  # a file's labels, file names and pickle framing beside its images
MAX_META_BYTES = 2**16
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


def max_bytes(member: str) -> int:
    """The most a member of the archive can hold: its images' bytes and some slack, or a meta file's size."""
    images = next((size for prefix, size in MAX_BYTES.items() if member.startswith(prefix)), None)
    return MAX_META_BYTES if images is None else images + SLACK


def archive_reader(name: str, folder: Path):
    """A function from a member's file name to its bytes, from the archive in `folder` or its unpacked folder; only
    the members the loader needs are read, each refused if it is larger than such a file can be."""
    archive, inner, train_files, test_file, meta_file = LAYOUTS[name][:5]
    needed = {*train_files, test_file, meta_file}

    def within_size(member: str, size: int, source) -> None:
        if size > max_bytes(member):
            raise UserError(f"{source}: {member} holds {size:,} bytes, more than a CIFAR file can "
                            f"({max_bytes(member):,}); {HINT}")

    for candidate in (folder / inner, folder):
        if (candidate / test_file).is_file():
            def read_file(member, folder=candidate):
                within_size(member, (folder / member).stat().st_size, folder)
                return (folder / member).read_bytes()
            return read_file, str(candidate)
    if (folder / archive).is_file():
        try:
            with tarfile.open(folder / archive) as tar:
                members = {}
                for info in tar:  # the headers, one by one: a member's content is read only if it is needed
                    member = Path(info.name).name
                    if info.isfile() and member in needed and member not in members:
                        within_size(member, info.size, folder / archive)
                        members[member] = tar.extractfile(info).read()
        except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
            raise UserError(f"{folder / archive}: not a readable archive ({type(e).__name__}); {HINT}") from None
        return lambda member: members[member], str(folder / archive)
    raise UserError(f"{folder}: neither {archive} nor its folder {inner}/ is there; put the official archive there")


def class_names_of(meta: dict, key: bytes, count: int, source: str) -> tuple[str, ...]:
    """The meta file's class names: `count` distinct, non-empty, printable UTF-8 texts, or a one-line error."""
    names = meta[key]
    try:
        decoded = tuple(n.decode() for n in names)
    except (AttributeError, UnicodeDecodeError, TypeError):
        raise UserError(f"{source}: its class names are not text; {HINT}") from None
    if len(decoded) != count or len(set(decoded)) != count or not all(n and n.isprintable() for n in decoded):
        raise UserError(f"{source}: its meta file does not name {count} distinct classes in printable text; {HINT}")
    return decoded


def load_cifar(name: str, data_dir: str | None):
    """((x_train, y_train), (x_test, y_test)) as uint8 arrays (n, 32, 32, 3), the class names, and the source."""
    if data_dir is None:
        return download(name)
    folder = Path(data_dir).expanduser()
    if not folder.is_dir():
        raise UserError(f"data_dir={data_dir}: no such folder; it must hold {LAYOUTS[name][0]}")
    read, source = archive_reader(name, folder)
    _, _, train_files, test_file, meta_file, label_key, names_key, classes = LAYOUTS[name]

    def split(files):
        images, labels = [], []
        for file in files:
            try:
                batch = read_pickle(read(file), file)
                images.append(np.asarray(batch[b"data"], np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
                labels.append(np.asarray(batch[label_key], np.int64).reshape(-1))
            except (KeyError, FileNotFoundError, ValueError, TypeError) as e:
                raise UserError(f"{source}: {file} is missing or incomplete ({type(e).__name__}); {HINT}") from None
            if len(labels[-1]) != len(images[-1]):
                raise UserError(f"{source}: {file} has {len(labels[-1])} labels for {len(images[-1])} images; {HINT}")
            if labels[-1].size and not 0 <= labels[-1].min() <= labels[-1].max() < classes:
                outside = labels[-1][(labels[-1] < 0) | (labels[-1] >= classes)][0]
                raise UserError(f"{source}: {file} has label {outside}, outside the {classes} classes 0-{classes - 1}; "
                                f"{HINT}")
        return np.concatenate(images), np.concatenate(labels).astype(np.uint8)

    try:
        class_names = class_names_of(read_pickle(read(meta_file), meta_file), names_key, classes, source)
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
