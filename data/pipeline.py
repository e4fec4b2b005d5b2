"""Train/validation split and the input pipelines that feed the model.

The pipeline carries the raw stored uint8 images (47 MB for Fashion-MNIST's training set); the model
itself resizes each batch to image_size and makes three channels, so the upsampled data set is
never materialised (60k x 224 x 224 x 3 float32 would be 36 GB).
"""

import math

import numpy as np
from sklearn.model_selection import train_test_split

from runkit.errors import UserError
from runkit.frameworks import keras, tf


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


def make_dataset(images, labels, batch_size: int):
    """Batches of (uint8 images (b, height, width, channels), labels) in the given order, for evaluation and validation.

    `batch_size` is the global batch: under a tf.distribute strategy it is split over the replicas.
    A tf.data pipeline where TensorFlow is installed, else the same batches from `ArrayBatches`.
    """
    return EpochBatches(images, labels, batch_size, seed=None).dataset


def epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    """The order of n training images in `epoch`: a function of (seed, epoch) alone, so that a resumed run (on
    any backend, however many iterators Keras opens) sees the uninterrupted run's batches."""
    return np.random.default_rng([seed, epoch]).permutation(n).astype("int32")


class EpochBatches:
    """Training batches in each epoch's order, `epoch_order(seed, epoch)`: `use_epoch(e)` selects it before the
    epoch's iterator is opened (models.training does it at each epoch's start). With seed None, the given order.

    `.dataset` is what `fit` takes: a tf.data pipeline that reads the epoch from a variable where TensorFlow is
    installed, else `ArrayBatches`.
    """

    def __init__(self, images, labels, batch_size: int, seed: int | None, epochs: int = 1):
        images, labels = np.asarray(images), np.asarray(labels)
        if images.ndim == 3:  # (n, height, width): one grey channel
            images = images[..., np.newaxis]
        count = np.arange(len(images), dtype="int32")
        self.orders = np.stack([count if seed is None else epoch_order(len(images), seed, e) for e in range(epochs)])
        if tf is None:
            self.dataset = ArrayBatches(images, labels, batch_size, self.orders)
            return
        self.epoch = tf.Variable(0, dtype="int64", trainable=False)
        orders, images, labels = (tf.constant(a) for a in (self.orders, images, labels))
        # Plain tensor ops: not converted by AutoGraph, which would leave its generated files in the temp folder.
        plain = tf.autograph.experimental.do_not_convert
        ds = tf.data.Dataset.from_tensors(0).flat_map(
            plain(lambda _: tf.data.Dataset.from_tensor_slices(tf.gather(orders, self.epoch))))
        ds = ds.batch(batch_size).map(plain(lambda rows: (tf.gather(images, rows), tf.gather(labels, rows))))
        ds = ds.apply(tf.data.experimental.assert_cardinality(math.ceil(len(images) / batch_size)))  # for Keras
        # Arrays in memory have no files to shard by: in a multi-worker run each worker keeps every n-th batch
        # of the same seeded order (tf.distribute would otherwise try FILE sharding first and warn).
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        self.dataset = ds.prefetch(tf.data.AUTOTUNE).with_options(options)

    def use_epoch(self, epoch: int) -> None:
        if not 0 <= epoch < len(self.orders):
            raise ValueError(f"epoch {epoch} outside the {len(self.orders)} epochs these batches were made for")
        if isinstance(self.dataset, ArrayBatches):
            self.dataset.order = self.orders[epoch]
        else:
            self.epoch.assign(epoch)


class ArrayBatches(keras.utils.PyDataset):
    """In-memory batches for backends without tf.data, in the order `EpochBatches` selects."""

    def __init__(self, images, labels, batch_size: int, orders):
        super().__init__()
        self.images, self.labels, self.batch_size, self.order = images, labels, batch_size, orders[0]

    def __len__(self):
        return math.ceil(len(self.images) / self.batch_size)

    def __getitem__(self, index):
        rows = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        return self.images[rows], self.labels[rows]
