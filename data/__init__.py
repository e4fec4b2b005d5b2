"""Fashion-MNIST loading and input pipelines."""

from runkit.machine import optional_tensorflow

optional_tensorflow()  # first, before Keras imports it: TensorFlow's start-up lines silenced

from data.fashion_mnist import CLASS_NAMES, load_fashion_mnist, read_idx  # noqa: E402
from data.pipeline import ShuffledBatches, make_dataset, split_of_run, split_train_val  # noqa: E402

__all__ = ["CLASS_NAMES", "load_fashion_mnist", "read_idx", "make_dataset", "ShuffledBatches", "split_of_run",
           "split_train_val"]
