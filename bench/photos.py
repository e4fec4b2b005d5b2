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
from PIL import Image, ImageFilter

from data.idx import load_idx_dataset
from data.images import load_image
from data.spec import FASHION_MNIST_CLASSES
from inference.runtime import model_runner
from runkit import cli
from runkit.files import require, write_json
from runkit.machine import machine_info


def render_photo(image: np.ndarray, rng: np.random.Generator, canvas: tuple[int, int] | None = None) -> bytes:
    """A 28x28 stored image (light garment on black) as the JPEG bytes of a photo of it: on a canvas of
    (height, width) pixels, or 480x640 either way round."""
    height, width = canvas or ((480, 640) if rng.random() < 0.5 else (640, 480))
    short = min(height, width)
    side = int(rng.integers(short // 3, short - short // 12))  # the garment's longest edge, in pixels
    garment = np.asarray(Image.fromarray(image).resize((side, side), Image.Resampling.BICUBIC), np.float32) / 255
    rows, cols = np.mgrid[0:height, 0:width] / max(height, width)
    canvas = rng.uniform(170, 235) + rng.uniform(-12, 12) * (rows - 0.5) + rng.uniform(-12, 12) * (cols - 0.5)
    top, left = int(rng.integers(0, height - side + 1)), int(rng.integers(0, width - side + 1))
    patch = canvas[top:top + side, left:left + side]
    canvas[top:top + side, left:left + side] = patch * (1 - garment) + rng.uniform(10, 60) * garment  # ink on paper
    colour = canvas[..., None] * rng.uniform(0.9, 1.1, 3) + rng.normal(0, rng.uniform(2, 6), (height, width, 3))
    photo = Image.fromarray(np.clip(colour, 0, 255).astype(np.uint8)).filter(
        ImageFilter.GaussianBlur(rng.uniform(0.5, 1.5) * min(1.0, short / 240)))
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=int(rng.integers(70, 93)))
    return buffer.getvalue()


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
