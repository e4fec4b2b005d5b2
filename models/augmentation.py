"""Random changes to the stored images during training (`augmentation -> classifier` is the training model).

Each family is off unless the config asks for it (only what it asks is built: on TensorFlow one geometric layer
keeps Keras from compiling the step with XLA), each random layer draws its own stream, and new pixels are the
data set's own (the MNISTs' black background, never a reflection of the object). The changes work on the
stored image, which is small, so they cost little. The corruption families (sketch, light, blur, noise, impulse
noise, lines, gratings, AugMix) train for the pictures of `bench.robustness` without its exact changes
(docs/robustness.md); AugMix's consistency loss is models/consistency.py.
"""

import numpy as np

from config import CORRUPTION_FIELDS
from data.spec import FASHION_MNIST, DataSpec
from runkit.frameworks import keras, layers

# New names go last: the seeds of the others stay what they were.
AUGMENTATIONS = ("rotation", "zoom", "shear", "translation", "horizontal_flip", "erasing", "contrast", "brightness",
                 "blur", "noise", "augment_share", "sketch", "impulse", "lines", "augmix", "consistency_view_1",
                 "consistency_view_2", "gratings", "family_share")
PIXEL_RANGE = (0, 255)


def augmentation_seeds(seed: int) -> dict:
    """A seed of its own for each random layer, drawn from the run's seed: Keras layers given one seed make one
    stream of draws (a flip would happen exactly when a rotation is negative)."""
    return dict(zip(AUGMENTATIONS, (int(s) for s in np.random.SeedSequence(seed).generate_state(len(AUGMENTATIONS))),
                    strict=True))


class RandomChange(layers.Layer):
    """A random change of the images in training, drawn from a seed of its own (`change`); they pass as they are
    otherwise."""

    def __init__(self, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=False):
        if not training:
            return images
        return self.change(keras.ops.cast(images, self.compute_dtype))

    def change(self, images):
        raise NotImplementedError

    def compute_output_shape(self, input_shape):
        return input_shape


class RandomOnARate(RandomChange):
    """A random change that reaches each image with probability `rate`."""

    def __init__(self, rate: float, seed: int | None = None, **kwargs):
        super().__init__(seed, **kwargs)
        self.rate = rate

    def chosen(self, n):
        """Which of `n` images the change reaches, (n, 1, 1, 1)."""
        return keras.random.uniform((n, 1, 1, 1), seed=self.generator) < self.rate

    def pixel_grid(self, height, width):
        """The row and column of every pixel, (height, width) each."""
        return keras.ops.meshgrid(keras.ops.arange(height, dtype=self.compute_dtype),
                                  keras.ops.arange(width, dtype=self.compute_dtype), indexing="ij")


class RandomPixelNoise(RandomChange):
    """Gaussian noise on every pixel, its standard deviation drawn for each image from [0, max_std] so that a
    batch holds clean and noisy pictures (Keras' GaussianNoise gives all images one); training only."""

    def __init__(self, max_std: float, seed: int | None = None, **kwargs):
        super().__init__(seed, **kwargs)
        self.max_std = max_std

    def change(self, images):
        std = keras.random.uniform((keras.ops.shape(images)[0], 1, 1, 1), 0, self.max_std, seed=self.generator)
        noise = keras.random.normal(keras.ops.shape(images), seed=self.generator) * std
        return keras.ops.clip(images + noise, *PIXEL_RANGE)


class RandomImpulseNoise(RandomChange):
    """Pixels set to black or white (salt and pepper), their share drawn for each image from [0, max_share];
    training only."""

    def __init__(self, max_share: float, seed: int | None = None, **kwargs):
        super().__init__(seed, **kwargs)
        self.max_share = max_share

    def change(self, images):
        n, height, width = (keras.ops.shape(images)[i] for i in range(3))
        share = keras.random.uniform((n, 1, 1, 1), 0, self.max_share, seed=self.generator)
        hit = keras.random.uniform((n, height, width, 1), seed=self.generator) < share  # every channel of a pixel
        white = keras.random.uniform((n, height, width, 1), seed=self.generator) < 0.5
        return keras.ops.where(hit, keras.ops.where(white, PIXEL_RANGE[1], PIXEL_RANGE[0]), images)


