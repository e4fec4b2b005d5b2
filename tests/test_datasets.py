"""Data sets beyond Fashion-MNIST: each loader on files in its official format, a folder of pictures with every way
it can be wrong, and a whole run on a folder through every script."""

import base64
import io
import json
import pickle
import shutil
import tarfile

import numpy as np
import pytest
from PIL import Image

import train
from config import make_config
from data.datasets import load_dataset
from data.folder import TEST_SEED
from data.spec import FASHION_MNIST
from inference.runtime import load_keras_export, spec_of_export
from models.augmentation import build_augmentation
from runkit.errors import UserError
from runkit.files import append_result
from tests.helpers import as_argv, assert_one_line_error, run_script, synthetic_split, tiny_cnn_run, tiny_run
from webapp.server import create_app


def load(**overrides):
    return load_dataset(make_config(overrides))


def test_mnist_reads_the_same_idx_files_and_never_mirrors_a_digit(idx_dir):
    data = load(dataset="mnist", data_dir=str(idx_dir))
    assert data.train[0].shape == (200, 28, 28, 1) and data.spec.class_names == tuple("0123456789")
    assert not data.spec.mirror_keeps_label and data.spec.conversion == "mnist"
    augmentation = build_augmentation(make_config({"dataset": "mnist"}), data.spec)
    assert not any("flip" in layer.name for layer in augmentation.layers)  # a mirrored 3 is no 3
    assert any("flip" in layer.name for layer in build_augmentation(make_config({}), FASHION_MNIST).layers)


def test_a_failed_download_is_one_line(monkeypatch):
    import keras

    def offline():
        raise OSError("no network")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    monkeypatch.delenv("MNIST_DIR", raising=False)
    with pytest.raises(UserError, match="could not download MNIST .*--data_dir or \\$MNIST_DIR"):
        load(dataset="mnist")


def cifar_batch(count, seed, label_key=b"labels"):
    """A batch as the official pickles hold it: rows of 3072 bytes, red plane then green then blue."""
    rng = np.random.default_rng(seed)
    return {b"data": rng.integers(0, 256, (count, 3072), dtype=np.uint8),
            label_key: [int(c) for c in np.arange(count) % 10]}


def write_cifar10(folder, as_archive: bool):
    members = {f"data_batch_{i}": cifar_batch(12, i) for i in range(1, 6)}
    members["test_batch"] = cifar_batch(10, 9)
    members["batches.meta"] = {b"label_names": [n.encode() for n in "abcdefghij"]}
    if not as_archive:
        inner = folder / "cifar-10-batches-py"
        inner.mkdir(parents=True)
        for name, content in members.items():
            (inner / name).write_bytes(pickle.dumps(content))
        return members
    folder.mkdir(parents=True)
    with tarfile.open(folder / "cifar-10-python.tar.gz", "w:gz") as tar:
        for name, content in members.items():
            raw = pickle.dumps(content)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return members


@pytest.mark.parametrize("as_archive", [True, False])
def test_cifar10_from_the_official_archive_or_its_folder(tmp_path, as_archive):
    members = write_cifar10(tmp_path / "cifar", as_archive)
    data = load(dataset="cifar10", data_dir=str(tmp_path / "cifar"))
    (x_train, y_train), (x_test, y_test) = data.train, data.test
    np.testing.assert_array_equal(y_train[:12], np.arange(12) % 10)  # data_batch_1's labels first
    assert x_train.shape == (60, 32, 32, 3) and x_test.shape == (10, 32, 32, 3) and x_train.dtype == np.uint8
    row = members["data_batch_1"][b"data"][3]
    np.testing.assert_array_equal(x_train[3, :, :, 0].ravel(), row[:1024])  # red plane first
    np.testing.assert_array_equal(x_train[3, :, :, 2].ravel(), row[2048:])
    np.testing.assert_array_equal(y_test, np.arange(10))
    assert data.spec.class_names == tuple("abcdefghij") and data.spec.input_shape == (32, 32, 3)
    assert data.spec.conversion == "fit" and data.spec.mirror_keeps_label


def test_cifar100_uses_the_fine_labels(tmp_path):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    (folder / "train").write_bytes(pickle.dumps(cifar_batch(20, 0, b"fine_labels")))
    (folder / "test").write_bytes(pickle.dumps(cifar_batch(10, 1, b"fine_labels")))
    (folder / "meta").write_bytes(pickle.dumps({b"fine_label_names": [f"c{i}".encode() for i in range(100)]}))
    data = load(dataset="cifar100", data_dir=str(tmp_path))
    assert data.spec.num_classes == 100 and data.train[0].shape == (20, 32, 32, 3)


