import gzip
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config import make_config
from data import CLASS_NAMES, load_fashion_mnist, make_dataset, read_idx, skip_epochs, split_of_run, split_train_val
from data.fashion_mnist import ENV_VAR, FILES, parse_idx
from data.pipeline import ArrayBatches
from runkit.errors import UserError
from tests.helpers import synthetic_split, write_idx


def test_read_idx_round_trip(tmp_path):
    array = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    got = read_idx(write_idx(tmp_path / "x.gz", array), ndim=3)
    assert got.dtype == np.uint8 and got.shape == (2, 28, 28)
    np.testing.assert_array_equal(got, array)


def test_load_from_folder(idx_dir):
    ((x_train, y_train), (x_test, y_test)), source = load_fashion_mnist(str(idx_dir))
    assert x_train.shape == (200, 28, 28) and y_train.shape == (200,)
    assert x_test.shape == (50, 28, 28) and y_test.shape == (50,)
    assert source == str(idx_dir)
    assert len(CLASS_NAMES) == 10


def test_env_var_is_used_when_no_folder_is_given(idx_dir, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(idx_dir))
    _, source = load_fashion_mnist(None)
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
        load_fashion_mnist(str(idx_dir))
    assert "\n" not in str(error.value)


def test_missing_folder_is_named(tmp_path):
    with pytest.raises(UserError, match="no such folder"):
        load_fashion_mnist(str(tmp_path / "nowhere"))


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


def test_dataset_yields_raw_batches(idx_dir):
    ((x, y), _), _ = load_fashion_mnist(str(idx_dir))
    batches = list(make_dataset(x, y, batch_size=64, shuffle=True, seed=1))
    images, labels = batches[0]
    assert images.shape == (64, 28, 28, 1) and images.dtype.name == "uint8"
    assert labels.shape == (64,)
    assert sum(len(b[1]) for b in batches) == 200
    seen = np.concatenate([b[1].numpy() for b in batches])
    np.testing.assert_array_equal(np.sort(seen), np.sort(y))  # each image once per epoch


def test_array_batches_match_the_tf_data_contract():
    """The pipeline for backends without tf.data: same batches, a new seeded order every epoch."""
    x, y = synthetic_split(per_class=10, seed=0)
    batches = ArrayBatches(x[..., None], y, batch_size=32, shuffle=True, seed=3)
    assert len(batches) == 4  # 100 images: 3 full batches and one of 4
    images, labels = batches[0]
    assert images.shape == (32, 28, 28, 1) and images.dtype == np.uint8 and labels.shape == (32,)
    first = np.concatenate([batches[i][1] for i in range(len(batches))])
    np.testing.assert_array_equal(np.sort(first), np.sort(y))  # each image once per epoch
    batches.on_epoch_end()
    second = np.concatenate([batches[i][1] for i in range(len(batches))])
    assert not np.array_equal(first, second)
    # skip_epochs replays the orders of finished epochs, as a resumed run needs
    replay = ArrayBatches(x[..., None], y, batch_size=32, shuffle=True, seed=3)
    skip_epochs(replay, 1)
    np.testing.assert_array_equal(np.concatenate([replay[i][1] for i in range(len(replay))]), second)


def labels_of_epoch(dataset):
    return np.concatenate([labels.numpy() for _, labels in dataset])


def test_skip_epochs_replays_tf_data_shuffles(idx_dir):
    ((x, y), _), _ = load_fashion_mnist(str(idx_dir))
    run = make_dataset(x, y, batch_size=64, shuffle=True, seed=1)
    labels_of_epoch(run)
    second = labels_of_epoch(run)
    resumed = make_dataset(x, y, batch_size=64, shuffle=True, seed=1)
    skip_epochs(resumed, 1)
    np.testing.assert_array_equal(labels_of_epoch(resumed), second)


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
