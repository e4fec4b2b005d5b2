"""What each data set's pictures are like: a `DataSpec`, and the records that keep one.

A `DataSpec` is everything downstream that depends on the data set: class names, the stored input shape, the
fill of new pixels, whether a mirror image keeps the label, and how a user's picture is converted. train.py
saves it with the run (dataset.json) and export_model.py with the exports, so that later scripts, predict.py
and the demo need no flag to know it. Nothing here reads pictures: predict.py's ONNX path imports it alone.
"""

import dataclasses
from dataclasses import dataclass

from runkit.errors import UserError
from runkit.records import finite_number
from runkit.text import printable

TITLES = {"fashion_mnist": "Fashion-MNIST", "mnist": "MNIST", "cifar10": "CIFAR-10", "cifar100": "CIFAR-100"}
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
CIFAR100_CLASSES = (  # the archive's fine labels, in its order
    "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle", "bowl",
    "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle", "chair", "chimpanzee",
    "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur", "dolphin", "elephant",
    "flatfish", "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard", "lamp", "lawn_mower",
    "leopard", "lion", "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain", "mouse", "mushroom",
    "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck", "pine_tree", "plain", "plate",
    "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road", "rocket", "rose", "sea", "seal", "shark",
    "shrew", "skunk", "skyscraper", "snail", "snake", "spider", "squirrel", "streetcar", "sunflower",
    "sweet_pepper", "table", "tank", "telephone", "television", "tiger", "tractor", "train", "trout", "tulip",
    "turtle", "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm"
)


@dataclass(frozen=True)
class DataSpec:
    name: str
    class_names: tuple[str, ...]
    input_shape: tuple[int, int, int]  # (height, width, channels) of the stored uint8 images
    background: float  # value of new pixels (augmentation, occlusion): the MNISTs' black; mid-grey for photos
    fill_mode: str  # how geometric augmentation fills: "constant" (the background) or "reflect" (photos)
    mirror_keeps_label: bool  # False for digits: a mirrored 3 is no 3 (no flip augmentation, no flip averaging)
    conversion: str  # a user's picture: "mnist" (the data sets' own recipe, data/images.py) or "fit" (crop, resize)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @classmethod
    def from_record(cls, record, source) -> "DataSpec":
        """The spec a JSON record (dataset.json, exports.json's "dataset") holds, every field checked: a one-line
        error naming `source` and the field for a record that is damaged, tampered with or from elsewhere."""
        if not isinstance(record, dict):
            raise UserError(f"{source}: its data-set record is not a JSON object; {REWRITE}")
        values = {f.name: tuple(v) if isinstance(v := record.get(f.name), list) else v for f in dataclasses.fields(cls)}
        for field, check, needs in RECORD_CHECKS:
            if not check(values[field]):
                raise UserError(f"{source}: its data set's {field} is {printable(repr(values[field]))[:80]}, not "
                                f"{needs}; {REWRITE}")
        return cls(**values)


MAX_SIDE = 1024  # the largest stored picture side: a 1024x1024 colour picture is 3 MB, a hundred thousand 300 GB
REWRITE = "write it again with the script that made it (train.py, export_model.py)"


def side(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_SIDE


RECORD_CHECKS = (  # (field, check, what it must be): a tampered record fails here, before a picture is converted
    ("name", lambda v: isinstance(v, str), "a name"),
    ("class_names", lambda v: isinstance(v, tuple) and len(v) >= 2 and len(set(v)) == len(v)
     and all(isinstance(n, str) and n.isprintable() and n for n in v), "two or more distinct names in plain text"),
    ("input_shape", lambda v: isinstance(v, tuple) and len(v) == 3 and all(map(side, v)) and v[2] in (1, 3),
     f"(height, width, 1 or 3 channels), sides up to {MAX_SIDE}"),
    ("background", lambda v: finite_number(v) and 0 <= v <= 255, "a pixel value from 0 to 255"),
    ("fill_mode", lambda v: v in ("constant", "reflect"), "'constant' or 'reflect'"),
    ("mirror_keeps_label", lambda v: isinstance(v, bool), "true or false"),
    ("conversion", lambda v: v in ("mnist", "fit"), "'mnist' or 'fit'"),
)


def mnist_like(name, class_names, mirror_keeps_label):
    return DataSpec(name, class_names, (28, 28, 1), 0.0, "constant", mirror_keeps_label, "mnist")


def photos(name, class_names, shape):
    return DataSpec(name, tuple(class_names), tuple(shape), 127.5, "reflect", True, "fit")


FASHION_MNIST = mnist_like("fashion_mnist", FASHION_MNIST_CLASSES, True)  # clothes are left-right symmetric
MNIST = mnist_like("mnist", tuple("0123456789"), False)
DATASETS = ("fashion_mnist", "mnist", "cifar10", "cifar100", "folder")