def test_a_cifar_file_that_would_run_code_is_refused(tmp_path):
    write_cifar10(tmp_path, as_archive=False)
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(pickle.dumps(shutil.rmtree))  # any callable
    with pytest.raises(UserError, match="test_batch: not a CIFAR file"):
        load(dataset="cifar10", data_dir=str(tmp_path))


def write_folder(root, per_class=8, classes=("cat", "dog", "owl"), colour=True, side=40, start=0):
    """Pictures of a class-coloured square, numbered across classes, in root/<class>/."""
    rng = np.random.default_rng(0)
    for c, name in enumerate(classes):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            pixels = rng.integers(0, 60, (side, side, 3), dtype=np.uint8)
            pixels[8:30, 8:30] = (200, 60 * c, 40) if colour else 80 * c + 40
            image = Image.fromarray(pixels) if colour else Image.fromarray(pixels[..., 0])
            image.save(root / name / f"{start + i * len(classes) + c:04d}.{'jpg' if colour else 'png'}")
    return root


def test_a_folder_of_grey_pictures_is_read_as_stored_and_in_file_name_order(tmp_path):
    """The folder written from IDX files reads back the same pixels, labels and order as the IDX files."""
    root = tmp_path / "png"
    images, labels = synthetic_split(6, 0)
    (root / "test").mkdir(parents=True)
    names = [f"class {c}" for c in range(10)]
    for c in names:
        (root / "train" / c).mkdir(parents=True)
        (root / "test" / c).mkdir()
    for i, (image, label) in enumerate(zip(images, labels, strict=True)):
        Image.fromarray(image).save(root / "train" / names[label] / f"{i:05d}.png")
        Image.fromarray(image).save(root / "test" / names[label] / f"{i:05d}.png")
    (root / "classes.txt").write_text("\n".join(names[::-1]))  # label order: as listed, not sorted
    data = load(dataset="folder", data_dir=str(root))
    assert data.spec.input_shape == (28, 28, 1) and data.spec.class_names == tuple(names[::-1])
    np.testing.assert_array_equal(data.train[0][..., 0], images)
    np.testing.assert_array_equal(data.train[1], 9 - labels)
    assert data.test_origin == f"{root}/test/"


def test_a_folder_without_test_holds_out_the_same_stratified_test_set_for_every_seed(tmp_path):
    root = write_folder(tmp_path / "pics", per_class=20, side=50)
    first, other = load(dataset="folder", data_dir=str(root)), load(dataset="folder", data_dir=str(root), seed=7)
    assert first.spec.input_shape == (50, 50, 3)  # one square size under 128: kept
    assert np.bincount(first.test[1]).tolist() == [3, 3, 3]  # 15% of each class
    np.testing.assert_array_equal(first.test[0], other.test[0])
    assert f"seed {TEST_SEED}" in first.test_origin
    assert load(dataset="folder", data_dir=str(root), stored_size=24).train[0].shape[1:] == (24, 24, 3)


def test_an_unreadable_picture_is_skipped_and_named(tmp_path, capsys):
    root = write_folder(tmp_path / "pics", per_class=10)
    (root / "dog" / "broken.jpg").write_bytes(b"not a picture")
    data = load(dataset="folder", data_dir=str(root))
    assert len(data.train[1]) + len(data.test[1]) == 30
    assert f"warning: skipped {root / 'dog' / 'broken.jpg'}" in capsys.readouterr().err


def bad_folders(tmp_path):
    """(how the folder is wrong, its path, the error's words)."""
    empty = write_folder(tmp_path / "empty")
    (empty / "eel").mkdir()
    single = write_folder(tmp_path / "single", classes=("cat",))
    split = write_folder(tmp_path / "split" / "train")
    write_folder(tmp_path / "split" / "test", classes=("cat", "dog"))
    unreadable = write_folder(tmp_path / "unreadable")
    for path in (unreadable / "owl").iterdir():
        path.write_bytes(b"garbage")
    no_test = write_folder(tmp_path / "no_test" / "train")
    two_lines = write_folder(tmp_path / "two_lines", classes=("cat", "dog\nwarning: forged"))
    return [("an empty class folder", empty, "eel: no pictures"),
            ("a single class", single, "1 class folder (cat); a classifier needs at least two"),
            ("a class missing from test/", split.parent, "test: its classes differ from train/'s (missing owl)"),
            ("no picture of a class readable", unreadable, "owl: none of its pictures could be read"),
            ("train/ without test/", no_test.parent, "has train/ but no test/"),
            ("a class name of two lines", two_lines, "the class name 'dog\\nwarning: forged' holds a newline"),
            ("no such folder", tmp_path / "nowhere", "nowhere: no such folder"),
            ("no --data_dir", None, "--dataset folder needs --data_dir DIR")]


