"""An export's record (exports.json) is checked against its model when it is loaded: a damaged, tampered or
mismatched record is one line, before any picture is converted; a .keras file Keras refuses is one line too."""

import json
import zipfile
from pathlib import Path

import pytest

import predict
from data.spec import FASHION_MNIST
from inference.runtime import check_fits, default_model
from runkit.errors import UserError
from tests.test_predict import tiny_onnx_model

DATASET = {"name": "fashion_mnist", "class_names": [str(c) for c in range(10)], "input_shape": [28, 28, 1],
           "background": 0.0, "fill_mode": "constant", "mirror_keeps_label": True, "conversion": "mnist"}
NOVELTY = {"method": "m", "weights": [0.0] * 4, "bias": 0.0, "threshold": 0.5}

TAMPERED = [  # (what is wrong, exports.json, the error's words)
    ("3 class names for 10 outputs", {"dataset": {**DATASET, "class_names": ["a", "b", "c"]}},
     "takes (28, 28, 1) images into 10 classes, but the exports.json beside it describes (28, 28, 1) into 3"),
    ("a lying input shape", {"dataset": {**DATASET, "input_shape": [40000, 40000, 1]}},
     "its data set's input_shape is (40000, 40000, 1), not (height, width, 1 or 3 channels), sides up to 1024"),
    ("another model's input shape", {"dataset": {**DATASET, "input_shape": [32, 32, 3]}},
     "takes (28, 28, 1) images into 10 classes, but the exports.json beside it describes (32, 32, 3)"),
    ("class names as one string", {"dataset": {**DATASET, "class_names": "abc"}},
     "its data set's class_names is 'abc', not two or more distinct names"),
    ("a missing field", {"dataset": {k: v for k, v in DATASET.items() if k != "conversion"}},
     "its data set's conversion is None, not 'mnist' or 'fit'"),
    ("a record that is a list", {"dataset": [1, 2]}, "exports.json is damaged: its 'dataset' is not a JSON object"),
    ("a channel count of true", {"dataset": {**DATASET, "input_shape": [28, 28, True]}},
     "its data set's input_shape is (28, 28, True)"),
    ("a novelty record of text", {"dataset": DATASET, "novelty": "x"},
     "exports.json's novelty is damaged: not a NoveltyRecord; run `python export_model.py`"),
    ("an infinite threshold", {"dataset": DATASET, "novelty": {**NOVELTY, "threshold": float("inf")}},
     "exports.json's novelty is damaged: its 'threshold' is not a finite number"),
    ("a weight of text", {"dataset": DATASET, "novelty": {**NOVELTY, "weights": [0.0, "1"]}},
     "exports.json's novelty is damaged: its 'weights' is not a list of finite numbers"),
    ("no bias", {"dataset": DATASET, "novelty": {k: v for k, v in NOVELTY.items() if k != "bias"}},
     "exports.json's novelty is damaged: no field 'bias'"),
    ("a model outside the folder", {"model": "../../elsewhere.h5", "dataset": DATASET},
     "its model '../../elsewhere.h5' is not a file name beside it"),
]


@pytest.mark.parametrize("case, record, words", TAMPERED, ids=[case for case, _, _ in TAMPERED])
def test_a_tampered_record_is_one_line_before_any_picture_is_read(tmp_path, capsys, case, record, words):
    model = tiny_onnx_model(tmp_path / "model.onnx")
    (tmp_path / "exports.json").write_text(json.dumps({"model": "model.h5", **record}))
    with pytest.raises(UserError) as caught:
        predict.main([str(tmp_path / "no-such-picture.png"), "--model", str(model)])
    assert words in str(caught.value), case
    assert "\n" not in str(caught.value) and "no-such-picture" not in capsys.readouterr().err  # no picture read


def test_the_default_model_named_outside_its_folder_is_refused(tmp_path):
    (tmp_path / "exports.json").write_text(json.dumps({"model": "/etc/passwd"}))
    with pytest.raises(UserError, match="its model '/etc/passwd' is not a file name beside it"):
        default_model(tmp_path)


@pytest.mark.slow
def test_a_keras_file_keras_refuses_is_one_line(tmp_path):
    """A .keras file whose config names another module (module injection): Keras raises TypeError."""
    from inference.runtime import load_keras_export
    from runkit.frameworks import keras

    good, bad = tmp_path / "good.keras", tmp_path / "bad.keras"
    keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)]).save(good)
    with zipfile.ZipFile(good) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(members["config.json"])
    config["config"]["layers"][1] |= {"module": "os", "class_name": "system"}
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(bad, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    with pytest.raises(UserError, match=r"bad.keras could not be loaded \(TypeError: .*\): export again") as caught:
        load_keras_export(bad)
    assert "\n" not in str(caught.value)


def test_a_dimension_left_open_fits_any_size_and_a_fixed_one_must_match():
    """ONNX names an open dimension ('unk__5'), Keras says None: neither is a mismatch; a fixed one is."""
    check_fits(FASHION_MNIST, ("height", 28, 1), "unk__5", Path("m.onnx"))
    check_fits(FASHION_MNIST, (None, None, 1), None, Path("m.h5"))
    for shape, classes in (((28, 28, 3), 10), ((28, 28, 1), 9), ((28, 28), 10)):
        with pytest.raises(UserError, match="keep each export in the folder export_model.py wrote"):
            check_fits(FASHION_MNIST, shape, classes, Path("m.onnx"))
