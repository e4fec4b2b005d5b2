"""Export the trained classifier: `python export_model.py` writes exports/fashion_mnist_model.h5.

The exported model takes raw 28x28x1 pixels (0-255, black background) and returns 10 softmax
probabilities in the order of data.CLASS_NAMES. It has no augmentation layers and loads with
`keras.models.load_model(path)`; the script reloads it and checks its predictions before keeping it.
"""

from pathlib import Path

import cli
from artifacts import RunFiles, require
from data import CLASS_NAMES, load_fashion_mnist
from models.export import export_checked
from models.mobilenet import load_trained_classifier

CHECK_IMAGES = 512


def main(argv: list[str]) -> None:
    cfg = cli.trained_run_config(argv)
    files = RunFiles(cfg.artifacts_dir)
    classifier = load_trained_classifier(cfg, require(files.best_weights, "train.py"))
    (_, (x_test, _)), _ = load_fashion_mnist(cfg.data_dir)

    path = Path(cfg.exports_dir) / "fashion_mnist_model.h5"
    max_diff = export_checked(classifier, path, x_test[:CHECK_IMAGES, ..., None])
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB); reloaded, it matches the trained model on "
          f"{CHECK_IMAGES} test images (max probability difference {max_diff:.1e})")
    print(f"input: raw 28x28x1 pixels 0-255; output: probabilities of {', '.join(CLASS_NAMES)}")


if __name__ == "__main__":
    cli.run(main)
