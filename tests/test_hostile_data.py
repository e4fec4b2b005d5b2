"""Data files cannot exhaust memory, and labels or class names outside what a data set can hold are one line."""

import io
import pickle
import struct
import tarfile
import tracemalloc
import zlib

import numpy as np
import pytest

from data.cifar import load_cifar
from data.idx import parse_idx
from runkit.errors import UserError
from tests.test_datasets import cifar_batch, write_cifar10

BOMB_MB = 200


class Zeros(io.RawIOBase):
    """`size` zero bytes, read as a file: a large member streamed into an archive without being held in memory."""

    def __init__(self, size):
        self.left = size

    def readable(self):
        return True

    def readinto(self, buffer):
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n


def peak_mb(function) -> float:
    """The most memory Python allocated while `function` ran, in MB."""
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def gzip_bomb(header: bytes, zeros_mb: int) -> bytes:
    """A .gz of `header` followed by that many MB of zeros (it packs to a few hundred KB)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [packer.compress(header)] + [packer.compress(bytes(2**20)) for _ in range(zeros_mb)]
    return b"".join([*parts, packer.flush()])


def test_an_idx_file_that_inflates_past_its_header_is_refused_within_its_declared_size():
    bomb = gzip_bomb(struct.pack(">BBBBIII", 0, 0, 8, 3, 10, 28, 28), BOMB_MB)  # says 10 images, holds 200 MB
    assert len(bomb) < 2**20
    with pytest.raises(UserError, match=r"bomb.gz: holds more than its header's \(10, 28, 28\) = 7840 bytes"):
        parse_idx(bomb, 3, "bomb.gz")
    assert peak_mb(lambda: pytest.raises(UserError, parse_idx, bomb, 3, "bomb.gz")) < 5


def test_a_cifar_archive_is_read_only_for_its_members_each_within_its_size(tmp_path):
    write_cifar10(tmp_path / "ok", as_archive=True)
    with tarfile.open(tmp_path / "ok" / "cifar-10-python.tar.gz") as tar:
        members = [(info, tar.extractfile(info).read()) for info in tar]

    def archive(folder, extra_name, extra_size):
        folder.mkdir()
        with tarfile.open(folder / "cifar-10-python.tar.gz", "w:gz") as tar:
            for info, content in members:
                if not info.name.endswith(extra_name):
                    tar.addfile(info, io.BytesIO(content))
            extra = tarfile.TarInfo(f"cifar-10-batches-py/{extra_name}")
            extra.size = extra_size
            tar.addfile(extra, io.BufferedReader(Zeros(extra_size)))
        return str(folder)

    beside = archive(tmp_path / "beside", "readme.html", BOMB_MB * 2**20)  # a large member the loader needs not
    assert (tmp_path / "beside" / "cifar-10-python.tar.gz").stat().st_size < 2**20
    assert peak_mb(lambda: load_cifar("cifar10", beside)) < 20
    oversized = archive(tmp_path / "oversized", "data_batch_1", BOMB_MB * 2**20)  # data_batch_1 of zeros
    with pytest.raises(UserError, match=r"data_batch_1 holds 209,715,200 bytes, more than a CIFAR file can"):
        load_cifar("cifar10", oversized)


@pytest.mark.parametrize("name, labels, words", [
    ("cifar10", [42] * 10, "test_batch has label 42, outside the 10 classes 0-9"),
    ("cifar10", [-1] * 10, "test_batch has label -1, outside the 10 classes 0-9"),
    ("cifar100", [300] * 10, "test has label 300, outside the 100 classes 0-99"),
])
def test_labels_outside_the_classes_are_refused(tmp_path, name, labels, words):
    if name == "cifar10":
        write_cifar10(tmp_path, as_archive=False)
        folder, key = tmp_path / "cifar-10-batches-py", b"labels"
    else:
        folder, key = tmp_path / "cifar-100-python", b"fine_labels"
        folder.mkdir()
        (folder / "train").write_bytes(pickle.dumps(cifar_batch(20, 0, key)))
        (folder / "meta").write_bytes(pickle.dumps({b"fine_label_names": [f"c{i}".encode() for i in range(100)]}))
    test_name = "test_batch" if name == "cifar10" else "test"
    (folder / test_name).write_bytes(pickle.dumps({**cifar_batch(10, 1, key), key: labels}))
    with pytest.raises(UserError, match=words):
        load_cifar(name, str(tmp_path))


FORGED = [b"cat\nwarning: x"] + [b"%d" % i for i in range(9)]


@pytest.mark.parametrize("names", [list(range(10)), [b"\xff\xfe"] * 10, FORGED, [b"a"] * 10, [b"a", b"b"]])
def test_class_names_that_are_not_text_are_refused(tmp_path, names):
    write_cifar10(tmp_path, as_archive=False)
    (tmp_path / "cifar-10-batches-py" / "batches.meta").write_bytes(pickle.dumps({b"label_names": names}))
    with pytest.raises(UserError, match="class names are not text|does not name 10 distinct classes in printable"):
        load_cifar("cifar10", str(tmp_path))


def test_the_real_layout_still_loads(tmp_path):
    write_cifar10(tmp_path / "cifar", as_archive=True)
    ((x_train, y_train), _), names, _ = load_cifar("cifar10", str(tmp_path / "cifar"))
    assert x_train.shape == (60, 32, 32, 3) and y_train.dtype == np.uint8 and names == tuple("abcdefghij")
