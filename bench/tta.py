"""Which test-time views pay? `python -m bench.tta [config overrides] [--out FILE]`.

    python -m bench.tta --preset quick --artifacts_dir RUN --data_dir DIR --out runs/tta.json

The trained run's classifier sees each image of the validation split and of the test set as stored, mirrored,
and moved 1 or 2 pixels up, down, left and right (each of those also mirrored). For each set of views the
accuracy of the mean of their probabilities is reported on both splits: validation decides whether a set is
worth its cost (one forward pass per view), the test set reports. The presets average two views (`tta_flip`).
"""

import argparse
import dataclasses

from data.idx import load_idx_dataset
from data.pipeline import split_of_run
from evaluation.tta import VIEW_SETS, view_set_accuracies
from models.classifier import load_trained_classifier
from models.runs import trained_run_config
from runkit import cli
from runkit.errors import UserError
from runkit.files import RunFiles, write_json
from runkit.machine import machine_info


# A view: (pixels down, pixels right, mirrored).
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