def test_each_bad_folder_gets_one_line_and_nothing_is_written(tmp_path):
    """train.py in this process (a UserError is the one line cli.run prints: test_scripts checks that as a user
    sees it), each case refused before anything is written."""
    run = tiny_run(tmp_path / "run")
    for case, folder, words in bad_folders(tmp_path):
        argv = as_argv({**run, "dataset": "folder", "data_dir": "none" if folder is None else folder})
        with pytest.raises(UserError) as refused:
            train.main(argv)
        assert words in str(refused.value) and "\n" not in str(refused.value), case
        assert not (tmp_path / "run" / "artifacts").exists(), case


HOSTILE = ("cat", "dog <img src=x onerror=alert(1)>", "owl | $\\foo$ [x](y)")  # markup, a table border, mathtext


@pytest.mark.slow
def test_a_whole_run_on_a_folder_from_train_to_predict(tmp_path):
    """train, evaluate, visualize, export, then predict.py on the export without being told the data set; class
    names (folder names) that would be markup are written as data in every report and plot."""
    root = write_folder(tmp_path / "pics", per_class=12, classes=HOSTILE)
    run = {**tiny_cnn_run(tmp_path / "run"), "dataset": "folder", "data_dir": str(root)}
    for script in ("train.py", "evaluate.py", "visualize_results.py", "export_model.py"):
        run_script(script, as_argv(run))
    exports = tmp_path / "run" / "exports"
    contract = json.loads((exports / "exports.json").read_text())
    assert contract["model"] == "folder_model.h5" and contract["dataset"]["class_names"] == list(HOSTILE)
    assert contract["dataset"]["input_shape"] == [40, 40, 3]
    card, report = (exports / "MODEL_CARD.md").read_text(), (tmp_path / "run" / "vis" / "report.md").read_text()
    assert "3 probabilities in that order" in card
    for markdown in (card, report):
        assert r"dog \<img src=x onerror=alert(1)\>" in markdown and "<img" not in markdown.replace(r"\<img", "")
        assert r"| owl \| \$\\foo\$ \[x\](y) | " in markdown  # one table cell: an escaped border is no border
    assert (tmp_path / "run" / "vis" / "confusion_matrix.png").stat().st_size > 0
    table = (tmp_path / "run" / "results.csv").read_text().splitlines()
    assert table[0].startswith("date,dataset,") and table[1].split(",")[1] == "folder"

    for model in ("folder_model.h5", "folder_model.onnx"):
        answer = run_script("predict.py", [str(root / HOSTILE[2] / "0002.jpg"), "--model", str(exports / model),
                                           "--json"])
        top = json.loads(answer.stdout)[0]["top"]
        assert len(top) == 3 and {t["class"] for t in top} == set(HOSTILE)

    # The demo serves it too: its page names the data set's size, its answer the classes and the colour image seen.
    client = create_app(load_keras_export(exports / "folder_model.h5"),
                        spec_of_export(exports / "folder_model.h5")).test_client()
    assert "what the model saw (40x40)" in client.get("/").get_data(as_text=True)
    with open(root / HOSTILE[1] / "0001.jpg", "rb") as f:
        answer = client.post("/api/predict", data={"image": (f, "dog.jpg")}).get_json()
    assert {t["class"] for t in answer["top"]} == set(HOSTILE)
    seen = Image.open(io.BytesIO(base64.b64decode(answer["seen"].split(",", 1)[1])))
    assert seen.size == (40, 40) and seen.mode == "RGB"

    # The folder changed since training (a class more): the later scripts say so instead of misreading it.
    write_folder(root, classes=("yak",), start=100)
    assert_one_line_error(run_script("evaluate.py", as_argv(run), check=False),
                          "is not the data set")


def test_a_results_table_from_before_data_sets_gets_the_column(tmp_path):
    table = tmp_path / "results.csv"
    table.write_text("date,run,changed_config,val_accuracy,test_accuracy,train_minutes,machine\n"
                     "2026-01-01,python train.py,,0.9,0.9,1.0,cpu\n")
    append_result(table, {"date": "2026-02-02", "dataset": "mnist", "run": "python train.py --dataset mnist"})
    lines = table.read_text().splitlines()
    assert lines[0].startswith("date,dataset,run,")
    assert lines[1].startswith("2026-01-01,fashion_mnist,python train.py,")
    assert lines[2].startswith("2026-02-02,mnist,python train.py --dataset mnist,")
