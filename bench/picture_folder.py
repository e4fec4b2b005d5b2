"""Folder data sets (`--dataset folder`) made from what is at hand: `python -m bench.picture_folder --out DIR`.

    python -m bench.picture_folder --out data/fmnist_png                   # Fashion-MNIST's 28x28 images as PNGs
    python -m bench.picture_folder --out data/fmnist_photos --style photos  # photo-like, 96-128 px, in colour
    python -m bench.picture_folder --out data/digits --style digits         # scikit-learn's 8x8 digits

Each image becomes DIR/train/<class>/<index>.png (or DIR/test/...), numbered in the data set's order, with
DIR/classes.txt giving its label order: `train.py --dataset folder --data_dir DIR` then reads the same pixels
in the same order as the IDX files. `--style photos` draws each as `bench.photos` does, on a square canvas of
96-128 px: the garment dark on a lit backdrop, off-centre, tinted, noisy, blurred, saved as JPEG.
`--style digits` writes the 1,797 handwritten digits scikit-learn ships (UCI; 8x8, 17 grey levels scaled to
0-255) as DIR/<digit>/<index>.png, with no test/: the folder loader holds out the test set.
"""

import argparse
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from data.idx import load_idx_dataset
from data.spec import FASHION_MNIST_CLASSES
from evaluation.photos import render_photo
from runkit import cli
from runkit.errors import UserError

PHOTO_SIDES = (96, 128)


def folder_name(class_name: str) -> str:
    return class_name.replace("/", "-")  # T-shirt/top: no slash in a folder name


def write_one(task) -> None:
    path, image, style, seed = task
    if style == "stored":
        Image.fromarray(image).save(path)
        return
    rng = np.random.default_rng(seed)
    side = int(rng.integers(PHOTO_SIDES[0], PHOTO_SIDES[1] + 1))
    path.write_bytes(render_photo(image, rng, canvas=(side, side)))


def write_digits(out: Path) -> int:
    from sklearn.datasets import load_digits

    digits = load_digits()
    for i, (image, label) in enumerate(zip(digits.images, digits.target, strict=True)):
        (out / str(label)).mkdir(parents=True, exist_ok=True)
        Image.fromarray((image * 255 / 16).round().astype(np.uint8)).save(out / str(label) / f"{i:05d}.png")
    return len(digits.images)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description="Write Fashion-MNIST as a folder of pictures, a subfolder per class.")
    parser.add_argument("--out", type=Path, required=True, help="the folder to write (must not exist)")
    parser.add_argument("--style", choices=("stored", "photos", "digits"), default="stored")
    parser.add_argument("--data_dir", help="folder with the four Fashion-MNIST files (default: as train.py finds them)")
    parser.add_argument("--count", type=int, help="the first N images of each split (default: all)")
    args = parser.parse_args(argv)
    if args.out.exists():
        raise UserError(f"{args.out} exists: give a new folder")
    started, tasks = time.monotonic(), []
    if args.style == "digits":
        print(f"wrote {write_digits(args.out)} pictures (digits) to {args.out}/ in {time.monotonic() - started:.0f} s")
        return
    splits, _ = load_idx_dataset("fashion_mnist", args.data_dir)
    for split, (images, labels) in zip(("train", "test"), splits, strict=True):
        for name in FASHION_MNIST_CLASSES:
            (args.out / split / folder_name(name)).mkdir(parents=True)
        for i, (image, label) in enumerate(zip(images[:args.count, ..., 0], labels[:args.count], strict=True)):
            suffix = "png" if args.style == "stored" else "jpg"
            path = args.out / split / folder_name(FASHION_MNIST_CLASSES[label]) / f"{i:05d}.{suffix}"
            tasks.append((path, image, args.style, [i, split == "test"]))
    with ProcessPoolExecutor(os.cpu_count()) as pool:
        list(pool.map(write_one, tasks, chunksize=256))
    (args.out / "classes.txt").write_text("".join(f"{folder_name(n)}\n" for n in FASHION_MNIST_CLASSES))
    print(f"wrote {len(tasks)} pictures ({args.style}) to {args.out}/ in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    cli.run(main, announce_machine=False)
