import gzip
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config import make_config
from data import pipeline
from data.idx import ENV_VARS, FILES, load_idx_dataset, parse_idx, read_idx
from data.pipeline import ArrayBatches, EpochBatches, make_dataset, split_of_run, split_train_val
from data.spec import FASHION_MNIST_CLASSES as CLASS_NAMES
from runkit.errors import UserError
from tests.helpers import write_idx


def test_read_idx_round_trip(tmp_path):
    array = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    got = read_idx(write_idx(tmp_path / "x.gz", array), ndim=3)
    assert got.dtype == np.uint8 and got.shape == (2, 28, 28)
    np.testing.assert_array_equal(got, array)


def test_load_from_folder(idx_dir):
    ((x_train, y_train), (x_test, y_test)), source = load_idx_dataset("fashion_mnist", str(idx_dir))
    assert x_train.shape == (200, 28, 28, 1) and y_train.shape == (200,)
    assert x_test.shape == (50, 28, 28, 1) and y_test.shape == (50,)
    assert source == str(idx_dir)
    assert len(CLASS_NAMES) == 10


def test_env_var_is_used_when_no_folder_is_given(idx_dir, monkeypatch):
    monkeypatch.setenv(ENV_VARS["fashion_mnist"], str(idx_dir))
    _, source = load_idx_dataset("fashion_mnist", None)
    assert source == str(idx_dir)


def corrupt(folder, name, data: bytes, compress=True):
    path = folder / name
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])  # as a broken download leaves it


@pytest.mark.parametrize("damage, message", [
    (lambda d: corrupt(d, FILES["train_images"], b"\x00\x00\x08\x03" + b"\x00" * 8, compress=True), "too short"),
    (lambda d: corrupt(d, FILES["train_labels"], b"\x00\x00\x08\x07" + b"\x00" * 12), "wrong IDX magic"),
    (lambda d: truncate(d / FILES["train_images"]), "ends early"),
    (lambda d: corrupt(d, FILES["train_images"], b"plain text, not gzip", compress=False), "not a readable .gz"),
    (lambda d: corrupt(d, FILES["test_images"], b"\x00\x00\x08\x03" + (5).to_bytes(4, "big") * 3 + b"\x00" * 10),
     "header says"),
    (lambda d: write_idx(d / FILES["test_labels"], np.zeros(7, np.uint8)), "7 labels for 50 images"),
    (lambda d: write_idx(d / FILES["train_labels"], np.full(200, 12, np.uint8)), "outside 0-9"),
    (lambda d: (d / FILES["test_labels"]).unlink(), "missing t10k-labels-idx1-ubyte.gz"),
])
def test_bad_files_give_one_clear_line(idx_dir, damage, message):
    damage(idx_dir)
    with pytest.raises(UserError, match=message) as error:
        load_idx_dataset("fashion_mnist", str(idx_dir))
    assert "\n" not in str(error.value)


def test_missing_folder_is_named(tmp_path):
    with pytest.raises(UserError, match="no such folder"):
        load_idx_dataset("fashion_mnist", str(tmp_path / "nowhere"))


def test_split_is_stratified():
    labels = np.repeat(np.arange(10), 50)
    images = np.zeros((500, 28, 28), np.uint8)
    (x_train, y_train), (x_val, y_val) = split_train_val(images, labels, 0.2, seed=0)
    assert len(x_train) == 400 and len(x_val) == 100
    np.testing.assert_array_equal(np.bincount(y_val), np.full(10, 10))
    np.testing.assert_array_equal(np.bincount(y_train), np.full(10, 40))


def test_runs_of_other_seeds_hold_out_the_same_images_when_they_share_a_split_seed():
    labels = np.repeat(np.arange(10), 50)
    images = np.arange(500)  # each image its index
    def held_out(**fields):
        return split_of_run(images, labels, make_config(fields))[1][0]

    np.testing.assert_array_equal(held_out(seed=1, split_seed=42), held_out(seed=2, split_seed=42))
    np.testing.assert_array_equal(held_out(seed=42), held_out(seed=7, split_seed=42))  # None: the seed's split
    assert not np.array_equal(held_out(seed=1), held_out(seed=2))


def test_split_with_too_few_images_per_class_is_a_user_error():
    with pytest.raises(UserError, match="cannot split"):
        split_train_val(np.zeros((10, 28, 28)), np.arange(10), 0.5, seed=0)


def labels_of_epoch(dataset):
    return np.concatenate([np.asarray(labels) for _, labels in dataset])


