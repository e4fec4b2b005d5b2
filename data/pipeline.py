"""Train/validation split and the tf.data pipelines that feed the model.

The pipeline carries the raw 28x28x1 uint8 images (47 MB for the whole training set); the model
itself upsamples each batch to image_size and makes three channels, so the upsampled data set is
never materialised (60k x 224 x 224 x 3 float32 would be 36 GB).
"""

import numpy as np
import tensorflow as tf
from sklearn.model_selection import train_test_split

from errors import UserError


def split_train_val(images, labels, val_fraction: float, seed: int):
    """Stratified (x_train, y_train), (x_val, y_val): every class keeps its share in both."""
    try:
        x_train, x_val, y_train, y_val = train_test_split(
            images, labels, test_size=val_fraction, stratify=labels, random_state=seed
        )
    except ValueError as e:  # e.g. too few images per class for the requested split
        raise UserError(f"cannot split {len(labels)} images with val_fraction={val_fraction}: {e}") from None
    return (x_train, y_train), (x_val, y_val)


def make_dataset(images, labels, batch_size: int, shuffle: bool = False, seed: int = 0) -> tf.data.Dataset:
    """Batches of (uint8 images (b, 28, 28, 1), int labels (b,)), shuffled each epoch if asked."""
    images = np.asarray(images)[..., np.newaxis]
    ds = tf.data.Dataset.from_tensor_slices((images, np.asarray(labels)))
    if shuffle:
        ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
