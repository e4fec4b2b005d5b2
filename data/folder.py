"""A data set of the user's own pictures: one subfolder per class, read with Pillow.

    DIR/<class>/*.png             the test set is held out from it: stratified, test_fraction, seed TEST_SEED
    DIR/train/<class>/*.jpg       or a test set of the user's own: the same classes in DIR/test/
    DIR/test/<class>/*.jpg
    DIR/classes.txt               optional: the class names in label order, one per line (else sorted)

Pictures are ordered by file name (then class), so that files numbered as a data set stores its images keep its
order, and with it the split a seed draws. Every picture is fitted to one stored size once (data/images.py
`fitted`) and kept as uint8 in memory, as the MNISTs are: 100,000 pictures at 64 px in colour take 1.2 GB. Pillow
rather than
`keras.utils.image_dataset_from_directory`: that one streams float32 batches through TensorFlow, while the
pipeline wants the uint8 arrays, the data set's channels (grey stays one channel) and a file it cannot read
skipped with its name, not a stopped run.
"""

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.model_selection import train_test_split

from data.images import fitted, load_image
from runkit.errors import UserError
from runkit.text import printable

SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
GREY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"}
TEST_SEED = 0  # the held-out test set is the same for every run on the folder, whatever its --seed
LARGEST_OWN_SIZE = 128  # pictures of one square size up to this are kept at it; others are fitted to DEFAULT_SIZE
DEFAULT_SIZE = 64


def check_class_names(names, where: Path) -> None:
    """Each class name one line of text: it is written into terminal lines, reports, plots and exports.json."""
    for name in names:
        if not name.isprintable():
            raise UserError(f"{printable(where)}: the class name '{printable(name)}' holds a newline, tab, control "
                            "character or bytes that are not UTF-8; rename it to plain text")


