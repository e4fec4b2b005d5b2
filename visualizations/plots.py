"""The figures of a run, each saved atomically as a PNG."""

import matplotlib

matplotlib.use("Agg")  # files only; no display needed

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from runkit.files import atomic_path
from runkit.text import plot_label


def save(fig, path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)


def plot_metric(history: dict, metric: str, path) -> None:
    """Training and validation `metric` per epoch across both phases, the phase change marked."""
    epochs = pd.DataFrame(history["epochs"])
    epochs["n"] = np.arange(1, len(epochs) + 1)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(epochs["n"], epochs[metric], "o-", label=f"training {metric}")
    ax.plot(epochs["n"], epochs[f"val_{metric}"], "s-", label=f"validation {metric}")
    frozen = (epochs["phase"] == "frozen").sum()
    if 0 < frozen < len(epochs):
        ax.axvline(frozen + 0.5, color="gray", linestyle="--", label="fine-tuning starts")
    ax.set(xlabel="epoch", ylabel=metric, title=f"{metric.capitalize()} per epoch")
    ax.legend()
    ax.grid(alpha=0.3)
    save(fig, path)


def plot_learning_rate(history: dict, path) -> None:
    lrs = [lr for phase in ("frozen", "finetune") for lr in history["lr_per_step"].get(phase, [])]
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.plot(np.arange(len(lrs)), lrs)
    ax.set(xlabel="training step", ylabel="learning rate", title="Cyclical learning rate (both phases)")
    ax.grid(alpha=0.3)
    save(fig, path)


def plot_confusion_matrix(matrix, class_names, path) -> None:
    class_names = [plot_label(name) for name in class_names]
    scale = max(1.0, len(class_names) / 12)  # a hundred classes get a larger figure and no numbers in the cells
    fig, ax = plt.subplots(figsize=(8 * scale, 7 * scale))
    sns.heatmap(np.asarray(matrix), annot=len(class_names) <= 20, fmt="d", cmap="Blues", cbar=False,
                xticklabels=class_names, yticklabels=class_names, ax=ax)
    ax.set(xlabel="predicted", ylabel="true", title="Confusion matrix (test set)")
    save(fig, path)


def pick_examples(labels, probs, count: int, wrong_share: float, seed: int = 0) -> np.ndarray:
    """Indices of `count` random test images, `wrong_share` of them mistakes (fewer if there are fewer)."""
    rng = np.random.default_rng(seed)
    predicted = probs.argmax(axis=1)
    wrong, right = np.flatnonzero(predicted != labels), np.flatnonzero(predicted == labels)
    n_wrong = min(len(wrong), max(round(count * wrong_share), count - len(right)))
    n_right = min(len(right), count - n_wrong)
    picked = np.concatenate([rng.choice(wrong, n_wrong, replace=False), rng.choice(right, n_right, replace=False)])
    rng.shuffle(picked)
    return picked


def plot_examples(images, labels, probs, class_names, path, count: int = 25, seed: int = 0) -> None:
    """A grid of test images with true and predicted class; a fifth of them mistakes, in red."""
    picked = pick_examples(labels, probs, count, 0.2, seed)
    image_grid(images[picked], prediction_titles(picked, labels, probs, class_names),
               "Example test predictions (red: wrong)", path)


def plot_misclassified(images, labels, probs, class_names, confusions, path, count: int = 20) -> None:
    """The most confident mistakes, with the most frequent confusions in the title."""
    predicted = probs.argmax(axis=1)
    wrong = np.flatnonzero(predicted != labels)
    picked = wrong[np.argsort(-probs[wrong, predicted[wrong]])][:count]
    pairs = "; ".join(f"{plot_label(c['true'])} as {plot_label(c['predicted'])}: {c['count']}" for c in confusions[:3])
    image_grid(images[picked], prediction_titles(picked, labels, probs, class_names),
               f"Most confident mistakes (test set)\nmost frequent: {pairs}", path)


def prediction_titles(indices, labels, probs, class_names) -> list[tuple[str, str]]:
    """(title, colour) per image: true class, predicted class and its probability; red when wrong."""
    predicted, class_names = probs.argmax(axis=1), [plot_label(name) for name in class_names]
    return [(f"true: {class_names[labels[i]]}\npred: {class_names[predicted[i]]} ({probs[i, predicted[i]]:.0%})",
             "black" if predicted[i] == labels[i] else "red") for i in indices]


def image_grid(images, titles, suptitle, path, heatmaps=None) -> None:
    """Images in a square grid with a (title, colour) each, optionally under a semi-transparent heatmap."""
    side = int(np.ceil(np.sqrt(len(images))))
    fig, axes = plt.subplots(side, side, figsize=(2 * side, 2.3 * side), squeeze=False)
    for k, (ax, image, (title, colour)) in enumerate(zip(axes.flat, images, titles, strict=False)):  # spare axes: empty
        ax.imshow(image.squeeze(), cmap="gray_r")  # one grey channel: (h, w); colour as it is
        if heatmaps is not None:
            ax.imshow(heatmaps[k], cmap="jet", alpha=0.45, vmin=0, vmax=1)
        ax.set_title(title, fontsize=8, color=colour)
    for ax in axes.flat:
        ax.axis("off")
    fig.suptitle(suptitle)
    save(fig, path)


def plot_confidence(labels, probs, class_names, path) -> None:
    """Distribution of the predicted class's probability per true class, correct vs wrong."""
    predicted, class_names = probs.argmax(axis=1), [plot_label(name) for name in class_names]
    frame = pd.DataFrame({
        "true class": np.asarray(class_names)[labels],
        "confidence": probs.max(axis=1),
        "prediction": np.where(predicted == labels, "correct", "wrong"),
    })
    fig, ax = plt.subplots(figsize=(10, 4.5))
    sns.boxplot(frame, x="true class", y="confidence", hue="prediction", order=list(class_names),
                hue_order=["correct", "wrong"], fliersize=1.5, ax=ax)
    ax.tick_params(axis="x", rotation=30)
    ax.set(title="Confidence of the predicted class (test set)", ylim=(0, 1.02))
    save(fig, path)


def plot_reliability(calibration: dict, path) -> None:
    """Accuracy against confidence per bin, before and after temperature scaling; the diagonal is ideal."""
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.plot([0, 1], [0, 1], color="gray", linestyle="--", label="perfectly calibrated")
    for key, label in (("reliability", "as trained"), ("reliability_scaled", "temperature-scaled")):
        table = calibration[key]
        used = np.array(table["count"]) > 0
        ax.plot(np.array(table["confidence"])[used], np.array(table["accuracy"])[used], "o-",
                label=f"{label} (ECE {calibration['ece' if key == 'reliability' else 'ece_scaled']:.4f})")
    ax.set(xlabel="confidence (mean per bin)", ylabel="accuracy", title="Reliability (test set)",
           xlim=(0, 1.01), ylim=(0, 1.01))
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    save(fig, path)


def plot_lr_range_test(lrs, smoothed_loss, low, high, path) -> None:
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(lrs, smoothed_loss)
    ax.axvspan(low, high, color="green", alpha=0.15, label=f"suggested bounds {low:.1g}..{high:.1g}")
    ax.set(xscale="log", xlabel="learning rate", ylabel="training loss (smoothed)", title="LR range test")
    ax.legend()
    ax.grid(alpha=0.3)
    save(fig, path)