class RandomSketch(RandomOnARate):
    """An image, with probability `rate`, redrawn as a sketch of its edges: the brightness gradient's magnitude
    (central differences), stretched to a peak drawn from [128, 255], over a share drawn from [0, 0.5] of the
    picture itself; training only."""

    def change(self, images):
        ops = keras.ops
        grey = ops.pad(ops.mean(images, axis=-1, keepdims=True), [(0, 0), (1, 1), (1, 1), (0, 0)])
        dy, dx = grey[:, 2:, 1:-1] - grey[:, :-2, 1:-1], grey[:, 1:-1, 2:] - grey[:, 1:-1, :-2]
        edges = ops.sqrt(dx * dx + dy * dy)
        edges = edges / ops.maximum(ops.max(edges, axis=(1, 2, 3), keepdims=True), 1.0)
        n = ops.shape(images)[0]
        peak = keras.random.uniform((n, 1, 1, 1), 128, 255, seed=self.generator)
        kept = keras.random.uniform((n, 1, 1, 1), 0, 0.5, seed=self.generator)
        sketch = ops.clip(edges * peak * (1 - kept) + images * kept, *PIXEL_RANGE)
        chosen = self.chosen(n)
        return ops.where(chosen, sketch, images)


class RandomLines(RandomOnARate):
    """An image, with probability `rate`, crossed by 1 to 3 straight lines, each with ends anywhere in it, a width
    of 1 to 2.5 pixels and a grey level of its own; training only."""

    MOST = 3

    def change(self, images):
        ops = keras.ops
        n, height, width = (ops.shape(images)[i] for i in range(3))
        size = ops.cast(ops.stack([height, width]), self.compute_dtype)
        ends = keras.random.uniform((n, self.MOST, 2, 2), seed=self.generator) * size  # (image, line, end, y/x)
        half_width = keras.random.uniform((n, self.MOST, 1, 1), 0.5, 1.25, seed=self.generator)
        level = keras.random.uniform((n, self.MOST, 1, 1), *PIXEL_RANGE, seed=self.generator)
        count = keras.random.randint((n, 1, 1, 1), 1, self.MOST + 1, seed=self.generator)
        chosen = self.chosen(n)
        y, x = self.pixel_grid(height, width)
        start, direction = ends[:, :, 0], ends[:, :, 1] - ends[:, :, 0]  # (n, lines, 2)
        sy, sx, dy, dx = (ops.reshape(v, (n, self.MOST, 1, 1)) for v in
                          (start[..., 0], start[..., 1], direction[..., 0], direction[..., 1]))
        along = ops.clip(((y - sy) * dy + (x - sx) * dx) / ops.maximum(dy * dy + dx * dx, 1e-6), 0, 1)
        distance = ops.sqrt((y - sy - along * dy) ** 2 + (x - sx - along * dx) ** 2)  # to the segment
        for line in range(self.MOST):
            on = (distance[:, line, :, :, None] < half_width[:, line, :, :, None]) & (line < count) & chosen
            images = ops.where(on, level[:, line, :, :, None], images)
        return images


class RandomGratings(RandomOnARate):
    """An image, with probability `rate`, under stripes: a grating at any angle, with a period of 2 to 8 pixels,
    a square or smooth profile and a strength of 20 to 110 grey levels, added (light) or taken away (dark), as
    scanner banding, moire or a striped background make them; training only."""

    def change(self, images):
        ops = keras.ops
        n, height, width = (ops.shape(images)[i] for i in range(3))

        def draw(low=0.0, high=1.0):
            return keras.random.uniform((n, 1, 1, 1), low, high, seed=self.generator)
        angle, period, phase, duty = draw(0, np.pi), draw(2, 8), draw(), draw(0.3, 0.7)
        strength = draw(20, 110) * ops.where(draw() < 0.5, -1.0, 1.0)
        y, x = self.pixel_grid(height, width)
        position = (x[None, :, :, None] * ops.cos(angle) + y[None, :, :, None] * ops.sin(angle)) / period + phase
        cycle = position - ops.floor(position)  # where in its period each pixel is, in [0, 1)
        square = ops.cast(cycle < duty, self.compute_dtype)
        smooth = (1 + ops.cos(2 * np.pi * cycle)) / 2
        grating = ops.where(draw() < 0.5, square, smooth)
        striped = ops.clip(images + strength * grating, *PIXEL_RANGE)
        return ops.where(self.chosen(n), striped, images)