def class_order(root: Path, folder: Path) -> tuple[str, ...] | None:
    """The class names `root/classes.txt` lists, checked against the class folders in `folder`; None without it."""
    listing = root / "classes.txt"
    if not listing.is_file():
        return None
    names = tuple(line.strip() for line in listing.read_text().splitlines() if line.strip())
    check_class_names(names, listing)
    found = {p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")}
    if set(names) != found or len(set(names)) != len(names):
        raise UserError(f"{listing}: lists {', '.join(names)}, but the class folders are {', '.join(sorted(found))}; "
                        "make them the same (each once) or delete it")
    return names


def class_files(folder: Path, classes: tuple[str, ...] | None = None) -> dict[str, list[Path]]:
    """{class name: its picture files}, classes in the order `classes` gives (else sorted); each must hold
    pictures, and every class in `classes` must be there."""
    if not folder.is_dir():
        raise UserError(f"{folder}: no such folder; give a folder with one subfolder of pictures per class")
    found = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    check_class_names(found, folder)
    if classes is not None and sorted(classes) != found:
        missing, extra = sorted(set(classes) - set(found)), sorted(set(found) - set(classes))
        raise UserError(f"{folder}: its classes differ from train/'s ("
                        + "; ".join(filter(None, [missing and f"missing {', '.join(missing)}",
                                                  extra and f"not in train/: {', '.join(extra)}"]))
                        + "); give both the same class folders")
    if len(found) < 2:
        raise UserError(f"{folder}: {len(found)} class folder{'s' * (len(found) != 1)} ({', '.join(found) or 'none'}); "
                        "a classifier needs at least two: one subfolder of pictures per class")
    files = {}
    for name in classes or found:
        files[name] = sorted(p for p in (folder / name).rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file())
        if not files[name]:
            raise UserError(f"{folder / name}: no pictures ({', '.join(sorted(SUFFIXES))}); add some or remove "
                            "the folder")
    return files


def stored_shape(paths: list[Path], stored_size: int | None) -> tuple[int, int, int]:
    """(side, side, channels) every picture is fitted to: `stored_size`, else the pictures' own size where they
    share one square size up to LARGEST_OWN_SIZE, else DEFAULT_SIZE; one channel where every picture is grey."""
    sizes, grey = set(), True
    for path in paths:
        try:
            with Image.open(path) as image:  # reads the header only
                sizes.add(image.size)
                grey &= image.mode in GREY_MODES
        except Exception:  # Pillow raises many kinds on a malformed file: said when the picture is read
            pass
    side = stored_size
    if side is None:
        own = next(iter(sizes)) if len(sizes) == 1 else (0, 1)
        side = own[0] if own[0] == own[1] <= LARGEST_OWN_SIZE else DEFAULT_SIZE
    return side, side, 1 if grey else 3


def read_pictures(paths: list[Path], shape: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The pictures as (n, *shape) uint8 and whether each could be read; each one that could not is named on stderr.

    Each is read by `load_image`, as predict.py and the demo read a user's picture: the same checks, and the same
    pixels a served model will see (no other decoding path for training)."""
    images = np.zeros((len(paths), *shape), np.uint8)
    ok = np.ones(len(paths), bool)

    def convert(image):
        return fitted(image, shape[0], shape[2])

    def read(i):
        try:
            images[i] = load_image(paths[i], convert=convert)
        except UserError as e:
            ok[i] = False
            print(f"warning: skipped {e}", file=sys.stderr)

    with ThreadPoolExecutor(os.cpu_count()) as pool:  # Pillow decodes without the GIL
        list(pool.map(read, range(len(paths))))
    return images, ok


def as_arrays(folder: Path, files: dict[str, list[Path]], shape) -> tuple[np.ndarray, np.ndarray]:
    """Images and labels (class indices in the order of `files`) of the readable pictures, by file name."""
    pairs = sorted((path.name, c, path) for c, group in enumerate(files.values()) for path in group)
    paths = [path for _, _, path in pairs]
    labels = np.array([c for _, c, _ in pairs], np.int64)
    print(f"reading {len(paths):,} pictures from {folder} into {'x'.join(map(str, shape))} ...", flush=True)
    started = time.monotonic()
    images, ok = read_pictures(paths, shape)
    print(f"read them in {time.monotonic() - started:.0f} s", flush=True)
    if not ok.all():  # (a copy: only then)
        print(f"warning: {np.count_nonzero(~ok)} of {len(paths)} files skipped", file=sys.stderr)
        images, labels = images[ok], labels[ok]
    for c, name in enumerate(files):
        if not np.any(labels == c):
            raise UserError(f"{folder / name}: none of its pictures could be read")
    return images, labels


def load_folder(data_dir: str | None, stored_size: int | None, test_fraction: float):
    """((x_train, y_train), (x_test, y_test)) uint8 arrays, the class names, the test set's origin and the source."""
    if not data_dir:
        raise UserError("--dataset folder needs --data_dir DIR: a folder with one subfolder of pictures per class")
    root = Path(data_dir).expanduser()
    own_test = (root / "train").is_dir()
    if own_test and not (root / "test").is_dir():
        raise UserError(f"{root}: has train/ but no test/; add test/ with the same class folders, or put the "
                        f"class folders in {root} itself to hold out a test set")
    train_dir = root / "train" if own_test else root
    train = class_files(train_dir, class_order(root, train_dir) if train_dir.is_dir() else None)
    classes = tuple(train)
    test = class_files(root / "test", classes) if own_test else None
    shape = stored_shape([p for group in train.values() for p in group], stored_size)
    images, labels = as_arrays(train_dir, train, shape)
    if own_test:
        return (images, labels), as_arrays(root / "test", test, shape), classes, f"{root}/test/", str(root)
    try:
        x_train, x_test, y_train, y_test = train_test_split(images, labels, test_size=test_fraction, stratify=labels,
                                                            random_state=TEST_SEED)
    except ValueError as e:  # too few pictures in a class to hold some out
        raise UserError(f"{root}: cannot hold out test_fraction={test_fraction} of each class ({e}); add pictures "
                        "or give a test/ folder") from None
    return ((x_train, y_train), (x_test, y_test), classes,
            f"held out from {root}: stratified {test_fraction:g} of each class, seed {TEST_SEED}", str(root))
