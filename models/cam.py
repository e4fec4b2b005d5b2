"""Class activation maps: where in the image the classifier looked.

Two ways to make the map, each backbone with the one that follows a moved garment best (bench.cam_shift;
docs/explanations.md has the measurements):
- LayerCAM (Jiang et al. 2021) weighs each cell of a feature map A by its own positive gradient G of the
  class's probability, relu(sum_c relu(G_c) A_c), which keeps a map on a coarse grid localised. MobileNetV2
  uses its deepest map with cells at most 16 input pixels apart: the last one (stride 32) is 2x2 at 64 px,
  and its padding draws every peak to the bottom right.
- Grad-CAM (Selvaraju et al. 2017) weighs each channel by its mean gradient, relu(sum_c mean(G_c) A_c). The
  small CNN uses it on its 14x14 map (stride 2): on its last 7x7 map, and with LayerCAM, the map lags the garment.
The ViT gets LayerCAM on its last token grid, which does not follow the garment; nothing tried here does
(attention rollout moves the wrong way).
The gradient methods run the classifier in parts (preprocessing, backbone up to the map, the rest), so the
gradient is taken with respect to those features, with the running backend's own autodiff.
"""

import keras
import numpy as np

from models.classifier import classifier_parts

# (method, the map's largest stride in input pixels, None: the last map), by the backbone's name
MAPS = {"mobilenetv2": ("layercam", 16), "cnn": ("gradcam", 2)}
METHOD_NAMES = {"layercam": "LayerCAM", "gradcam": "Grad-CAM"}


def map_method(classifier: keras.Model) -> tuple[str, int | None]:
    """(method, max_stride) this classifier's backbone draws its maps with (LayerCAM at stride 16 for the others)."""
    return MAPS.get(classifier_parts(classifier)[1].name, MAPS["mobilenetv2"])


def activation_maps(classifier: keras.Model, images, class_index=None, method: str | None = None,
                    max_stride: int | None = None) -> np.ndarray:
    """Heatmaps (n, image_size, image_size) in [0, 1] over the upsampled input.

    `class_index`: one class for all images, one per image, or None for each image's predicted class.
    `method`: None for the backbone's own (`map_method`), else "layercam" or "gradcam", with `max_stride`
    picking the feature map (None: the backbone's last map).
    """
    if method is None:
        method, max_stride = map_method(classifier)
    if method not in METHOD_NAMES:
        raise ValueError(f"method={method!r}: choose one of {', '.join(METHOD_NAMES)}")
    preprocess, backbone, head = classifier_parts(classifier)
    inputs = preprocess(np.asarray(images, "float32"), training=False)
    maps = gradient_weighted_map(backbone, head, inputs, class_index, method, max_stride)
    maps = keras.ops.convert_to_numpy(keras.ops.image.resize(maps[..., None], inputs.shape[1:3]))[..., 0]
    peak = maps.max(axis=(1, 2), keepdims=True)
    return np.divide(maps, peak, out=np.zeros_like(maps), where=peak > 0)


def gradient_weighted_map(backbone, head, inputs, class_index, method: str, max_stride: int | None) -> np.ndarray:
    """LayerCAM or Grad-CAM (n, side, side) on the map `split_at_map` picks."""
    early, rest = split_at_map(backbone, max_stride)
    features = keras.ops.convert_to_numpy(early(inputs, training=False))

    def probabilities(x):
        for layer in [*rest, *head]:
            x = layer(x, training=False)
        return x

    predicted = keras.ops.convert_to_numpy(probabilities(features)).argmax(axis=1)
    wanted = predicted if class_index is None else np.broadcast_to(class_index, len(features))
    chosen = np.eye(head[-1].units, dtype="float32")[wanted]  # one-hot of each image's class

    def total_score(x):  # each image's score depends on its own features only: one gradient serves all
        return keras.ops.sum(probabilities(x) * chosen)

    grads = gradient(total_score, features)
    weights = np.maximum(grads, 0) if method == "layercam" else grads.mean(axis=(1, 2), keepdims=True)
    return np.maximum((weights * features).sum(axis=-1), 0)


def split_at_map(backbone: keras.Model, max_stride: int | None) -> tuple[keras.Model, list[keras.Model]]:
    """(input -> feature map, [feature map -> output], or [] at the output) for the deepest map with a
    stride of at most `max_stride` (any, if None) that divides the input evenly, and through which all
    later layers' inputs flow."""
    size = backbone.input.shape[1]
    for layer in reversed(backbone.layers):
        side = layer.output.shape[1] if len(layer.output.shape) == 4 else 0
        if side and size % side == 0 and (max_stride is None or size // side <= max_stride):
            if layer.output is backbone.output:
                return backbone, []
            try:
                return keras.Model(backbone.input, layer.output), [keras.Model(layer.output, backbone.output)]
            except ValueError:  # a skip connection bypasses this layer: not a place to cut
                continue
    raise ValueError(f"{backbone.name} has no feature map with a stride of at most {max_stride}")


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
