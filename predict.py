"""Classify your own pictures with the exported model.

    python predict.py shirt.jpg boot.png            # top 3 classes with probabilities
    python predict.py photos/*.jpg --top_k 1 --json  # machine-readable output
    python predict.py shirt.jpg --model exports/fashion_mnist_model.onnx   # through ONNX Runtime

Any size, colour or grayscale, garment light-on-dark or dark-on-light: each file is converted like the
training data (grayscale, the data set's polarity, fitted into 28x28). A file that is not an image gets
one line on stderr and the others are still classified; the exit status is then 1.
"""

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

from data.fashion_mnist import CLASS_NAMES
from data.images import load_image
from inference.runtime import model_runner, runtime_of, top_classes
from runkit import cli
from runkit.errors import UserError
from runkit.files import require

DEFAULT_MODEL = Path("exports/fashion_mnist_model.h5")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description="Classify image files with the exported Fashion-MNIST model.")
    parser.add_argument("images", nargs="+", type=Path)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help=f"default: {DEFAULT_MODEL}")
    parser.add_argument("--top_k", type=int, default=3, choices=range(1, len(CLASS_NAMES) + 1), metavar="K")
    parser.add_argument("--json", action="store_true", help="one JSON list on stdout")
    args = parser.parse_args(argv)

    model = require(args.model, "export_model.py")
    print(f"running on {os.cpu_count()} CPU cores, {runtime_of(model)}", file=sys.stderr, flush=True)
    loaded, results = {}, []
    for path in args.images:
        try:
            loaded[path] = load_image(path)
        except UserError as e:
            print(f"error: {e}", file=sys.stderr)
            results.append({"file": str(path), "error": str(e)})
    if loaded:
        probs = model_runner(model)(np.stack(list(loaded.values()))[..., None])
        results += [{"file": str(path), "top": top_classes(p, args.top_k)}
                    for path, p in zip(loaded, probs, strict=True)]

    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for result in results:
            if "top" in result:
                print(f"{result['file']}: " + ", ".join(f"{t['class']} {t['probability']:.1%}" for t in result["top"]))
    if len(loaded) < len(args.images):
        sys.exit(1)


if __name__ == "__main__":
    cli.run(main, announce_machine=False)  # main says what it runs on: the ONNX path imports no Keras
