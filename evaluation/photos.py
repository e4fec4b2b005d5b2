"""A stored image rendered as the product photo a user might take (a dark garment on a light-grey backdrop,
off-centre, unevenly lit, tinted, with sensor noise, a slight blur and JPEG): the pictures `python -m bench.photos`
measures a model on, and the tests read back through `data.images.load_image` (docs/photos.md).
"""

import io

import numpy as np
from PIL import Image, ImageFilter


def render_photo(image: np.ndarray, rng: np.random.Generator, canvas: tuple[int, int] | None = None) -> bytes:
    """A 28x28 stored image (light garment on black) as the JPEG bytes of a photo of it: on a canvas of
    (height, width) pixels, or 480x640 either way round."""
    height, width = canvas or ((480, 640) if rng.random() < 0.5 else (640, 480))
    short = min(height, width)
    side = int(rng.integers(short // 3, short - short // 12))  # the garment's longest edge, in pixels
    garment = np.asarray(Image.fromarray(image).resize((side, side), Image.Resampling.BICUBIC), np.float32) / 255
    rows, cols = np.mgrid[0:height, 0:width] / max(height, width)
    canvas = rng.uniform(170, 235) + rng.uniform(-12, 12) * (rows - 0.5) + rng.uniform(-12, 12) * (cols - 0.5)
    top, left = int(rng.integers(0, height - side + 1)), int(rng.integers(0, width - side + 1))
    patch = canvas[top:top + side, left:left + side]
    canvas[top:top + side, left:left + side] = patch * (1 - garment) + rng.uniform(10, 60) * garment  # ink on paper
    colour = canvas[..., None] * rng.uniform(0.9, 1.1, 3) + rng.normal(0, rng.uniform(2, 6), (height, width, 3))
    photo = Image.fromarray(np.clip(colour, 0, 255).astype(np.uint8)).filter(
        ImageFilter.GaussianBlur(rng.uniform(0.5, 1.5) * min(1.0, short / 240)))
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=int(rng.integers(70, 93)))
    return buffer.getvalue()
