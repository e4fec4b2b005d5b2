"""Turn any picture into what the model was trained on: for the MNISTs the data set's own recipe (28x28 uint8, the
object light on black, fitted and centred), for other data sets a plain fit (centre crop to the aspect, resize)."""

import os
import stat
import warnings

import numpy as np
from PIL import Image, ImageFilter, ImageOps

from runkit.errors import UserError
from runkit.text import printable

SIDE = 28
FAINT = 0.03  # share of the garment's contrast below which its box is trimmed (JPEG, glare, clipped light)
MAX_PIXELS = 50_000_000  # a larger picture is refused before it is decoded (a decompression bomb, or a mistake)
# Pillow checks every picture's declared size against this before decoding it, pictures inside another file too
# (an icon's PNG is decoded while the icon is opened): over it, a DecompressionBombWarning, which load_image refuses.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
HIGH_DEPTH = ("I;16", "I;16B", "I;16L", "I", "F")  # 16-bit, 32-bit integer and float grey
WORK_SIDE = 1024  # a picture over twice this on its long side is shrunk to 1-2x it before the floating-point work


def to_fashion_mnist(image: Image.Image) -> np.ndarray:
    """The data set's own conversion (Xiao et al. 2017, section 2) of a picture of one garment.

    The backdrop is the plane through the picture's border (uneven light is no garment); the garment is
    what differs from it, negated when the backdrop is light, as the data set's product photos were. Its
    box is trimmed out, its longest edge resized to 28 pixels, centred on black, and its contrast stretched
    to 0-255. (The paper also sharpens; on bench.photos' renderings that cost accuracy: docs/photos.md.)
    """
    gray = grayscale(shrunk(image)).astype(np.float32)
    backdrop = border_plane(gray)
    contrast = np.clip(backdrop - gray if backdrop.mean() > 127 else gray - backdrop, 0, 255)
    top, bottom, left, right = garment_box(contrast)
    garment = Image.fromarray(contrast[top:bottom, left:right].astype(np.uint8))
    if max(garment.size) not in (SIDE - 1, SIDE):  # 27 or 28 pixels: already the data set's size
        scale = SIDE / max(garment.size)
        size = (max(1, round(garment.width * scale)), max(1, round(garment.height * scale)))
        garment = garment.resize(size, Image.Resampling.LANCZOS)  # no sharpening after: it cost accuracy
    fitted = np.asarray(garment, np.float32)
    fitted *= 255 / max(fitted.max(), 1)
    canvas = np.zeros((SIDE, SIDE), np.uint8)  # the black background
    top, left = (SIDE + 1 - fitted.shape[0]) // 2, (SIDE + 1 - fitted.shape[1]) // 2  # odd margins: more above, left
    canvas[top:top + fitted.shape[0], left:left + fitted.shape[1]] = fitted.round()
    return canvas


def border_plane(gray: np.ndarray) -> np.ndarray:
    """The backdrop: the plane that best fits the picture's outermost pixels, leaving out those that stand
    out of it (where the garment reaches the border, as it does in the data set's own images)."""
    height, width = gray.shape
    rows, cols = np.mgrid[0:height, 0:width] / max(height, width)
    edge = np.zeros(gray.shape, bool)
    edge[[0, -1]], edge[:, [0, -1]] = True, True
    design = np.stack([np.ones(edge.sum()), rows[edge], cols[edge]], axis=1)
    values = gray[edge]
    coef = np.array([np.median(values), 0.0, 0.0])
    for _ in range(3):
        residual = values - design @ coef
        keep = np.abs(residual) <= 3 * np.median(np.abs(residual)) + 2
        coef = np.linalg.lstsq(design[keep], values[keep], rcond=None)[0]
    return (coef[0] + coef[1] * rows + coef[2] * cols).astype(np.float32)


