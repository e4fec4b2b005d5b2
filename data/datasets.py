"""The data sets a run can train on (`--dataset`): each loaded from its files (data/idx.py, data/cifar.py,
data/folder.py) into uint8 arrays with its `DataSpec` (data/spec.py), and checked against the one a run trained on.
"""

import dataclasses
from typing import NamedTuple

import numpy as np

from data.cifar import load_cifar
from data.folder import load_folder
from data.idx import load_idx_dataset
from data.spec import CIFAR10_CLASSES, CIFAR100_CLASSES, FASHION_MNIST, MNIST, DataSpec, photos
from runkit.errors import UserError
from runkit.files import read_json


class Dataset(NamedTuple):
    train: tuple[np.ndarray, np.ndarray]  # images (n, height, width, channels) uint8, labels (n,)
    test: tuple[np.ndarray, np.ndarray]
    spec: DataSpec
    source: str  # where the pictures came from
    test_origin: str  # how the test set was made


def load_dataset(cfg) -> Dataset:
    """The data set `cfg.dataset` names, from `cfg.data_dir` or its default place."""
    if cfg.dataset in ("fashion_mnist", "mnist"):
        (train, test), source = load_idx_dataset(cfg.dataset, cfg.data_dir)
        spec = FASHION_MNIST if cfg.dataset == "fashion_mnist" else MNIST
        return Dataset(train, test, spec, source, "the official test set")
    if cfg.dataset in ("cifar10", "cifar100"):
        (train, test), names, source = load_cifar(cfg.dataset, cfg.data_dir)
        names = names or (CIFAR10_CLASSES if cfg.dataset == "cifar10" else CIFAR100_CLASSES)
        return Dataset(train, test, photos(cfg.dataset, names, (32, 32, 3)), source, "the official test set")
    train, test, names, test_origin, source = load_folder(cfg.data_dir, cfg.stored_size, cfg.test_fraction)
    return Dataset(train, test, photos("folder", names, train[0].shape[1:]), source, test_origin)


def dataset_record(data: Dataset) -> dict:
    """What dataset.json and exports.json keep of a data set."""
    return {**dataclasses.asdict(data.spec), "source": data.source, "test_set": data.test_origin,
            "train_images": len(data.train[1]), "test_images": len(data.test[1])}


def load_run_dataset(cfg, files) -> Dataset:
    """The data set of a trained run, checked against the one it trained on."""
    data = load_dataset(cfg)
    check_trained_on(files, data)
    return data


def check_trained_on(files, data: Dataset) -> None:
    """A one-line error unless `data` is what the run in `files` trained on (dataset.json): a folder whose classes
    or picture size changed since would be read into a model that does not fit it."""
    trained = run_spec(files)
    if trained != data.spec:
        changes = [f"{f.name} {getattr(trained, f.name)!r} then, {getattr(data.spec, f.name)!r} now"
                   for f in dataclasses.fields(DataSpec) if getattr(trained, f.name) != getattr(data.spec, f.name)]
        raise UserError(f"{data.source} is not the data set {files.root} trained on: {'; '.join(changes)}; "
                        "point --data_dir at the data it trained on, or train a new run")


def run_spec(files) -> DataSpec:
    """The data-set spec a run trained with (runs from before data sets were a choice: Fashion-MNIST)."""
    if not files.dataset.exists():
        return FASHION_MNIST
    return DataSpec.from_record(read_json(files.dataset, "train.py"), files.dataset)
