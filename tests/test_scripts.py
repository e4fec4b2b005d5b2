"""The scripts, run as a user runs them, on a tiny synthetic data set."""

import csv
import dataclasses
import json
import subprocess
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import evaluate
import export_model
import train
import visualize_results
from config import make_config
from data.idx import load_idx_dataset
from data.images import load_image
from data.spec import FASHION_MNIST_CLASSES as CLASS_NAMES
from inference.runtime import onnx_runner
from models.classifier import load_trained_classifier
from models.runs import trained_run_config
from runkit.errors import UserError
from runkit.files import RunFiles, write_json
from tests.helpers import ROOT, accuracy_of_saved_predictions, assert_one_line_error, run_script

PNGS = ("accuracy_plot.png", "loss_plot.png", "learning_rate.png", "confusion_matrix.png",
        "example_predictions.png", "prediction_probabilities_boxplot.png", "reliability.png",
        "misclassified.png", "activation_maps.png")


@pytest.mark.slow
def test_train_saves_weights_history_and_config(trained_run):
    artifacts = ROOT / trained_run["artifacts_dir"]
    config = json.loads((artifacts / "config.json").read_text())
    assert config["image_size"] == 32 and config["finetune_epochs"] == 3
    history = json.loads((artifacts / "history.json").read_text())
    assert history["completed"]
    assert [e["phase"] for e in history["epochs"]] == ["frozen", "finetune", "finetune", "finetune"]
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"} <= set(history["epochs"][0])
    steps = history["steps_per_epoch"]
    assert len(history["lr_per_step"]["frozen"]) == steps and len(history["lr_per_step"]["finetune"]) == 3 * steps
    assert (artifacts / "best.weights.h5").is_file()
    with open(artifacts / "training_log.csv") as f:
        log = list(csv.DictReader(f))
    assert [(row["epoch"], row["phase"]) for row in log] == [("1", "frozen"), ("2", "finetune"), ("3", "finetune"),
                                                             ("4", "finetune")]  # numbered across the phases
    # each epoch's LR is that of its last step, as the schedule gave it
    assert float(log[0]["learning_rate"]) == pytest.approx(history["lr_per_step"]["frozen"][-1], rel=1e-6)
    assert float(log[-1]["learning_rate"]) == pytest.approx(history["lr_per_step"]["finetune"][-1], rel=1e-6)
    assert not (artifacts / "backup").exists()  # a clean finish removes the resume state

    events = EventAccumulator(str(artifacts / "tensorboard" / "finetune" / "train"))
    events.Reload()
    assert {"epoch_loss", "epoch_accuracy", "epoch_learning_rate"} <= set(events.Tags()["tensors"])
    assert len(events.Tensors("epoch_loss")) == 3  # one point per fine-tuning epoch


