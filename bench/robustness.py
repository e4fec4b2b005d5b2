"""An exported model on corrupted test images: `python -m bench.robustness --model FILE [--out FILE]`.

    python -m bench.robustness --model exports/fashion_mnist_model.onnx --data_dir DIR --out runs/robustness.json
    python -m bench.robustness --model exports/fashion_mnist_model.onnx --validation_of artifacts  # to choose

Each of the 10,000 Fashion-MNIST test images goes through each corruption of the suite below, at one moderate
severity with its own seeded draws, in the spirit of MNIST-C (Mu & Gilmer 2019) and Fashion-MNIST-C (Weiss &
Tonella 2022): what phones and scanners do to a picture (noise, blur, JPEG, low resolution, tilt, framing, light)
and what users draw over it (lines, spatter, stripes, outlines). Prints and writes the accuracy per corruption
and their mean, beside the clean accuracy of the same model on the same images. Training must not see these
exact corruptions: it may learn their families, the suite measures. The model card reports the suite when
`evaluate.py --corruption_suite true` measured it; this script writes only its own results.
"""

import argparse
import dataclasses
import time
from pathlib import Path

import numpy as np

from data.idx import load_idx_dataset
from evaluation.corruptions import SIDE, suite_accuracies
from inference.runtime import model_runner
from runkit import cli
from runkit.errors import UserError
from runkit.files import RunFiles, require, write_json
from runkit.machine import machine_info


def validation_images(run: Path, data_dir: str | None) -> tuple[np.ndarray, np.ndarray, str]:
    """The validation images and labels a trained run held out, for choosing between runs (the test set reports)."""
    from data.datasets import load_run_dataset
    from data.pipeline import split_of_run  # imports TensorFlow: only this path needs it
    from models.runs import saved_run_config

    cfg = saved_run_config(run)
    data = load_run_dataset(dataclasses.replace(cfg, data_dir=data_dir or cfg.data_dir), RunFiles(run))
    if data.spec.input_shape != (SIDE, SIDE, 1):
        raise UserError(f"{run} trained on {data.spec.name} {data.spec.input_shape}: the suite's corruptions are "
                        "made for 28x28 grey pictures")
    _, (images, labels) = split_of_run(*data.train, cfg)
    return images, labels, f"validation split of {run} ({data.source})"


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description="Accuracy of an exported model on corrupted test images.")
    parser.add_argument("--model", type=Path, required=True, help="an exported model (.h5, .keras or .onnx)")
    parser.add_argument("--data_dir", help="folder with the four Fashion-MNIST files (default: as train.py finds them)")
    parser.add_argument("--validation_of", type=Path, metavar="RUN_DIR",
                        help="score this trained run's validation images instead of the test set (to choose)")
    parser.add_argument("--count", type=int, help="the first N images (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="write the result as JSON here")
    args = parser.parse_args(argv)
    if args.validation_of:
        images, labels, source = validation_images(args.validation_of, args.data_dir)
    else:
        (_, (images, labels)), source = load_idx_dataset("fashion_mnist", args.data_dir)
    images, labels = images[:args.count, ..., 0], labels[:args.count]
    predict = model_runner(require(args.model, "export_model.py"))

    started = time.monotonic()
    result = suite_accuracies(predict, images, labels, args.seed)
    print(f"{'corruption':18} accuracy")
    for name, value in [("clean", result["clean"]), *result["corruptions"].items(), ("mean", result["mean"])]:
        print(f"{name:18} {value:.4f}")
    record = {**result, "model": str(args.model), "images": len(images), "seed": args.seed,
              "split": "validation" if args.validation_of else "test", "data_source": source,
              "seconds": time.monotonic() - started, "machine": machine_info()}
    if args.out:
        write_json(args.out, record)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    cli.run(main)
