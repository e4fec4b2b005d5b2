"""AugMix's consistency loss (Hendrycks et al. 2020): in training, the classifier also sees two AugMix views of
each (augmented) image, and the Jensen-Shannon divergence of its three predictions, times `consistency`, joins the
loss, so that it answers the same whatever the views do to the picture. The label's loss stays on the first view.

Two small layers around the one classifier keep it a layer of the training model (`classifier_of` finds it):
`AugMixViews` makes the views in training and none otherwise (an empty batch: validation runs the classifier once
per image), `JensenShannon` adds the divergence and passes the first prediction on.
"""

from models.augmentation import RandomAugMix, jit_on_jax
from runkit.frameworks import keras, layers


class AugMixViews(layers.Layer):
    """AugMix of the images in training (augmentation.RandomAugMix, a seed of its own); an empty batch otherwise."""

    def __init__(self, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.augmix = jit_on_jax(RandomAugMix(seed))

    def build(self, input_shape):
        self.augmix.build(input_shape)

    def call(self, images, training=False):
        if not training:
            return images[:0]
        return self.augmix(keras.ops.cast(images, self.compute_dtype), training=True)

    def compute_output_shape(self, input_shape):
        return input_shape


class JensenShannon(layers.Layer):
    """Adds `weight` times the Jensen-Shannon divergence of the predictions [clean, view, view] to the loss in
    training; returns the clean prediction."""

    def __init__(self, weight: float, **kwargs):
        super().__init__(**kwargs)
        self.weight = weight

    def call(self, predictions, training=False):
        clean = predictions[0]
        if training:
            self.add_loss(self.weight * jensen_shannon([keras.ops.cast(p, "float32") for p in predictions]))
        return clean

    def compute_output_shape(self, input_shapes):
        return input_shapes[0]


def jensen_shannon(probabilities: list) -> object:
    """The mean over the batch of the Jensen-Shannon divergence of several probability vectors per image: the mean
    of their KL divergences from their mixture (clipped away from 0, as in the paper's code)."""
    ops = keras.ops
    logs = [ops.log(ops.clip(p, 1e-7, 1.0)) for p in probabilities]
    mixture = ops.log(ops.clip(sum(probabilities) / len(probabilities), 1e-7, 1.0))
    divergences = [ops.sum(p * (log - mixture), axis=-1) for p, log in zip(probabilities, logs, strict=True)]
    return ops.mean(sum(divergences) / len(divergences))
