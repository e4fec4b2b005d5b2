"""Turn any picture into what the model was trained on: 28x28 uint8, the garment light on black."""

import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from runkit.errors import UserError

SIDE = 28


MAX_PIXELS = 50_000_000  # a larger picture is refused before it is decoded (a decompression bomb, or a mistake)


def to_fashion_mnist(image: Image.Image) -> np.ndarray:
    """Grayscale, light-on-dark (a light background is inverted), fitted into 28x28 with its aspect ratio."""
    gray = grayscale(image)
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


def grayscale(image: Image.Image) -> np.ndarray:
    """8-bit grey of any picture: upright as its EXIF says, transparency over white, 16-bit and float scaled
    (not clipped), CMYK and palettes converted; an animation's first frame."""
    image = ImageOps.exif_transpose(image)
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") else max(values.max(), 1.0)
        return np.clip(values / top * 255, 0, 255).round().astype(np.uint8)
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
    return np.asarray(image.convert("L"), dtype=np.uint8)


def load_image(path) -> np.ndarray:
    """The file as a 28x28 Fashion-MNIST-like image, or a one-line error naming it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                if image.width * image.height > MAX_PIXELS:
                    raise UserError(f"{path}: {image.width}x{image.height} pixels is over the {MAX_PIXELS:,} this "
                                    "accepts; shrink the picture first")
                return to_fashion_mnist(image)
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"{path}: a folder, not a picture; give the picture files in it") from None
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise UserError(f"{path}: declares more pixels than a picture should (a decompression bomb?)") from None
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise UserError(f"{path}: not a readable image ({type(e).__name__})") from None