class RandomAugMix(RandomChange):
    """AugMix (Hendrycks et al. 2020) drawn per image inside the compiled step: `width` chains of 1 to `depth`
    operations (autocontrast, rotate, shear, translate, posterize, solarize, at the paper's severity 3 of 10), their
    results mixed by Dirichlet weights, then with the image by a Beta weight; training only. Keras' AugMix picks
    its operations with Python's `random` while the step is traced, so a compiled step would repeat one chain for
    every batch (and a resumed run another one); here every choice is a tensor drawn from the layer's seed."""

    OPERATIONS = ("autocontrast", "rotate", "shear_x", "shear_y", "translate_x", "translate_y", "posterize",
                  "solarize")
    SEVERITY = 0.3  # the paper's level 3 of 10: rotations up to 9 degrees, shears up to 0.09, shifts up to 1/10

    def __init__(self, seed: int | None = None, width: int = 3, depth: int = 3, fill_value: float = 0.0, **kwargs):
        super().__init__(seed, **kwargs)
        self.width, self.depth, self.fill_value = width, depth, fill_value
        self.supports_jit = False  # TensorFlow's image transform has no XLA kernel (jit_on_jax marks it on JAX)

    def change(self, images):
        ops = keras.ops
        n = ops.shape(images)[0]
        weights = keras.random.gamma((n, self.width), 1.0, seed=self.generator)  # Dirichlet(1, ..., 1)
        weights = ops.reshape(weights / ops.sum(weights, axis=1, keepdims=True), (n, self.width, 1, 1, 1))
        mixed = 0.0
        for chain in range(self.width):
            steps = keras.random.randint((n, 1, 1, 1), 1, self.depth + 1, seed=self.generator)
            image = images
            for step in range(self.depth):
                changed = self.operation(image)
                image = ops.where(step < steps, changed, image)
            mixed = mixed + weights[:, chain] * image
        beta = keras.random.uniform((n, 1, 1, 1), seed=self.generator)  # Beta(1, 1)
        return ops.clip((1 - beta) * images + beta * mixed, *PIXEL_RANGE)

    def operation(self, images):
        """One operation per image, drawn from OPERATIONS; each with a magnitude and sign of its own."""
        ops, random = keras.ops, keras.random
        n, height, width = (ops.shape(images)[i] for i in range(3))
        choice = random.randint((n,), 0, len(self.OPERATIONS), seed=self.generator)
        picked = {name: ops.equal(choice, i) for i, name in enumerate(self.OPERATIONS)}
        level = random.uniform((n,), 0.1, 1.0, seed=self.generator) * self.SEVERITY
        sign = ops.where(random.uniform((n,), seed=self.generator) < 0.5, -1.0, 1.0)
        # One affine map per image (identity unless a geometric operation was drawn), about the image's centre.
        angle = ops.where(picked["rotate"], sign * level * np.deg2rad(30), 0.0)
        shear_x = ops.where(picked["shear_x"], sign * level * 0.3, 0.0)
        shear_y = ops.where(picked["shear_y"], sign * level * 0.3, 0.0)
        shift_x = ops.where(picked["translate_x"], sign * level * ops.cast(width, "float32") / 3, 0.0)
        shift_y = ops.where(picked["translate_y"], sign * level * ops.cast(height, "float32") / 3, 0.0)
        cx, cy = (ops.cast(width, "float32") - 1) / 2, (ops.cast(height, "float32") - 1) / 2
        cos, sin = ops.cos(angle), ops.sin(angle)
        a0, a1, b0, b1 = cos, -sin + shear_x, sin + shear_y, cos
        transform = ops.stack([a0, a1, cx - a0 * cx - a1 * cy - shift_x, b0, b1, cy - b0 * cx - b1 * cy - shift_y,
                               ops.zeros_like(a0), ops.zeros_like(a0)], axis=1)
        moved = ops.image.affine_transform(images, transform, fill_value=self.fill_value)
        # The pixel operations, on the whole image.
        low = ops.min(images, axis=(1, 2, 3), keepdims=True)
        high = ops.max(images, axis=(1, 2, 3), keepdims=True)
        stretched = (images - low) * 255 / ops.maximum(high - low, 1.0)
        levels = ops.reshape(2 ** (4 - ops.round(level / self.SEVERITY)), (n, 1, 1, 1))  # 8 or 16 grey levels
        step = 256 / levels
        posterized = ops.floor(images / step) * step
        threshold = ops.reshape(256 - level * 256, (n, 1, 1, 1))
        solarized = ops.where(images >= threshold, 255 - images, images)
        by_pixels = {"autocontrast": stretched, "posterize": posterized, "solarize": solarized}
        out = moved
        for name, changed in by_pixels.items():
            out = ops.where(ops.reshape(picked[name], (n, 1, 1, 1)), changed, out)
        return out


class OnAShare(RandomChange):
    """`inner` applied to a random share of the images, the others passed through as they are (so that a
    batch keeps clean pictures whatever `inner` does); training only."""

    def __init__(self, inner: keras.Sequential, share: float, seed: int | None = None, **kwargs):
        super().__init__(seed, **kwargs)
        self.inner, self.share = inner, share

    def build(self, input_shape):
        self.inner.build(input_shape)

    def change(self, images):
        chosen = keras.random.uniform((keras.ops.shape(images)[0], 1, 1, 1), seed=self.generator) < self.share
        return keras.ops.where(chosen, self.inner(images, training=True), images)


def jit_on_jax(layer: layers.Layer) -> layers.Layer:
    """The layer, marked compilable on JAX: there Keras' image transforms are plain jax.numpy (map_coordinates)
    and compile; TensorFlow's image transform op, which the layers' flag describes, has no XLA kernel."""
    if keras.backend.backend() == "jax":
        layer.supports_jit = True
    return layer


