"""AugMix's consistency loss (Hendrycks et al. 2020): in training, the label's loss is on the picture as stored
(mirrored or erased, never corrupted), the classifier also sees views of it (`consistency_views`, the paper's two)
through the corruption families and AugMix the config asks for, and the Jensen-Shannon divergence of its
predictions, times `consistency`, joins the loss: it learns to answer the same whatever the corruptions do, without
learning the labels from corrupted pictures. With `consistency_share` below 1 the views are made of the batch's
first pictures only (its order is the shuffled one): the views' passes cost that share of the picture's.

Two small layers around the one classifier keep it a layer of the training model (`classifier_of` finds it):
`TrainingView` makes a view in training and a token one otherwise (the first image, whose prediction is dropped:
validation runs the classifier about once per image), `JensenShannon` adds the divergence and passes the first
prediction on.
"""

from runkit.frameworks import keras, layers


class TrainingView(layers.Layer):
    """The first `share` of the images through `inner` (random changes, seeds of their own) in training; the first
    image otherwise."""

    def __init__(self, inner: keras.Sequential, share: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.inner, self.share = inner, share

    def build(self, input_shape):
        self.inner.build(input_shape)

    def call(self, images, training=False):
        if not training:  # not an empty batch: TensorFlow's convolution returns one unchanged, channels and all
            return images[:1]
        if self.share < 1:
            images = images[:first_share(keras.ops.shape(images)[0], self.share)]
        return self.inner(keras.ops.cast(images, self.compute_dtype), training=True)

    def compute_output_shape(self, input_shape):
        return input_shape


class JensenShannon(layers.Layer):
    """Adds `weight` times the Jensen-Shannon divergence of the predictions [clean, *views] to the loss in
    training; returns the clean prediction."""

    def __init__(self, weight: float, **kwargs):
        super().__init__(**kwargs)
        self.weight = weight

    def call(self, predictions, training=False):
        clean = predictions[0]
        if training:  # the views may be of the batch's first pictures only (TrainingView's share)
            viewed = [clean[:keras.ops.shape(predictions[-1])[0]], *predictions[1:]]
            self.add_loss(self.weight * jensen_shannon([keras.ops.cast(p, "float32") for p in viewed]))
        return clean

    def compute_output_shape(self, input_shapes):
        return input_shapes[0]


def first_share(n, share: float):
    """How many of `n` images make a share `share` of them (at least one); `n` is a tensor where TensorFlow traces
    with an unknown batch size."""
    if isinstance(n, int):
        return max(1, round(n * share))
    ops = keras.ops
    return ops.maximum(1, ops.cast(ops.round(ops.cast(n, "float32") * share), "int32"))


def jensen_shannon(probabilities: list) -> object:
    """The mean over the batch of the Jensen-Shannon divergence of several probability vectors per image: the mean
    of their KL divergences from their mixture (clipped away from 0, as in the paper's code)."""
    ops = keras.ops
    logs = [ops.log(ops.clip(p, 1e-7, 1.0)) for p in probabilities]
    mixture = ops.log(ops.clip(sum(probabilities) / len(probabilities), 1e-7, 1.0))
    divergences = [ops.sum(p * (log - mixture), axis=-1) for p, log in zip(probabilities, logs, strict=True)]
    return ops.mean(sum(divergences) / len(divergences))
