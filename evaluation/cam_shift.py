"""Whether an activation map follows a garment: the map's peak and centre of mass before and after the garment
moves SHIFT pixels right; `python -m bench.cam_shift` measures it on test images (docs/explanations.md).
"""

import numpy as np

from evaluation.cam import activation_maps, map_side

SHIFT = 6  # pixels of the 28x28 image


def shifted(images: np.ndarray, pixels: int) -> np.ndarray:
    """The (n, 28, 28) images moved `pixels` to the right (left if negative), black coming in."""
    moved = np.zeros_like(images)
    if pixels >= 0:
        moved[:, :, pixels:] = images[:, :, :images.shape[2] - pixels]
    else:
        moved[:, :, :pixels] = images[:, :, -pixels:]
    return moved


def room_to_move(images: np.ndarray) -> np.ndarray:
    """Which (n, 28, 28) images have SHIFT / 2 black columns on each side."""
    margin = SHIFT // 2
    return (images[:, :, :margin].max(axis=(1, 2)) == 0) & (images[:, :, -margin:].max(axis=(1, 2)) == 0)


def peaks(maps: np.ndarray) -> np.ndarray:
    """(row, column) of each map's maximum."""
    return np.stack(np.unravel_index(maps.reshape(len(maps), -1).argmax(axis=1), maps.shape[1:]), axis=1)


def centres(maps: np.ndarray) -> np.ndarray:
    """(row, column) of each map's centre of mass over its upper half (values >= 0.5 of its peak)."""
    rows, cols = np.mgrid[0:maps.shape[1], 0:maps.shape[2]]
    weight = np.where(maps >= 0.5 * maps.max(axis=(1, 2), keepdims=True), maps, 0)
    total = np.maximum(weight.sum(axis=(1, 2)), 1e-12)  # an all-zero map has its centre at 0
    return np.stack([(weight * rows).sum(axis=(1, 2)) / total, (weight * cols).sum(axis=(1, 2)) / total], axis=1)


def follow(classifier, images: np.ndarray, method: str, max_stride: int | None) -> dict:
    """How the map's peak and centre move when (n, 28, 28) images move SHIFT pixels right, and where the
    unmoved images' peaks fall."""
    maps = {move: activation_maps(classifier, shifted(images, move)[..., None], method=method, max_stride=max_stride)
            for move in (-SHIFT // 2, 0, SHIFT // 2)}
    size = maps[0].shape[1]
    expected = SHIFT * size / 28

    def movement(locate) -> dict:
        moved = locate(maps[SHIFT // 2])[:, 1] - locate(maps[-SHIFT // 2])[:, 1]
        return {"mean": float(moved.mean()), "mean_abs_error": float(np.abs(moved - expected).mean())}

    bottom, right = (peaks(maps[0]) >= size / 2).T
    return {
        "map_side": map_side(classifier, method, max_stride),
        "expected_move": expected, "peak_move": movement(peaks), "centre_move": movement(centres),
        "peak_quadrants": {"top-left": int((~bottom & ~right).sum()), "top-right": int((~bottom & right).sum()),
                           "bottom-left": int((bottom & ~right).sum()), "bottom-right": int((bottom & right).sum())},
    }