def build_augmentation(cfg, spec: DataSpec = FASHION_MNIST) -> keras.Sequential:
    """Random changes on the stored image, in the order a picture is made (`corruption_steps`), then flips and
    erasing (`picture_steps`). Active only in training."""
    seeds = augmentation_seeds(cfg.seed)
    return in_order(corruption_steps(cfg, spec, seeds) + picture_steps(cfg, spec, seeds), name="augmentation")


def in_order(steps: list, name: str | None = None) -> keras.Sequential:
    """The steps as one layer; an identity where there are none (a Sequential needs a layer)."""
    return keras.Sequential(steps or [layers.Identity()], name=name)


def corruption_steps(cfg, spec: DataSpec, seeds: dict) -> list:
    """Framing, how it is drawn (a sketch), light, optics (blur), sensor noise, what is drawn over it (lines, stripes),
    AugMix: what the config asks for, each from its seed in `seeds`. With `family_share` below 1 each reaches that
    share of the images, drawn change by change; with `augment_share` below 1 they reach that share of the images
    only, and the others stay as they were stored."""
    fill = {"fill_mode": spec.fill_mode, "fill_value": spec.background}
    make = {  # config field: its layer (config's CORRUPTION_FIELDS gives their order: the one a picture is made in)
        "rotation": lambda: jit_on_jax(layers.RandomRotation(cfg.rotation, **fill, seed=seeds["rotation"])),
        "zoom": lambda: jit_on_jax(layers.RandomZoom(cfg.zoom, **fill, seed=seeds["zoom"])),
        "shear": lambda: jit_on_jax(layers.RandomShear(x_factor=cfg.shear, y_factor=cfg.shear, **fill,
                                                       seed=seeds["shear"])),
        "translation": lambda: jit_on_jax(layers.RandomTranslation(cfg.translation, cfg.translation, **fill,
                                                                   seed=seeds["translation"])),
        "sketch": lambda: RandomSketch(cfg.sketch, seed=seeds["sketch"], name="random_sketch"),
        "contrast": lambda: layers.RandomContrast(cfg.contrast, value_range=PIXEL_RANGE, seed=seeds["contrast"]),
        "brightness": lambda: layers.RandomBrightness(cfg.brightness, value_range=PIXEL_RANGE,
                                                      seed=seeds["brightness"]),
        # Keras draws one sigma in (0, 1] pixel for the batch and blurs each image with probability `blur`.
        "blur": lambda: layers.RandomGaussianBlur(factor=(cfg.blur, cfg.blur), kernel_size=5, sigma=1.0,
                                                  value_range=PIXEL_RANGE, seed=seeds["blur"]),
        "noise": lambda: RandomPixelNoise(cfg.noise, seed=seeds["noise"], name="random_pixel_noise"),
        "impulse": lambda: RandomImpulseNoise(cfg.impulse, seed=seeds["impulse"], name="random_impulse_noise"),
        "lines": lambda: RandomLines(cfg.lines, seed=seeds["lines"], name="random_lines"),
        "gratings": lambda: RandomGratings(cfg.gratings, seed=seeds["gratings"], name="random_gratings"),
        "augmix": lambda: jit_on_jax(RandomAugMix(seeds["augmix"], fill_value=spec.background, name="augmix")),
    }
    steps = {name: make[name]() for name in CORRUPTION_FIELDS if getattr(cfg, name)}
    if cfg.family_share < 1:  # each change on images of its own: a picture gets a few at a time
        shares = augmentation_seeds(seeds["family_share"])
        steps = {name: OnAShare(in_order([step]), cfg.family_share, seed=shares[name], name=f"{name}_on_a_share")
                 for name, step in steps.items()}
    steps = list(steps.values())
    if steps and cfg.augment_share < 1:
        steps = [OnAShare(keras.Sequential(steps, name="framing_and_corruptions"), cfg.augment_share,
                          seed=seeds["augment_share"], name="on_a_share")]
    return steps


def picture_steps(cfg, spec: DataSpec, seeds: dict) -> list:
    """The changes that keep the picture a clean one: a mirror image where it keeps the label, random erasing."""
    steps = []
    if cfg.horizontal_flip and spec.mirror_keeps_label:
        steps.append(layers.RandomFlip("horizontal", seed=seeds["horizontal_flip"]))
    if cfg.erasing:
        # A rectangle of 2-33% of the image set to the background, with probability `erasing` per image
        # (factor as a (p, p) range: a single float would draw each image's probability from [0, p]).
        steps.append(layers.RandomErasing(factor=(cfg.erasing, cfg.erasing), scale=(0.02, 0.33),
                                          fill_value=spec.background, value_range=PIXEL_RANGE, seed=seeds["erasing"]))
    return steps
