"""Does an export say "not recognised" to pictures that are not garments? `python -m bench.unknown --model FILE`.

    python -m bench.unknown --model exports/fashion_mnist_model.onnx --data_dir DIR --out runs/unknown.json
    python -m bench.unknown --model exports/fashion_mnist_model.h5 --data_dir DIR --compare   # + other methods

Scores, with the "not recognised" score and threshold saved with the export (inference/novelty.py): the pictures
of bench/non_garments.py, read as predict.py reads a user's; the 10,000 test garments; and test garments rendered as
photos (bench/photos.py). Prints and writes the AUROC (test garments against non-garments), the share of
non-garments marked, per family and in all, on the part of the set that chose the method and on the part that
reports, and the shares of test garments and photo renderings kept recognised. `--compare` (a Keras export) adds
the maximum softmax probability, the energy score and Mahalanobis distance on the pooled features, each with a
threshold keeping the same share of the validation split: the measurement that chose the method.
"""

import argparse
import io
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from data.idx import load_idx_dataset
from data.images import load_image
from data.pipeline import split_train_val
from evaluation.non_garments import non_garments, split
from evaluation.photos import render_photo
from inference.runtime import novelty_of, scored_runner, spec_of_export
from runkit import cli
from runkit.errors import UserError
from runkit.files import read_json, require, write_json
from runkit.machine import machine_info


def read_pictures(pictures) -> np.ndarray:
    return np.stack([load_image(io.BytesIO(p.data), p.group) for p in pictures])[..., np.newaxis]


def shares(scores: dict, threshold: float, choose, report) -> dict:
    """AUROC and marked/kept shares of one method's scores (higher: more like the training pictures)."""
    def auroc(outliers):
        return float(roc_auc_score(np.r_[np.ones(len(scores["test"])), np.zeros(len(outliers))],
                                   np.r_[scores["test"], outliers]))

    def by_family(pictures, values):
        families = {}
        for picture, value in zip(pictures, values, strict=True):
            families.setdefault(picture.family, []).append(bool(value < threshold))
        return {family: float(np.mean(marked)) for family, marked in families.items()}

    return {"threshold": float(threshold),
            "test_recognised": float(np.mean(scores["test"] >= threshold)),
            "photos_recognised": float(np.mean(scores["photos"] >= threshold)),
            **{f"{part}_marked": float(np.mean(scores[part] < threshold)) for part in ("choose", "report")},
            **{f"{part}_auroc": auroc(scores[part]) for part in ("choose", "report")},
            "choose_marked_by_family": by_family(choose, scores["choose"]),
            "report_marked_by_family": by_family(report, scores["report"])}


