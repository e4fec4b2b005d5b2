"""Which test-time views pay? `python -m bench.tta [config overrides] [--out FILE]`.

    python -m bench.tta --preset quick --artifacts_dir RUN --data_dir DIR --out runs/tta.json

The trained run's classifier sees each image of the validation split and of the test set as stored, mirrored,
and moved 1 or 2 pixels up, down, left and right (each of those also mirrored). For each set of views the
accuracy of the mean of their probabilities is reported on both splits: validation decides whether a set is
worth its cost (one forward pass per view), the test set reports. The presets average two views (`tta_flip`).
"""

import argparse
import dataclasses

import numpy as np

from config import trained_run_config
from data.idx import load_idx_dataset
from data.pipeline import split_of_run
from models.classifier import load_trained_classifier
from runkit import cli
from runkit.errors import UserError
from runkit.files import RunFiles, write_json
from runkit.machine import machine_info

# A view: (pixels down, pixels right, mirrored).
FLIP = [(0, 0, False), (0, 0, True)]


def shifts(pixels: int) -> list[tuple[int, int, bool]]:
    """The four moves by `pixels`, each as stored and mirrored."""
    return [(down, right, mirrored) for down, right in ((pixels, 0), (-pixels, 0), (0, pixels), (0, -pixels))
            for mirrored in (False, True)]


VIEW_SETS = {"single view": FLIP[:1], "flip (the presets)": FLIP, "flip, 1 px shifts": FLIP + shifts(1),
             "flip, 2 px shifts": FLIP + shifts(2)}


def view(images: np.ndarray, down: int, right: int, mirrored: bool) -> np.ndarray:
    """(n, 28, 28) images moved (the background coming in), then mirrored."""
    pad = max(abs(down), abs(right))
    padded = np.pad(images, ((0, 0), (pad, pad), (pad, pad)))
    height, width = images.shape[1:]
    moved = padded[:, pad - down:pad - down + height, pad - right:pad - right + width]
    return moved[:, :, ::-1] if mirrored else moved


def view_set_accuracies(predict, images: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Accuracy of the mean of each VIEW_SETS entry's probabilities; `predict` maps (n, 28, 28) images to
    (n, classes) probabilities. Each distinct view is predicted once."""
    probs = {v: predict(view(images, *v)) for v in dict.fromkeys(v for views in VIEW_SETS.values() for v in views)}
    return {name: float((sum(probs[v] for v in views).argmax(axis=1) == labels).mean())
            for name, views in VIEW_SETS.items()}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description="Accuracy with each set of test-time views.")
    parser.add_argument("--out", help="write the result as JSON here")
    args, overrides = parser.parse_known_args(argv)
    cfg = dataclasses.replace(trained_run_config(overrides), tta_flip=False)  # the views are made here
    if cfg.dataset != "fashion_mnist":
        raise UserError(f"bench.tta measures Fashion-MNIST runs; {cfg.artifacts_dir} trained on {cfg.dataset}")
    ((images, labels), (x_test, y_test)), _ = load_idx_dataset("fashion_mnist", cfg.data_dir)
    images, test = images[..., 0], (x_test[..., 0], y_test)  # (n, 28, 28): the views move and mirror them
    _, val = split_of_run(images, labels, cfg)
    classifier = load_trained_classifier(cfg, RunFiles(cfg.artifacts_dir).best_weights)

    def predict(x):
        return classifier.predict(x[..., None].astype("float32"), batch_size=512, verbose=0)

    by_split = {split: view_set_accuracies(predict, *data) for split, data in (("val", val), ("test", test))}
    result = {"run": cfg.artifacts_dir, "machine": machine_info(),
              "view_sets": {name: {"views": len(views), "val_accuracy": by_split["val"][name],
                                   "test_accuracy": by_split["test"][name]} for name, views in VIEW_SETS.items()}}
    for name, r in result["view_sets"].items():
        print(f"{name:20s} {r['views']:2d} views: val {r['val_accuracy']:.4f}, test {r['test_accuracy']:.4f}")
    if args.out:
        write_json(args.out, result)


if __name__ == "__main__":
    cli.run(main)