def garment_box(contrast: np.ndarray) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of what stands out of the backdrop by more than the border's noise (a
    large picture smoothed first, so its sensor noise averages out); the whole picture when nothing does."""
    radius = min(contrast.shape) // 200
    if radius:
        blurred = Image.fromarray(contrast.astype(np.uint8)).filter(ImageFilter.BoxBlur(radius))
        contrast = np.asarray(blurred, np.float32)
    border = np.concatenate([contrast[0], contrast[-1], contrast[:, 0], contrast[:, -1]])
    noise = np.percentile(border, 75)  # a garment touching the border raises it but little
    mask = contrast > max(4 * noise + 2, FAINT * contrast.max())
    if not mask.any():
        return 0, contrast.shape[0], 0, contrast.shape[1]
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return rows[0], rows[-1] + 1, cols[0], cols[-1] + 1


def shrunk(image: Image.Image) -> Image.Image:
    """A large picture box-reduced by a whole factor to 1-2x WORK_SIDE on its long side, before any conversion (a
    phone photo's 12-48 megapixels would cost gigabytes as floating-point planes); a smaller one as it is. The
    garment still spans hundreds of pixels."""
    factor = max(image.size) // WORK_SIDE
    if factor < 2:
        return image
    if image.mode not in ("L", "LA", "RGB", "RGBA", "I", "F"):  # what Pillow can average: palettes, CMYK, 16 bit
        transparent = image.mode in ("PA", "La") or "transparency" in image.info
        image = image.convert("RGBA" if transparent else "I" if image.mode.startswith("I;16") else "RGB")
    return image.reduce(factor)


def decode_size(size: tuple[int, int]) -> tuple[int, int]:
    """The smallest size worth decoding a picture at: WORK_SIDE on its long side (what a JPEG's draft mode
    decodes at 1/2, 1/4 or 1/8 of its size, at a fraction of the time and memory)."""
    scale = min(1.0, WORK_SIDE / max(*size, 1))  # a stub format's size may be 0x0
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def upright_8bit(image: Image.Image) -> Image.Image:
    """A picture upright as its EXIF says, in 8 bits: 16-bit and 32-bit grey scaled to 0-255 over their range
    (16-bit: 0-65535; 32-bit and float: 0 to their maximum), not clipped as Pillow's convert("L") clips them;
    transparency over white. The one conversion of every bit depth, for every path."""
    image = ImageOps.exif_transpose(image)
    if image.mode in HIGH_DEPTH:
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") else max(values.max(), 1.0)
        return Image.fromarray(np.clip(values / top * 255, 0, 255).round().astype(np.uint8))
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
    return image


def grayscale(image: Image.Image) -> np.ndarray:
    """8-bit grey of any picture (upright_8bit's, then CMYK and palettes converted; an animation's first frame)."""
    return np.asarray(upright_8bit(image).convert("L"), dtype=np.uint8)


def fitted(image: Image.Image, side: int, channels: int) -> np.ndarray:
    """A picture as (side, side, channels) uint8 (upright_8bit's), the largest centred square cropped out and
    resized; a picture of that size as it is, pixel for pixel."""
    image = upright_8bit(image).convert("L" if channels == 1 else "RGB")
    if image.size != (side, side):
        image = ImageOps.fit(image, (side, side), Image.Resampling.BICUBIC)
    return np.asarray(image, np.uint8).reshape(side, side, channels)


def conversion_of(spec) -> callable:
    """The function from an open picture to the model's input that a data set's spec (data/datasets.py) names."""
    if spec.conversion == "mnist":
        return lambda image: to_fashion_mnist(image)[..., np.newaxis]
    side, _, channels = spec.input_shape
    return lambda image: fitted(image, side, channels)


def load_image(source, name=None, convert=to_fashion_mnist) -> np.ndarray:
    """A picture file (a path or a binary file object) converted by `convert` (by default into a 28x28
    Fashion-MNIST-like image), or a one-line error naming it (`name`, or the path): any failure to read or
    convert one picture is that picture's error."""
    name = printable(source if name is None else name)
    if isinstance(source, (str, os.PathLike)):
        check_regular_file(source, name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's notes on a damaged file ("Corrupt EXIF data"): not the user's
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source) as image:  # which checks the declared size first (MAX_IMAGE_PIXELS)
                image.draft(image.mode, decode_size(image.size))  # JPEG only; others decode whole
                return convert(image)
    except UserError:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise UserError(f"{name}: declares more than the {MAX_PIXELS:,} pixels this accepts (a decompression bomb, "
                        "or a picture to shrink first)") from None
    except MemoryError:
        raise UserError(f"{name}: too large to convert in the memory left; shrink the picture first") from None
    except Exception as e:  # Pillow's decoders raise many kinds on a malformed file (SyntaxError, struct.error, ...)
        raise UserError(f"{name}: not a readable image ({type(e).__name__})") from None


def check_regular_file(path, name: str) -> None:
    """A one-line error unless `path` is a regular file (a named pipe would block the reader, a device never end)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise UserError(f"{name}: no such file") from None
    except OSError as e:
        raise UserError(f"{name}: cannot be read ({e.strerror})") from None
    if stat.S_ISDIR(mode):
        raise UserError(f"{name}: a folder, not a picture; give the picture files in it")
    if not stat.S_ISREG(mode):
        raise UserError(f"{name}: not a regular file (a pipe, socket or device); give a picture file")
