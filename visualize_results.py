"""Figures of the trained and evaluated run: `python visualize_results.py`, PNGs into visualizations/."""

import dataclasses
from pathlib import Path

import numpy as np

from data.datasets import load_run_dataset
from evaluation.cam import METHOD_NAMES, activation_maps, map_method, upsampled
from models.classifier import load_trained_classifier
from models.runs import trained_run_config
from runkit import cli
from runkit.files import RunFiles, read_json, require
from runkit.records import MetricsRecord, read_record, run_of
from visualizations import plots
from visualizations.report import write_report


def main(argv: list[str]) -> None:
    cfg = trained_run_config(argv)
    files = RunFiles(cfg.artifacts_dir)
    history = read_json(files.history, "train.py", keys=("epochs", "lr_per_step", "run"))
    run_of(history, files.history)  # the report reads it
    metrics = read_record(files.metrics, MetricsRecord, "evaluate.py")
    with np.load(require(files.predictions, "evaluate.py")) as saved:
        probs, labels = saved["probs"], saved["labels"]
    data = load_run_dataset(cfg, files)
    x_test, names = data.test[0], data.spec.class_names

    out = Path(cfg.visualizations_dir)
    plots.plot_metric(history, "accuracy", out / "accuracy_plot.png")
    plots.plot_metric(history, "loss", out / "loss_plot.png")
    plots.plot_learning_rate(history, out / "learning_rate.png")
    plots.plot_confusion_matrix(metrics["confusion_matrix"], names, out / "confusion_matrix.png")
    plots.plot_examples(x_test, labels, probs, names, out / "example_predictions.png", seed=cfg.seed)
    plots.plot_confidence(labels, probs, names, out / "prediction_probabilities_boxplot.png")
    plots.plot_reliability(metrics["calibration"], out / "reliability.png")
    plots.plot_misclassified(x_test, labels, probs, names, metrics["top_confusions"],
                             out / "misclassified.png")
    plot_activation_maps(cfg, files, data.spec, x_test, labels, probs, out / "activation_maps.png")
    write_report(out / "report.md", dataclasses.asdict(cfg), history, metrics)
    print(f"wrote the figures and report.md (the whole run on one page) to {out}/")
    print("next: python export_model.py")


def plot_activation_maps(cfg, files, spec, images, labels, probs, path, count: int = 16) -> None:
    """Activation maps (evaluation/cam.py) of the predicted class for half correct, half wrong test images, over the
    upsampled input."""
    classifier = load_trained_classifier(dataclasses.replace(cfg, tta_flip=False), files.best_weights, spec)
    picked = plots.pick_examples(labels, probs, count, 0.5, cfg.seed)
    maps = activation_maps(classifier, images[picked], class_index=probs[picked].argmax(axis=1),
                           background=spec.background)
    titles = plots.prediction_titles(picked, labels, probs, spec.class_names)
    method = METHOD_NAMES[map_method(classifier)[0]]
    plots.image_grid(upsampled(images[picked], maps.shape[1]), titles,
                     f"{method}: where {cfg.architecture} looked for the predicted class (red title: wrong)", path,
                     heatmaps=maps)


if __name__ == "__main__":
    cli.run(main)
