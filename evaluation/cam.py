"""Class activation maps: where in the image the classifier looked.

Three ways to make the map; each backbone uses the one that followed a moved garment best (`bench.cam_shift`;
the measurements and why are in docs/explanations.md):
- LayerCAM (Jiang et al. 2021) weighs each cell of a feature map A by its own positive gradient G of the
  class's probability, relu(sum_c relu(G_c) A_c), which keeps a map on a coarse grid localised. MobileNetV2
  uses its deepest map with cells at most 16 input pixels apart.
- Grad-CAM (Selvaraju et al. 2017) weighs each channel by its mean gradient, relu(sum_c mean(G_c) A_c): the
  small CNN, on its 14x14 map (stride 2).
- Occlusion (Zeiler & Fergus 2014) sets squares of the stored image to the background, one at a time, and
  credits each pixel with the mean drop of the class's probability over the squares that hid it. It asks the
  model alone, with no map inside it: the ViT.
The gradient methods run the classifier in parts (preprocessing, backbone up to the map, the rest), so the
gradient is taken with respect to those features, with the running backend's own autodiff.
"""

import numpy as np

from models.classifier import backbone_of, classifier_parts
from runkit.frameworks import keras

# (method, the map's largest stride in input pixels, None: the last map), by the backbone's name
MAPS = {"mobilenetv2": ("layercam", 16), "cnn": ("gradcam", 2), "vit": ("occlusion", None)}
METHOD_NAMES = {"layercam": "LayerCAM", "gradcam": "Grad-CAM", "occlusion": "Occlusion"}
OCCLUSION_SIDES = 4, 14  # a square is 4 steps wide; 14 steps span the stored image (28 px: 8 px squares, 2 apart)


