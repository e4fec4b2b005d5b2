"""The exported model on test images photographed: `python -m bench.photos --model FILE [--count N] [--out FILE]`.

    python -m bench.photos --model exports/fashion_mnist_model.onnx --data_dir DIR --out runs/photos.json

Each test image is rendered as a product photo a user might take (a dark garment on a light-grey backdrop,
off-centre on a 480x640 canvas, unevenly lit, tinted, with sensor noise, a slight blur and JPEG), then read
back through `data.images.load_image`, as `predict.py` and `demo.py` read users' files. Prints and writes
the accuracy on the stored images and on their photos, same model, same images.
"""

import argparse
import io
import time
from pathlib import Path

import numpy as np

from data.idx import load_idx_dataset
from data.images import load_image
from data.spec import FASHION_MNIST_CLASSES
from evaluation.photos import render_photo
from inference.runtime import model_runner
from runkit import cli
from runkit.files import require, write_json
from runkit.machine import machine_info


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description="Accuracy of an exported model on test images as photos.")
    parser.add_argument("--model", type=Path, required=True, help="an exported model (.h5, .keras or .onnx)")
    parser.add_argument("--data_dir", help="folder with the four Fashion-MNIST files (default: as train.py finds them)")
    parser.add_argument("--count", type=int, default=1000, help="first N test images (default 1000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="write the result as JSON here")
    args = parser.parse_args(argv)
    (_, (images, labels)), _ = load_idx_dataset("fashion_mnist", args.data_dir)
    images = images[..., 0]
    images, labels = images[:args.count], labels[:args.count]
    predict = model_runner(require(args.model, "export_model.py"))

    rng, start = np.random.default_rng(args.seed), time.time()
    photos = np.stack([load_image(io.BytesIO(render_photo(image, rng))) for image in images])
    stored = predict(images[..., None]).argmax(axis=1)
    seen = predict(photos[..., None]).argmax(axis=1)
    result = {
        "model": str(args.model), "count": len(labels), "seed": args.seed,
        "stored_accuracy": float((stored == labels).mean()), "photo_accuracy": float((seen == labels).mean()),
        "photo_accuracy_by_class": {name: float((seen[labels == c] == c).mean())
                                    for c, name in enumerate(FASHION_MNIST_CLASSES)},
        "seconds": round(time.time() - start, 1), "machine": machine_info(),
    }
    print(f"{len(labels)} test images: {result['stored_accuracy']:.2%} as stored, "
          f"{result['photo_accuracy']:.2%} as photos")
    if args.out:
        write_json(args.out, result)


if __name__ == "__main__":
    cli.run(main)
