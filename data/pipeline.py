"""Train/validation split and the input pipelines that feed the model.

The pipeline carries the raw 28x28x1 uint8 images (47 MB for the whole training set); the model
itself upsamples each batch to image_size and makes three channels, so the upsampled data set is
never materialised (60k x 224 x 224 x 3 float32 would be 36 GB).
"""

import math

import keras
import numpy as np
from sklearn.model_selection import train_test_split

from runkit.errors import UserError
from runkit.machine import optional_tensorflow

tf = optional_tensorflow()


def split_train_val(images, labels, val_fraction: float, seed: int):
    """Stratified (x_train, y_train), (x_val, y_val): every class keeps its share in both."""
    try:
        x_train, x_val, y_train, y_val = train_test_split(
            images, labels, test_size=val_fraction, stratify=labels, random_state=seed
        )
    except ValueError as e:  # e.g. too few images per class for the requested split
        raise UserError(f"cannot split {len(labels)} images with val_fraction={val_fraction}: {e}") from None
    return (x_train, y_train), (x_val, y_val)


def split_seed(cfg) -> int:
    """The seed of a run's train/validation split: its `split_seed`, or its `seed` where that is None."""
    return cfg.seed if cfg.split_seed is None else cfg.split_seed


def split_of_run(images, labels, cfg):
    """(x_train, y_train), (x_val, y_val) of a run's config."""
    return split_train_val(images, labels, cfg.val_fraction, split_seed(cfg))


def make_dataset(images, labels, batch_size: int, shuffle: bool = False, seed: int = 0):
    """Batches of (uint8 images (b, 28, 28, 1), int labels (b,)), shuffled each epoch if asked.

    `batch_size` is the global batch: under a tf.distribute strategy it is split over the replicas.

    A tf.data pipeline where TensorFlow is installed, else the same batches from `ArrayBatches`.
    """
    images, labels = np.asarray(images)[..., np.newaxis], np.asarray(labels)
    if tf is None:
        return ArrayBatches(images, labels, batch_size, shuffle, seed)
    ds = tf.data.Dataset.from_tensor_slices((images, labels))
    if shuffle:
        ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    # Arrays in memory have no files to shard by: in a multi-worker run each worker keeps every n-th batch
    # of the same seeded order (tf.distribute would otherwise try FILE sharding first and warn).
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE).with_options(options)


def skip_epochs(dataset, epochs: int) -> None:
    """Advance the shuffle order past `epochs` epochs, so a resumed run sees an uninterrupted run's batches."""
    for _ in range(epochs):
        if isinstance(dataset, ArrayBatches):
            dataset.on_epoch_end()
        else:
            iter(dataset)  # each tf.data iterator draws the next epoch's order


class ArrayBatches(keras.utils.PyDataset):
    """In-memory batches for backends without tf.data, reshuffled each epoch from a seeded generator."""

    def __init__(self, images, labels, batch_size: int, shuffle: bool, seed: int):
        super().__init__()
        self.images, self.labels, self.batch_size, self.shuffle = images, labels, batch_size, shuffle
        self.rng = np.random.default_rng(seed)
        self.order = np.arange(len(images))
        self.on_epoch_end()

    def __len__(self):
        return math.ceil(len(self.images) / self.batch_size)

    def __getitem__(self, index):
        rows = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        return self.images[rows], self.labels[rows]

    def on_epoch_end(self):
        if self.shuffle:
            self.order = self.rng.permutation(len(self.images))