def occlusion_step(side: int) -> int:
    """Pixels between the squares occlusion hides, for an image `side` pixels wide."""
    return max(1, side // OCCLUSION_SIDES[1])


def map_method(classifier: keras.Model) -> tuple[str, int | None]:
    """(method, max_stride) this classifier's backbone draws its maps with (LayerCAM at stride 16 for the others)."""
    return MAPS.get(classifier_parts(classifier)[1].name, MAPS["mobilenetv2"])


def map_side(classifier: keras.Model, method: str, max_stride: int | None) -> int:
    """Cells along a side of the map `method` draws (occlusion's are `occlusion_step` pixels of the stored image)."""
    if method == "occlusion":
        return classifier.input.shape[1] // occlusion_step(classifier.input.shape[1])
    return split_at_map(backbone_of(classifier), max_stride)[0].output.shape[1]


def activation_maps(classifier: keras.Model, images, class_index=None, method: str | None = None,
                    max_stride: int | None = None, background: float = 0.0) -> np.ndarray:
    """Heatmaps (n, image_size, image_size) in [0, 1] over the upsampled input (see `ActivationMaps`)."""
    return ActivationMaps(classifier, method, max_stride, background)(images, class_index)


class ActivationMaps:
    """The classifier cut into its parts once, for the maps of many calls (a server's requests).

    `method`: None for the backbone's own (`map_method`), else "layercam" or "gradcam", with `max_stride`
    picking the feature map (None: the backbone's last map), or "occlusion", which hides squares behind
    `background` (the data set's: the MNISTs' black).
    """

    def __init__(self, classifier: keras.Model, method: str | None = None, max_stride: int | None = None,
                 background: float = 0.0):
        if method is None:
            method, max_stride = map_method(classifier)
        if method not in METHOD_NAMES:
            raise ValueError(f"method={method!r}: choose one of {', '.join(METHOD_NAMES)}")
        self.classifier, self.method, self.background = classifier, method, background
        self.preprocess, backbone, self.head = classifier_parts(classifier)
        self.early, self.rest = split_at_map(backbone, max_stride) if method != "occlusion" else (None, [])

    def __call__(self, images, class_index=None) -> np.ndarray:
        """`class_index`: one class for all images, one per image, or None for each image's predicted class."""
        images = np.asarray(images, "float32")
        if self.method == "occlusion":
            maps = occlusion_map(self.classifier, images, class_index, self.background)
        else:
            inputs = self.preprocess(images, training=False)
            maps = gradient_weighted_map(self.early, [*self.rest, *self.head], inputs, class_index, self.method)
        size = self.preprocess.output.shape[1:3]  # the upsampled input's
        maps = keras.ops.convert_to_numpy(keras.ops.image.resize(maps[..., None], size))[..., 0]
        peak = maps.max(axis=(1, 2), keepdims=True)
        return np.divide(maps, peak, out=np.zeros_like(maps), where=peak > 0)


def gradient_weighted_map(early: keras.Model, later: list, inputs, class_index, method: str) -> np.ndarray:
    """LayerCAM or Grad-CAM (n, side, side) on the map `early` ends at, through the `later` layers to the
    probabilities."""
    features = keras.ops.convert_to_numpy(early(inputs, training=False))

    def probabilities(x):
        for layer in later:
            x = layer(x, training=False)
        return x

    predicted = keras.ops.convert_to_numpy(probabilities(features)).argmax(axis=1)
    wanted = predicted if class_index is None else np.broadcast_to(class_index, len(features))
    chosen = np.eye(later[-1].units, dtype="float32")[wanted]  # one-hot of each image's class

    def total_score(x):  # each image's score depends on its own features only: one gradient serves all
        return keras.ops.sum(probabilities(x) * chosen)

    grads = gradient(total_score, features)
    weights = np.maximum(grads, 0) if method == "layercam" else grads.mean(axis=(1, 2), keepdims=True)
    return np.maximum((weights * features).sum(axis=-1), 0)


def occlusion_map(classifier: keras.Model, images: np.ndarray, class_index, background: float = 0.0,
                  chunk: int = 32) -> np.ndarray:
    """(n, side, side, channels) raw pixels -> (n, side, side): each pixel's mean drop of the class's probability
    when a square over it is set to `background`, never below 0. `chunk` images go through the classifier at a
    time, with all their squares."""
    side = images.shape[1]
    step = occlusion_step(side)
    square_side = OCCLUSION_SIDES[0] * step
    starts = range(0, side - square_side + 1, step)
    hidden = np.zeros((len(starts) ** 2, side, side), "float32")  # 1 where each square hides the image
    for square, (top, left) in enumerate((top, left) for top in starts for left in starts):
        hidden[square, top:top + square_side, left:left + square_side] = 1
    probs = classifier.predict(images, verbose=0)
    wanted = probs.argmax(axis=1) if class_index is None else np.broadcast_to(class_index, len(images))
    drops = []  # (images, squares)
    for start in range(0, len(images), chunk):
        batch, mask = images[start:start + chunk], hidden[None, ..., None]
        occluded = (batch[:, None] * (1 - mask) + background * mask).reshape(-1, *images.shape[1:])
        scores = classifier.predict(occluded, batch_size=256, verbose=0).reshape(len(batch), len(hidden), -1)
        rows = np.arange(len(batch))
        drops.append(probs[start + rows, wanted[start + rows], None] - scores[rows, :, wanted[start + rows]])
    maps = np.einsum("is,shw->ihw", np.concatenate(drops), hidden) / hidden.sum(axis=0)
    return np.maximum(maps, 0)


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
    """Images (n, height, width[, channels]) resized bilinearly to size x size as the model sees them, uint8 (for
    drawing maps over)."""
    images = np.asarray(images, "float32")
    grey = images.ndim == 3
    resized = keras.ops.convert_to_numpy(keras.ops.image.resize(images[..., None] if grey else images, (size, size)))
    return np.clip(resized[..., 0] if grey else resized, 0, 255).round().astype(np.uint8)
