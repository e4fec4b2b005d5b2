"""Grad-CAM (Selvaraju et al. 2017): where in the image the classifier looked for a class.

The map is computed on the base's last convolutional block (its output, `out_relu`), although the
base sits inside the classifier: the classifier is run in three parts (preprocessing, base, head) so
the gradient of a class score can be taken with respect to the base's feature maps.
"""

import keras
import numpy as np

from models.classifier import classifier_parts


def gradcam(classifier: keras.Model, images, class_index=None) -> np.ndarray:
    """Heatmaps (n, image_size, image_size) in [0, 1] over the upsampled input.

    `class_index`: one class for all images, one per image, or None for each image's predicted class.
    """
    import tensorflow as tf  # the gradient tape; the project's main backend

    preprocess, base, head = classifier_parts(classifier)

    inputs = preprocess(np.asarray(images, "float32"), training=False)
    with tf.GradientTape() as tape:
        features = base(inputs, training=False)
        tape.watch(features)
        probs = features
        for layer in head:
            probs = layer(probs, training=False)
        wanted = np.argmax(probs, axis=1) if class_index is None else np.broadcast_to(class_index, len(images))
        scores = tf.gather(probs, wanted, axis=1, batch_dims=1)
    grads = tape.gradient(scores, features)
    weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)  # each channel's importance
    maps = tf.nn.relu(tf.reduce_sum(weights * features, axis=-1))[..., None]
    maps = tf.image.resize(maps, inputs.shape[1:3])[..., 0].numpy()
    peak = maps.max(axis=(1, 2), keepdims=True)
    return np.divide(maps, peak, out=np.zeros_like(maps), where=peak > 0)


def upsampled(images, size: int) -> np.ndarray:
    """28x28 images resized bilinearly to size x size, as the model sees them (for drawing maps over)."""
    resized = keras.ops.image.resize(np.asarray(images, "float32")[..., None], (size, size))
    return keras.ops.convert_to_numpy(resized)[..., 0]