def test_dataset_yields_raw_batches_in_the_given_order(idx_dir):
    ((x, y), _), _ = load_idx_dataset("fashion_mnist", str(idx_dir))
    batches = list(make_dataset(x, y, batch_size=64))
    images, labels = batches[0]
    assert images.shape == (64, 28, 28, 1) and images.dtype.name == "uint8"
    assert labels.shape == (64,)
    assert [len(b[1]) for b in batches] == [64, 64, 64, 8]
    np.testing.assert_array_equal(labels_of_epoch(batches), y)


@pytest.mark.parametrize("backend_without_tf_data", [False, True])
def test_each_epochs_order_is_a_function_of_seed_and_epoch_alone(idx_dir, monkeypatch, backend_without_tf_data):
    """A resumed run selects the epoch it resumes at and gets the uninterrupted run's batches, however many
    times the data set was iterated before (Keras on JAX opens an extra iterator in each fit)."""
    if backend_without_tf_data:
        monkeypatch.setattr(pipeline, "tf", None)
    ((x, y), _), _ = load_idx_dataset("fashion_mnist", str(idx_dir))
    run = EpochBatches(x, y, batch_size=64, seed=1, epochs=3)
    orders = []
    for epoch in range(3):
        run.use_epoch(epoch)
        labels_of_epoch(run.dataset)  # iterated twice: the order holds until the next epoch is selected
        orders.append(labels_of_epoch(run.dataset))
    for order in orders:
        np.testing.assert_array_equal(np.sort(order), np.sort(y))  # each image once per epoch
    assert not np.array_equal(orders[0], orders[1]) and not np.array_equal(orders[1], orders[2])
    resumed = EpochBatches(x, y, batch_size=64, seed=1, epochs=3)
    resumed.use_epoch(2)
    np.testing.assert_array_equal(labels_of_epoch(resumed.dataset), orders[2])
    other_seed = EpochBatches(x, y, batch_size=64, seed=2, epochs=3)
    assert not np.array_equal(labels_of_epoch(other_seed.dataset), orders[0])
    with pytest.raises(ValueError, match="epoch 3 outside the 3 epochs"):
        run.use_epoch(3)


def test_both_pipelines_give_the_same_batches(idx_dir, monkeypatch):
    ((x, y), _), _ = load_idx_dataset("fashion_mnist", str(idx_dir))
    with_tf = EpochBatches(x, y, batch_size=32, seed=3, epochs=2)
    monkeypatch.setattr(pipeline, "tf", None)
    without = EpochBatches(x, y, batch_size=32, seed=3, epochs=2)
    assert isinstance(without.dataset, ArrayBatches) and len(without.dataset) == 7  # 200 images: 6 of 32, 1 of 8
    for epoch in (1, 0):
        with_tf.use_epoch(epoch)
        without.use_epoch(epoch)
        for (a_images, a_labels), (b_images, b_labels) in zip(with_tf.dataset, without.dataset, strict=True):
            np.testing.assert_array_equal(a_images, b_images)
            np.testing.assert_array_equal(a_labels, b_labels)


def check_parse(packed: bytes, ndim: int):
    """The parser's contract: a uint8 array of `ndim` dimensions, or the project's own error."""
    try:
        array = parse_idx(packed, ndim)
    except UserError as e:
        assert "\n" not in str(e)
        return
    assert array.dtype == np.uint8 and array.ndim == ndim


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.sampled_from([1, 3]))
def test_idx_parser_on_random_bytes(data, ndim):
    check_parse(data, ndim)
    check_parse(gzip.compress(data), ndim)


def test_a_header_declaring_more_bytes_than_an_address_holds_is_one_line():
    """Three sides of 4,294,967,295: 2**96 bytes, more than zlib can be asked to inflate (Hypothesis found it)."""
    header = struct.pack(">BBBB3I", 0, 0, 8, 3, 2**32 - 1, 2**32 - 1, 2**32 - 1)
    with pytest.raises(UserError, match=r"header says \(4294967295, 4294967295, 4294967295\) = \d+ bytes of data, file "
                       "has 4"):
        parse_idx(gzip.compress(header + b"\0" * 4), 3)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_idx_parser_on_mutated_valid_files(data):
    array = np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5)
    raw = bytearray(struct.pack(">BBBB3I", 0, 0, 8, 3, 3, 4, 5) + array.tobytes())
    for _ in range(data.draw(st.integers(1, 4))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    check_parse(gzip.compress(bytes(raw[:cut])), 3)  # mutated content
    check_parse(gzip.compress(bytes(raw))[:cut], 3)  # truncated stream