def other_methods(model_path: Path, sets: dict, novelty: dict, config: dict, train) -> dict:
    """The maximum softmax probability, the energy score and Mahalanobis distance (tied covariance, on FIT_IMAGES
    training images) on each set, and the validation scores that set their thresholds."""
    from sklearn.covariance import LedoitWolf

    from inference.novelty import FIT_IMAGES, probabilities_and_features
    from inference.runtime import load_keras_export
    from models.classifier import classifier_of

    export = load_keras_export(model_path)
    model = probabilities_and_features(export)
    weights, bias = classifier_of(export).get_layer("probs").get_weights()
    split_seed = config["seed"] if config["split_seed"] is None else config["split_seed"]
    (x_train, y_train), (x_val, _) = split_train_val(*train, config["val_fraction"], split_seed)
    chosen = np.random.default_rng(novelty["seed"]).choice(len(x_train), FIT_IMAGES, replace=False)
    train_features = model.predict(x_train[chosen], batch_size=256, verbose=0)[1]
    classes = np.unique(y_train)
    means = np.stack([train_features[y_train[chosen] == c].mean(0) for c in classes])
    precision = LedoitWolf().fit(train_features - means[np.searchsorted(classes, y_train[chosen])]).precision_

    def scores(images):
        probs, features = model.predict(images, batch_size=256, verbose=0)
        logits = features @ weights + bias  # the mean of the views' logits: the layer is linear
        top = logits.max(1)
        distances = np.stack([np.einsum("ij,jk,ik->i", features - m, precision, features - m) for m in means], 1)
        return {"max_softmax": probs.max(1), "energy": top + np.log(np.exp(logits - top[:, None]).sum(1)),
                "mahalanobis": -distances.min(1)}

    every = {name: scores(images) for name, images in {**sets, "val": x_val}.items()}
    return {method: {name: every[name][method] for name in every} for method in every["val"]}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description="Share of non-garment pictures an export marks as not recognised.")
    parser.add_argument("--model", type=Path, required=True, help="an exported model (.h5, .keras or .onnx)")
    parser.add_argument("--data_dir", help="folder with the four Fashion-MNIST files (default: as train.py finds them)")
    parser.add_argument("--photos", type=int, default=1000, help="test images rendered as photos (default 1000)")
    parser.add_argument("--compare", action="store_true", help="also measure the other methods (a Keras export)")
    parser.add_argument("--out", type=Path, help="write the result as JSON here")
    args = parser.parse_args(argv)
    model = require(args.model, "export_model.py")
    spec, novelty = spec_of_export(model), novelty_of(model)
    if spec.name != "fashion_mnist":
        raise UserError(f"{model} was trained on {spec.name}; bench.unknown's pictures are non-garments for a "
                        "Fashion-MNIST model")
    if novelty is None:
        raise UserError(f"the exports.json beside {model} has no 'not recognised' score: export it again with "
                        "`python evaluate.py && python export_model.py`")
    if args.compare and model.suffix == ".onnx":
        raise UserError("--compare needs the model's layers: give the .h5 or .keras export")

    started = time.monotonic()
    (train, (test_images, _)), source = load_idx_dataset("fashion_mnist", args.data_dir)
    rng = np.random.default_rng(0)
    photos = np.stack([load_image(io.BytesIO(render_photo(image[..., 0], rng)), "photo")
                       for image in test_images[:args.photos]])[..., np.newaxis]
    choose, report = split(non_garments(seed=0))
    sets = {"test": test_images, "photos": photos, "choose": read_pictures(choose), "report": read_pictures(report)}
    print(f"scoring {len(test_images)} test garments, {len(photos)} photo renderings and {len(choose) + len(report)} "
          f"non-garments ({len(choose)} choose the method, {len(report)} report) ...", flush=True)
    run = scored_runner(model, spec, novelty)
    results = {"shipped": shares({name: run(images)[1] for name, images in sets.items()}, novelty["threshold"],
                                 choose, report)}
    if args.compare:
        config = read_json(model.parent / "exports.json", "export_model.py")["config"]
        for method, scores in other_methods(model, sets, novelty, config, train).items():
            results[method] = shares(scores, np.quantile(scores["val"], 1 - novelty["keep"]), choose, report)

    print(f"{'method':14} {'test kept':>9} {'photos kept':>11} {'marked (choose)':>15} {'marked (report)':>15} "
          f"{'AUROC (report)':>14}")
    for method, r in results.items():
        print(f"{method:14} {r['test_recognised']:9.2%} {r['photos_recognised']:11.2%} {r['choose_marked']:15.2%} "
              f"{r['report_marked']:15.2%} {r['report_auroc']:14.4f}")
    print("marked by family (report): " + ", ".join(
        f"{family} {share:.0%}" for family, share in results["shipped"]["report_marked_by_family"].items()))
    if args.out:
        write_json(args.out, {"methods": results, "shipped_method": novelty["method"], "keep": novelty["keep"],
                              "model": str(args.model), "pictures": {"choose": len(choose), "report": len(report),
                                                                     "photos": len(photos), "test": len(test_images)},
                              "data_source": source, "seconds": time.monotonic() - started,
                              "machine": machine_info()})
        print(f"wrote {args.out}")


if __name__ == "__main__":
    cli.run(main)
