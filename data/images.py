"""Turn any picture into what the model was trained on: 28x28 uint8, the garment light on black."""

import numpy as np
from PIL import Image, UnidentifiedImageError

from runkit.errors import UserError

SIDE = 28


def to_fashion_mnist(image: Image.Image) -> np.ndarray:
    """Grayscale, light-on-dark (a light background is inverted), fitted into 28x28 with its aspect ratio."""
    gray = np.asarray(image.convert("L"), dtype=np.uint8)
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    if np.median(border) > 127:  # dark-on-light (a product photo on white): flip to the data set's polarity
        gray = 255 - gray
    height, width = gray.shape
    scale = SIDE / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    fitted = np.asarray(Image.fromarray(gray).resize(size, Image.Resampling.LANCZOS))
    canvas = np.zeros((SIDE, SIDE), np.uint8)  # the black background
    top, left = (SIDE - fitted.shape[0]) // 2, (SIDE - fitted.shape[1]) // 2
    canvas[top:top + fitted.shape[0], left:left + fitted.shape[1]] = fitted
    return canvas


def load_image(path) -> np.ndarray:
    """The file as a 28x28 Fashion-MNIST-like image, or a one-line error naming it."""
    try:
        with Image.open(path) as image:
            return to_fashion_mnist(image)
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except (UnidentifiedImageError, OSError) as e:
        raise UserError(f"{path}: not a readable image ({type(e).__name__})") from None
