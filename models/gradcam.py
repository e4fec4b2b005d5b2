"""Grad-CAM (Selvaraju et al. 2017): where in the image the classifier looked for a class.

The map is computed on the backbone's output feature map, although the backbone sits inside the
classifier: the classifier is run in three parts (preprocessing, backbone, head) so the gradient of a
class score can be taken with respect to the backbone's features, with the running backend's own autodiff.
"""

import keras
import numpy as np

from models.classifier import classifier_parts


def gradcam(classifier: keras.Model, images, class_index=None) -> np.ndarray:
    """Heatmaps (n, image_size, image_size) in [0, 1] over the upsampled input.

    `class_index`: one class for all images, one per image, or None for each image's predicted class.
    """
    preprocess, backbone, head = classifier_parts(classifier)
    inputs = preprocess(np.asarray(images, "float32"), training=False)
    features = keras.ops.convert_to_numpy(backbone(inputs, training=False))

    def probabilities(x):
        for layer in head:
            x = layer(x, training=False)
        return x

    predicted = keras.ops.convert_to_numpy(probabilities(features)).argmax(axis=1)
    wanted = predicted if class_index is None else np.broadcast_to(class_index, len(features))
    chosen = np.eye(classifier.output_shape[-1], dtype="float32")[wanted]  # one-hot of each image's class

    def total_score(x):  # each image's score depends on its own features only: one gradient serves all
        return keras.ops.sum(probabilities(x) * chosen)

    grads = gradient(total_score, features)
    weights = grads.mean(axis=(1, 2), keepdims=True)  # each channel's importance
    maps = np.maximum((weights * features).sum(axis=-1), 0)[..., None]
    maps = keras.ops.convert_to_numpy(keras.ops.image.resize(maps, inputs.shape[1:3]))[..., 0]
    peak = maps.max(axis=(1, 2), keepdims=True)
    return np.divide(maps, peak, out=np.zeros_like(maps), where=peak > 0)


def gradient(scalar_fn, x: np.ndarray) -> np.ndarray:
    """d scalar_fn / d x, as a NumPy array, with the autodiff of the backend Keras runs on."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return np.asarray(jax.grad(scalar_fn)(x))
    if backend == "torch":
        import torch

        tensor = torch.tensor(x, requires_grad=True)
        scalar_fn(tensor).backward()
        return tensor.grad.detach().cpu().numpy()
    import tensorflow as tf

    tensor = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(tensor)
        score = scalar_fn(tensor)
    return tape.gradient(score, tensor).numpy()


def upsampled(images, size: int) -> np.ndarray:
    """28x28 images resized bilinearly to size x size, as the model sees them (for drawing maps over)."""
    resized = keras.ops.image.resize(np.asarray(images, "float32")[..., None], (size, size))
    return keras.ops.convert_to_numpy(resized)[..., 0]
