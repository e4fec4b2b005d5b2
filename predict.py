"""Classify your own pictures with the exported model.

    python predict.py shirt.jpg boot.png            # top 3 classes with probabilities
    python predict.py photos/*.jpg --top_k 1 --json  # machine-readable output
    python predict.py shirt.jpg --model exports/fashion_mnist_model.onnx   # through ONNX Runtime

Any export serves: the exports.json beside it names its classes and how a picture is converted. Any size,
colour or grayscale: for the MNISTs each file is converted like their training data (grayscale, the data set's
polarity, fitted into 28x28); for other data sets its largest centred square is resized to the model's input.
A picture that is not like any class the model learned (its "not recognised" score, saved with the export, is
below the threshold: inference/novelty.py) is said to be not recognised, its closest classes still shown; `--json`
gives each picture's `known` and `score`. A file that is not an image gets one line on stderr and the others are
still classified; the exit status is then 1.
"""

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

from data.images import conversion_of, load_image
from inference.runtime import (
    DEFAULT_FOLDER,
    default_model,
    novelty_of,
    recognised,
    runtime_of,
    scored_runner,
    spec_of_export,
    top_classes,
)
from runkit import cli
from runkit.errors import UserError
from runkit.files import require
from runkit.text import printable


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description="Classify image files with an exported model.")
    parser.add_argument("images", nargs="+", type=Path)
    parser.add_argument("--model", type=Path, help=f"default: the .h5 export_model.py wrote into {DEFAULT_FOLDER}/")
    parser.add_argument("--top_k", type=int, default=3, metavar="K", help="classes to show (default 3)")
    parser.add_argument("--json", action="store_true", help="one JSON list on stdout")
    args = parser.parse_args(argv)
    if args.top_k < 1:
        raise UserError(f"--top_k {args.top_k}: give 1 or more")

    model_path = require(args.model or default_model(), "export_model.py")
    spec, novelty = spec_of_export(model_path), novelty_of(model_path)
    print(f"running on {os.cpu_count()} CPU cores, {runtime_of(model_path)}", file=sys.stderr, flush=True)
    run = scored_runner(model_path, spec, novelty)  # first: the model is checked against its record before any picture
    convert, images, results = conversion_of(spec), [], []
    for path in args.images:  # each file its result or its error, in the order given
        try:
            images.append(load_image(path, convert=convert))
            results.append({"file": printable(path)})
        except UserError as e:
            print(f"error: {e}", file=sys.stderr)
            results.append({"file": printable(path), "error": str(e)})
    if images:
        probs, scores = run(np.stack(images))
        for result, i in zip((r for r in results if "error" not in r), range(len(images)), strict=True):
            result["top"] = top_classes(probs[i], args.top_k, spec.class_names)
            if scores is not None:
                result |= {"known": bool(recognised(scores[i], novelty)[0]), "score": float(scores[i])}

    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for result in results:
            if "top" in result:
                closest = ", ".join(f"{printable(t['class'])} {t['probability']:.1%}" for t in result["top"])
                if result.get("known", True):
                    print(f"{result['file']}: {closest}")
                else:
                    print(f"{result['file']}: not recognised as any class (closest: {closest})")
    if len(images) < len(args.images):
        sys.exit(1)

if __name__ == "__main__":
    cli.run(main, announce_machine=False)  # main says what it runs on: the ONNX path imports no Keras
