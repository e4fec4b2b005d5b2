"""One Markdown file that tells a run's whole story: config, metrics, per-class table, calibration, figures."""

from pathlib import Path

from runkit.files import atomic_path
from runkit.machine import describe_machines
from runkit.text import markdown

FIGURES = (
    ("Accuracy", "accuracy_plot.png"), ("Loss", "loss_plot.png"), ("Learning rate", "learning_rate.png"),
    ("Confusion matrix", "confusion_matrix.png"), ("Example predictions", "example_predictions.png"),
    ("Confidence per class", "prediction_probabilities_boxplot.png"), ("Reliability", "reliability.png"),
    ("Most confident mistakes", "misclassified.png"), ("Where the model looked", "activation_maps.png"),
)


def render(config: dict, history: dict, metrics: dict, figures) -> str:
    """The report's Markdown; `figures` are linked by file name, so it sits beside the PNGs."""
    calibration = metrics["calibration"]
    lines = [
        "# Fashion-MNIST run report", "",
        f"- command: `{metrics['train_command']}`",
        f"- machine: {describe_machines(history['run']['machine'], metrics['machine'])}",
        f"- data: {metrics['data_source']}", "",
        "## Metrics", "",
        "| | value |", "|---|---|",
        f"| test accuracy ({metrics['test_images']} images) | {metrics['test_accuracy']:.4f} |",
        f"| test loss | {metrics['test_loss']:.4f} |",
        f"| best validation accuracy | {metrics['best_val_accuracy']:.4f} |",
        f"| training time | {metrics['train_minutes']:.1f} min over {len(history['epochs'])} epochs |",
        f"| expected calibration error (15 bins) | {calibration['ece']:.4f} |",
        f"| ECE with temperature {calibration['temperature']:.3f} (fitted on validation) | "
        f"{calibration['ece_scaled']:.4f} |", "",
        "## Per class (test set)", "",
        "| class | precision | recall | F1 | images |", "|---|---|---|---|---|",
        *(f"| {markdown(name)} | {row['precision']:.4f} | {row['recall']:.4f} | {row['f1-score']:.4f} | "
          f"{row['support']:.0f} |" for name, row in metrics["per_class"].items()), "",
        "Most frequent confusions: " + ("; ".join(f"{markdown(c['true'])} taken for {markdown(c['predicted'])} "
                                                   f"({c['count']})" for c in metrics["top_confusions"]) or "none")
        + ".", "",
        "## Figures", "",
        *(f"### {title}\n\n![{title}]({png})\n" for title, png in figures),
        "## Config", "", "| field | value |", "|---|---|",
        *(f"| {name} | `{value}` |" for name, value in config.items()), "",
    ]
    return "\n".join(lines)


def write_report(path, config: dict, history: dict, metrics: dict) -> None:
    """report.md at `path`, linking the figures written beside it."""
    figures = [(title, png) for title, png in FIGURES if (Path(path).parent / png).is_file()]
    with atomic_path(Path(path)) as tmp:
        tmp.write_text(render(config, history, metrics, figures))
