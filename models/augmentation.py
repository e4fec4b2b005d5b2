"""Random changes to the stored images during training (`augmentation -> classifier` is the training model).

Each family is off unless the config asks for it (only what it asks is built: on TensorFlow one geometric layer
keeps Keras from compiling the step with XLA), each random layer draws its own stream, and new pixels are the
data set's own (the MNISTs' black background, never a reflection of the object). The changes work on the
stored image, which is small, so they cost little. The corruption families (light, blur, noise) train for the
pictures of `bench.robustness` without its exact changes (docs/robustness.md).
"""

import numpy as np

from data.spec import FASHION_MNIST, DataSpec
from runkit.frameworks import keras, layers

# New names go last: the seeds of the others stay what they were.
AUGMENTATIONS = ("rotation", "zoom", "shear", "translation", "horizontal_flip", "erasing", "contrast", "brightness",
                 "blur", "noise", "augment_share")
PIXEL_RANGE = (0, 255)


def augmentation_seeds(seed: int) -> dict:
    """A seed of its own for each random layer, drawn from the run's seed: Keras layers given one seed make one
    stream of draws (a flip would happen exactly when a rotation is negative)."""
    return dict(zip(AUGMENTATIONS, (int(s) for s in np.random.SeedSequence(seed).generate_state(len(AUGMENTATIONS))),
                    strict=True))


class RandomPixelNoise(layers.Layer):
    """Gaussian noise on every pixel, its standard deviation drawn for each image from [0, max_std] so that a
    batch holds clean and noisy pictures (Keras' GaussianNoise gives all images one); training only."""

    def __init__(self, max_std: float, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.max_std = max_std
        self.seed = seed
        self.generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=False):
        if not training:
            return images
        images = keras.ops.cast(images, self.compute_dtype)
        std = keras.random.uniform((keras.ops.shape(images)[0], 1, 1, 1), 0, self.max_std, seed=self.generator)
        noise = keras.random.normal(keras.ops.shape(images), seed=self.generator) * std
        return keras.ops.clip(images + noise, *PIXEL_RANGE)

    def compute_output_shape(self, input_shape):
        return input_shape


class OnAShare(layers.Layer):
    """`inner` applied to a random share of the images, the others passed through as they are (so that a
    batch keeps clean pictures whatever `inner` does); training only."""

    def __init__(self, inner: keras.Sequential, share: float, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.inner, self.share, self.seed = inner, share, seed
        self.generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        self.inner.build(input_shape)

    def call(self, images, training=False):
        if not training:
            return images
        images = keras.ops.cast(images, self.compute_dtype)
        chosen = keras.random.uniform((keras.ops.shape(images)[0], 1, 1, 1), seed=self.generator) < self.share
        return keras.ops.where(chosen, self.inner(images, training=True), images)

    def compute_output_shape(self, input_shape):
        return input_shape


def build_augmentation(cfg, spec: DataSpec = FASHION_MNIST) -> keras.Sequential:
    """Random changes on the stored image, in the order a camera makes them: framing, light, optics (blur),
    sensor noise; then flips and erasing. Active only in training. With `augment_share` below 1 the framing and
    corruption changes reach that share of the images only, and the others stay as they were stored."""
    seeds = augmentation_seeds(cfg.seed)
    fill = {"fill_mode": spec.fill_mode, "fill_value": spec.background}
    framing = []
    if cfg.rotation:
        framing.append(layers.RandomRotation(cfg.rotation, **fill, seed=seeds["rotation"]))
    if cfg.zoom:
        framing.append(layers.RandomZoom(cfg.zoom, **fill, seed=seeds["zoom"]))
    if cfg.shear:
        framing.append(layers.RandomShear(x_factor=cfg.shear, y_factor=cfg.shear, **fill, seed=seeds["shear"]))
    if cfg.translation:
        framing.append(layers.RandomTranslation(cfg.translation, cfg.translation, **fill, seed=seeds["translation"]))
    if keras.backend.backend() == "jax":
        # There they are plain jax.numpy (map_coordinates) and compile; TensorFlow's image transform op,
        # which the layers' flag describes, has no XLA kernel.
        for step in framing:
            step.supports_jit = True
    corruptions = []
    if cfg.contrast:
        corruptions.append(layers.RandomContrast(cfg.contrast, value_range=PIXEL_RANGE, seed=seeds["contrast"]))
    if cfg.brightness:
        corruptions.append(layers.RandomBrightness(cfg.brightness, value_range=PIXEL_RANGE, seed=seeds["brightness"]))
    if cfg.blur:
        # Keras draws one sigma in (0, 1] pixel for the batch and blurs each image with probability `blur`.
        corruptions.append(layers.RandomGaussianBlur(factor=(cfg.blur, cfg.blur), kernel_size=5, sigma=1.0,
                                                     value_range=PIXEL_RANGE, seed=seeds["blur"]))
    if cfg.noise:
        corruptions.append(RandomPixelNoise(cfg.noise, seed=seeds["noise"], name="random_pixel_noise"))
    steps = framing + corruptions
    if steps and cfg.augment_share < 1:
        steps = [OnAShare(keras.Sequential(steps, name="framing_and_corruptions"), cfg.augment_share,
                          seed=seeds["augment_share"], name="on_a_share")]
    if cfg.horizontal_flip and spec.mirror_keeps_label:
        steps.append(layers.RandomFlip("horizontal", seed=seeds["horizontal_flip"]))
    if cfg.erasing:
        # A rectangle of 2-33% of the image set to the background, with probability `erasing` per image
        # (factor as a (p, p) range: a single float would draw each image's probability from [0, p]).
        steps.append(layers.RandomErasing(factor=(cfg.erasing, cfg.erasing), scale=(0.02, 0.33),
                                          fill_value=spec.background, value_range=PIXEL_RANGE, seed=seeds["erasing"]))
    return keras.Sequential(steps or [layers.Identity()], name="augmentation")  # a Sequential needs a layer
