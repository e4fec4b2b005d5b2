"""The corruption suite: what phones and scanners do to a picture (noise, blur, JPEG, low resolution, tilt,
framing, light) and what users draw over it (lines, spatter, stripes, outlines), each at one moderate severity with
its own seeded draws, in the spirit of MNIST-C (Mu & Gilmer 2019) and Fashion-MNIST-C (Weiss & Tonella 2022), for
28x28 grey pictures. `python -m bench.robustness` measures a model on it (docs/robustness.md).
"""

import io

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

SIDE = 28


def as_uint8(images) -> np.ndarray:
    return np.clip(np.round(images), 0, 255).astype(np.uint8)


def per_image(images: np.ndarray, change) -> np.ndarray:
    return np.stack([change(image, i) for i, image in enumerate(images)])


def affine(images: np.ndarray, rng, matrix_of) -> np.ndarray:
    """Each image moved by the 2x2 matrix `matrix_of(rng)` about its centre; black comes in."""
    centre = np.array([SIDE - 1, SIDE - 1]) / 2

    def move(image, _):
        matrix = matrix_of(rng)
        return ndimage.affine_transform(image.astype(np.float32), matrix, offset=centre - matrix @ centre, order=1)
    return as_uint8(per_image(images, move))


def rotation_matrix(degrees: float) -> np.ndarray:
    angle = np.deg2rad(degrees)
    return np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])


def jpeg(images, quality: int) -> np.ndarray:
    def compress(image, _):
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, "JPEG", quality=quality)
        return np.asarray(Image.open(buffer))
    return per_image(images, compress)


def lines(images, rng, count: int = 2) -> np.ndarray:
    def draw(image, _):
        picture = Image.fromarray(image)
        pen = ImageDraw.Draw(picture)
        for _ in range(count):
            pen.line([tuple(rng.integers(0, SIDE, 2)) for _ in range(2)], fill=int(rng.integers(150, 256)), width=1)
        return np.asarray(picture)
    return per_image(images, draw)


def spatter(images, rng) -> np.ndarray:
    """Blots: a sparse random field, smoothed and thresholded, painted light or dark."""
    field = ndimage.gaussian_filter(rng.random(images.shape), sigma=(0, 1.2, 1.2))
    blots = field > np.quantile(field, 0.93, axis=(1, 2), keepdims=True)
    colour = np.where(rng.random((len(images), 1, 1)) < 0.5, 0, 255)
    return np.where(blots, colour, images).astype(np.uint8)


def fog(images, rng) -> np.ndarray:
    """A smooth haze of up to 110 grey levels, from noise upsampled from 4x4."""
    haze = ndimage.zoom(rng.random((len(images), 4, 4)), (1, SIDE / 4, SIDE / 4), order=3)
    return as_uint8(images + 110 * np.clip(haze, 0, 1))


def outlines(images) -> np.ndarray:
    """Edge drawings: the gradient magnitude (Sobel), stretched to 0-255. Image by image: on the stack, Sobel
    would smooth across the batch axis too and draw the neighbours' edges into each picture."""
    def edges(image, _):
        x = image.astype(np.float32)
        magnitude = np.hypot(ndimage.sobel(x, axis=0), ndimage.sobel(x, axis=1))
        return as_uint8(255 * magnitude / max(magnitude.max(), 1))
    return per_image(images, edges)


# name -> function of (images (n, 28, 28) uint8, rng): each at one moderate severity.
CORRUPTIONS = {
    "gaussian noise": lambda x, rng: as_uint8(x + rng.normal(0, 40, x.shape)),
    "impulse noise": lambda x, rng: np.where(rng.random(x.shape) < 0.06, rng.choice([0, 255], x.shape), x)
    .astype(np.uint8),
    "gaussian blur": lambda x, rng: as_uint8(ndimage.gaussian_filter(x.astype(np.float32), sigma=(0, 1.0, 1.0))),
    "motion blur": lambda x, rng: as_uint8(ndimage.uniform_filter1d(x.astype(np.float32), size=5, axis=2)),
    "jpeg": lambda x, rng: jpeg(x, quality=8),
    "pixelate": lambda x, rng: per_image(x, lambda image, _: np.asarray(
        Image.fromarray(image).resize((12, 12), Image.Resampling.BOX).resize((SIDE, SIDE), Image.Resampling.NEAREST))),
    "rotate 20-30 deg": lambda x, rng: affine(x, rng, lambda r: rotation_matrix(r.uniform(20, 30) * r.choice([-1, 1]))),
    "shear 0.3": lambda x, rng: affine(x, rng, lambda r: np.array([[1, r.choice([-0.3, 0.3])], [0, 1]])),
    "scale 0.65": lambda x, rng: affine(x, rng, lambda r: np.eye(2) / 0.65),
    "shift 4 px": lambda x, rng: per_image(x, lambda image, _: ndimage.shift(image, rng.choice([-4, 4], 2), order=0)),
    "brightness +90": lambda x, rng: as_uint8(x.astype(np.int32) + 90),
    "contrast x0.35": lambda x, rng: as_uint8(x.mean(axis=(1, 2), keepdims=True)
                                              + 0.35 * (x - x.mean(axis=(1, 2), keepdims=True))),
    "fog": fog,
    "spatter": spatter,
    "stripes": lambda x, rng: as_uint8(x + 70 * (np.arange(SIDE) % 4 < 2)[None, None, :]),
    "lines": lines,
    "outlines": lambda x, rng: outlines(x),
}


def corrupted(images: np.ndarray, name: str, seed: int) -> np.ndarray:
    """`images` (n, 28, 28) uint8 under the corruption `name`, with draws seeded by (seed, its place in the suite)."""
    rng = np.random.default_rng([seed, list(CORRUPTIONS).index(name)])
    return CORRUPTIONS[name](images, rng)


def suite_accuracies(predict, images: np.ndarray, labels: np.ndarray, seed: int = 0, chunk: int = 1000) -> dict:
    """{"clean": accuracy, "corruptions": {name: accuracy}, "mean": their mean}; `predict` maps (n, 28, 28, 1)
    raw pixels to probabilities, called on `chunk` images at a time (10,000 at once took 8.5 GB through ONNX)."""
    def accuracy(x):
        x = x[..., None].astype("float32")
        predicted = np.concatenate([predict(x[i:i + chunk]).argmax(axis=1) for i in range(0, len(x), chunk)])
        return float(np.mean(predicted == labels))

    by_name = {name: accuracy(corrupted(images, name, seed)) for name in CORRUPTIONS}
    return {"clean": accuracy(images), "corruptions": by_name, "mean": float(np.mean(list(by_name.values())))}
