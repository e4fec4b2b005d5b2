"""Test-time views of 28x28 pictures (shifted by whole pixels, mirrored) and the accuracy of the mean of a view
set's predictions: `python -m bench.tta` measures which set pays (docs/experiments.md).
"""

import numpy as np

FLIP = [(0, 0, False), (0, 0, True)]


def shifts(pixels: int) -> list[tuple[int, int, bool]]:
    """The four moves by `pixels`, each as stored and mirrored."""
    return [(down, right, mirrored) for down, right in ((pixels, 0), (-pixels, 0), (0, pixels), (0, -pixels))
            for mirrored in (False, True)]


VIEW_SETS = {"single view": FLIP[:1], "flip (the presets)": FLIP, "flip, 1 px shifts": FLIP + shifts(1),
             "flip, 2 px shifts": FLIP + shifts(2)}


def view(images: np.ndarray, down: int, right: int, mirrored: bool) -> np.ndarray:
    """(n, 28, 28) images moved (the background coming in), then mirrored."""
    pad = max(abs(down), abs(right))
    padded = np.pad(images, ((0, 0), (pad, pad), (pad, pad)))
    height, width = images.shape[1:]
    moved = padded[:, pad - down:pad - down + height, pad - right:pad - right + width]
    return moved[:, :, ::-1] if mirrored else moved


def view_set_accuracies(predict, images: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Accuracy of the mean of each VIEW_SETS entry's probabilities; `predict` maps (n, 28, 28) images to
    (n, classes) probabilities. Each distinct view is predicted once."""
    probs = {v: predict(view(images, *v)) for v in dict.fromkeys(v for views in VIEW_SETS.values() for v in views)}
    return {name: float((sum(probs[v] for v in views).argmax(axis=1) == labels).mean())
            for name, views in VIEW_SETS.items()}
