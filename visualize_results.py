"""Figures of the trained and evaluated run: `python visualize_results.py`, PNGs into visualizations/."""

from pathlib import Path

import numpy as np

import cli
import plots
from artifacts import RunFiles, read_json, require
from data import CLASS_NAMES, load_fashion_mnist


def main(argv: list[str]) -> None:
    cfg = cli.trained_run_config(argv)
    files = RunFiles(cfg.artifacts_dir)
    history = read_json(files.history, "train.py")
    metrics = read_json(files.metrics, "evaluate.py")
    with np.load(require(files.predictions, "evaluate.py")) as saved:
        probs, labels = saved["probs"], saved["labels"]
    (_, (x_test, _)), _ = load_fashion_mnist(cfg.data_dir)

    out = Path(cfg.visualizations_dir)
    plots.plot_metric(history, "accuracy", out / "accuracy_plot.png")
    plots.plot_metric(history, "loss", out / "loss_plot.png")
    plots.plot_learning_rate(history, out / "learning_rate.png")
    plots.plot_confusion_matrix(metrics["confusion_matrix"], CLASS_NAMES, out / "confusion_matrix.png")
    plots.plot_examples(x_test, labels, probs, CLASS_NAMES, out / "example_predictions.png", seed=cfg.seed)
    plots.plot_confidence(labels, probs, CLASS_NAMES, out / "prediction_probabilities_boxplot.png")
    plots.plot_reliability(metrics["calibration"], out / "reliability.png")
    print(f"wrote 7 figures to {out}/")
    print("next: python export_model.py")


if __name__ == "__main__":
    cli.run(main)