@pytest.mark.slow
def test_evaluate_visualize_export_round_trip(trained_run):
    checkout = Path(trained_run["artifacts_dir"]).parent  # where train.py ran with the default paths
    out = run_script("evaluate.py", ["--corruption_suite", "true"], cwd=checkout).stdout  # else the run's config
    assert "test accuracy" in out and "under the corruption suite: mean accuracy" in out
    metrics = json.loads((ROOT / trained_run["artifacts_dir"] / "metrics.json").read_text())
    assert metrics["test_accuracy"] == accuracy_of_saved_predictions(trained_run["artifacts_dir"])
    assert metrics["test_images"] == 50
    assert metrics["test_accuracy_by_view"]["flip_averaged"] == metrics["test_accuracy"]  # tta_flip is on
    cfg = make_config(json.loads((ROOT / trained_run["artifacts_dir"] / "config.json").read_text()))
    _, (x_test, y_test) = load_idx_dataset("fashion_mnist", cfg.data_dir)[0]
    single = load_trained_classifier(dataclasses.replace(cfg, tta_flip=False),
                                     ROOT / trained_run["artifacts_dir"] / "best.weights.h5")
    assert metrics["test_accuracy_by_view"]["single_view"] == pytest.approx(
        np.mean(single.predict(x_test, verbose=0).argmax(axis=1) == y_test))
    assert np.array(metrics["confusion_matrix"]).sum() == 50
    assert set(metrics["per_class"]) >= {"T-shirt/top", "Ankle boot"}
    calibration = metrics["calibration"]
    bins = calibration["reliability"]
    assert sum(bins["count"]) == 50 and calibration["temperature"] > 0
    gaps = np.abs(np.array(bins["accuracy"]) - np.array(bins["confidence"]))  # ECE from the table it reports
    assert calibration["ece"] == pytest.approx(np.dot(bins["count"], gaps) / 50)
    with open(ROOT / trained_run["results_file"]) as table:
        row = list(csv.DictReader(table))[-1]
    assert row["test_accuracy"] == f"{metrics['test_accuracy']:.4f}" and "image_size=32" in row["changed_config"]

    run_script("visualize_results.py", [], cwd=checkout)
    for png in PNGS:
        assert (ROOT / trained_run["visualizations_dir"] / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = (ROOT / trained_run["visualizations_dir"] / "report.md").read_text()
    assert f"| test accuracy (50 images) | {metrics['test_accuracy']:.4f} |" in report
    assert all(f"]({png})" in report for png in PNGS)  # every figure, linked beside the report
    assert "| Ankle boot |" in report and "| image_size | `32` |" in report

    run_script("export_model.py", [], cwd=checkout)
    exported = keras.models.load_model(ROOT / trained_run["exports_dir"] / "fashion_mnist_model.h5", compile=False)
    trained = load_trained_classifier(cfg, ROOT / trained_run["artifacts_dir"] / "best.weights.h5")
    pixels = np.random.default_rng(0).integers(0, 256, (16, 28, 28, 1)).astype("float32")
    np.testing.assert_allclose(exported.predict(pixels, verbose=0), trained.predict(pixels, verbose=0), atol=1e-6)
    assert exported.input_shape == (None, 28, 28, 1) and exported.output_shape == (None, 10)

    exports = ROOT / trained_run["exports_dir"]
    rows = {r["format"]: r for r in json.loads((exports / "exports.json").read_text())["exports"]}
    assert set(rows) == {"keras (in memory)", ".keras", "SavedModel", "ONNX", "TFLite float16", "TFLite int8"}
    assert rows[".keras"]["agreement_with_keras"] == rows["SavedModel"]["agreement_with_keras"] == 1.0
    for name in ("fashion_mnist_model.keras", "saved_model/saved_model.pb", "fashion_mnist_model.onnx",
                 "fashion_mnist_model_float16.tflite", "fashion_mnist_model_int8.tflite"):
        assert (exports / name).stat().st_size > 0
    assert rows["keras (in memory)"]["test_accuracy"] == pytest.approx(metrics["test_accuracy"])
    for r in rows.values():  # a format can only move the accuracy by the share of images it answers otherwise
        assert abs(r["test_accuracy"] - metrics["test_accuracy"]) <= 1 - r["agreement_with_keras"] + 1e-9
        assert r["latency_ms_one_image"] > 0
    np.testing.assert_allclose(onnx_runner(exports / "fashion_mnist_model.onnx")(pixels),
                               exported.predict(pixels, verbose=0), atol=1e-5)  # ONNX Runtime gives Keras' numbers

    card = (exports / "MODEL_CARD.md").read_text()
    assert "## Intended use" in card and "## Known failure modes" in card
    assert f"| test accuracy, single view | {metrics['test_accuracy_by_view']['single_view']:.4f} |" in card
    assert sum(f"| {name} | " in card for name in CLASS_NAMES) == 10 and "| ONNX | " in card
    assert f"| test images recognised as one of the classes | {metrics['novelty']['test_recognised']:.4f} " in card
    suite = metrics["robustness"]  # asked of evaluate.py, reported by the card export_model.py writes
    assert suite["images"] == 50 and suite["clean"] == pytest.approx(metrics["test_accuracy"])
    assert f"mean accuracy **{suite['mean']:.4f}** (clean {suite['clean']:.4f}" in card

    # "Not recognised": fitted by evaluate.py, saved with the export, the same score through ONNX and Keras
    novelty = json.loads((exports / "exports.json").read_text())["novelty"]
    assert novelty == json.loads((ROOT / trained_run["artifacts_dir"] / "novelty.json").read_text())
    assert len(novelty["weights"]) == 1280 and novelty["keep"] == 0.96
    assert metrics["novelty"]["val_recognised"] >= 0.95 and metrics["novelty"]["threshold"] == novelty["threshold"]
    (x_train, _), _ = load_idx_dataset("fashion_mnist", cfg.data_dir)[0]
    (checkout / "runs").mkdir(exist_ok=True)
    Image.fromarray(x_train[0, ..., 0]).save(checkout / "runs" / "garment.png")
    Image.new("RGB", (64, 48), (200, 30, 90)).save(checkout / "runs" / "flat.png")  # synthetic garments are noisy
    answers = {}
    for model in ("fashion_mnist_model.onnx", "fashion_mnist_model.h5"):
        out = run_script("predict.py", ["runs/garment.png", "runs/flat.png", "--model", f"exports/{model}", "--json"],
                         cwd=checkout).stdout
        answers[model] = {Path(r["file"]).stem: r for r in json.loads(out)}
    for name in ("garment", "flat"):
        onnx, h5 = answers["fashion_mnist_model.onnx"][name], answers["fashion_mnist_model.h5"][name]
        assert onnx["score"] == pytest.approx(h5["score"], abs=1e-4) and onnx["known"] == h5["known"]
        as_seen = load_image(checkout / "runs" / f"{name}.png")[None, ..., None].astype("float32")  # as predict reads
        assert onnx["top"][0]["probability"] == pytest.approx(float(exported.predict(as_seen, verbose=0).max()),
                                                              abs=1e-5)
        assert h5["known"] == (h5["score"] >= novelty["threshold"])
    assert answers["fashion_mnist_model.h5"]["garment"]["known"] is True
    # (This tiny untrained-backbone model marks little; tests/test_real_data.py marks noise with the real one.)
    flat_score = answers["fashion_mnist_model.h5"]["flat"]["score"]
    contract = json.loads((exports / "exports.json").read_text())
    write_json(exports / "exports.json", contract | {"novelty": novelty | {"threshold": flat_score + 1}})
    text = run_script("predict.py", ["runs/flat.png"], cwd=checkout).stdout
    write_json(exports / "exports.json", contract)
    assert text.startswith("runs/flat.png: not recognised as any class (closest: ")

    # A user's run leaves the checkout clean: everything the four scripts wrote is in a path git ignores.
    written = sorted(str(p.relative_to(checkout)) for p in checkout.rglob("*") if p.is_file())
    assert {path.split("/")[0] for path in written} == {"artifacts", "visualizations", "exports", "runs"}
    ignored = subprocess.run(["git", "check-ignore", "--no-index", "--stdin"], input="\n".join(written), cwd=ROOT,
                             capture_output=True, text=True).stdout.split()
    assert sorted(ignored) == written


@pytest.mark.parametrize("override, message", [
    (["--image_size", "64"], r"do not fit: image_size \(trained 32, asked 64\)"),
    (["--seed", "1"], r"trained on other images: seed \(trained 42, asked 1\) would hold out images it trained on"),
    (["--split_seed", "7"], r"split_seed \(trained None, asked 7\)"),
    (["--val_fraction", "0.5"], r"val_fraction \(trained 0.25, asked 0.5\)"),
    (["--finetune_epochs", "99", "--tta_flip", "no"],  # a setting of evaluation's own is no training setting
     r"trained with other settings: finetune_epochs \(trained 22, asked 99\); the scripts after train.py use the "
     "run's own"),
])
def test_the_later_scripts_refuse_another_network_split_or_training(tmp_path, override, message):
    """The config as train.py saves it; overrides repeating its values (as run.sh passes them) are fine."""
    write_json(RunFiles(tmp_path).config, dataclasses.asdict(make_config({"image_size": 32, "val_fraction": 0.25})))
    for script in (evaluate, visualize_results, export_model):
        with pytest.raises(UserError, match=message):
            script.main(["--artifacts_dir", str(tmp_path), *override])
    same = trained_run_config(["--artifacts_dir", str(tmp_path), "--seed", "42", "--image_size", "32"])
    assert (same.seed, same.image_size, same.val_fraction) == (42, 32, 0.25)


@pytest.mark.parametrize("script", [evaluate, visualize_results, export_model])
def test_scripts_run_before_training_say_what_to_run_first(script, tmp_path):
    with pytest.raises(UserError, match="run `python train.py` first"):
        script.main(["--artifacts_dir", str(tmp_path / "empty")])


@pytest.mark.parametrize("argv, message", [
    (["--data_dir", "{tmp}"], "missing train-images-idx3-ubyte.gz"),
    (["--image_size", "16"], "image_size=16 must be >= 32"),
    (["--dropuot", "0.1"], "did you mean --dropout"),
])
def test_bad_data_and_bad_config_are_refused_before_training(argv, message, tmp_path):
    with pytest.raises(UserError, match=message):
        train.main([arg.format(tmp=tmp_path) for arg in argv])


@pytest.mark.slow
def test_a_user_error_ends_the_script_with_one_line_and_exit_2():
    assert_one_line_error(run_script("train.py", ["--dropuot", "0.1"], check=False), "did you mean --dropout")

