"""Fashion-MNIST loading and input pipelines."""

from data.fashion_mnist import CLASS_NAMES, load_fashion_mnist, read_idx
from data.pipeline import make_dataset, skip_epochs, split_train_val

__all__ = ["CLASS_NAMES", "load_fashion_mnist", "read_idx", "make_dataset", "skip_epochs", "split_train_val"]
