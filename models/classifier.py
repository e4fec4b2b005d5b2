"""The classifier every architecture shares, for the raw pixels of a data set (its `DataSpec`: Fashion-MNIST's
28x28x1 unless another is given).

The training model is `augmentation -> classifier`. The classifier is a self-contained inference model
(raw pixels 0-255 in, one softmax probability per class out): preprocessing (resize, channels, value range), a
backbone that returns a feature map (MobileNetV2, a small CNN or a small ViT: `models/<name>.py`), then
the same head (global average pooling, dropout, a softmax layer with L2). Only stock Keras layers, so it
exports to .h5 and reloads with plain `keras.models.load_model`; augmentation stays out of it.
"""

import importlib

import numpy as np

from data.spec import FASHION_MNIST, DataSpec
from models.augmentation import augmentation_seeds, build_augmentation, corruption_steps, in_order, picture_steps
from models.consistency import JensenShannon, TrainingView
from runkit.errors import UserError
from runkit.files import require
from runkit.frameworks import keras, layers


def architecture_module(name: str):
    """`models/<name>.py`: build_backbone(cfg, channels), CHANNELS (None: the input's), VALUE_RANGE,
    INT8_FLOAT_LAYERS (config.ARCHITECTURES names them)."""
    return importlib.import_module(f"models.{name}")


def build_classifier(cfg, spec: DataSpec = FASHION_MNIST) -> keras.Model:
    """Raw uint8-range pixels of the data set's shape -> one probability per class."""
    architecture = architecture_module(cfg.architecture)
    height, width, channels = spec.input_shape
    inputs = keras.Input(spec.input_shape, name="pixels")
    x = inputs
    if (cfg.image_size, cfg.image_size) != (height, width):
        # Resize each batch here, not in the data set, so memory does not grow with image_size.
        x = layers.Resizing(cfg.image_size, cfg.image_size, name="upsample")(x)
    if architecture.CHANNELS == 3 and channels == 1:
        x = layers.Concatenate(name="to_rgb")([x, x, x])
    low, high = architecture.VALUE_RANGE
    x = layers.Rescaling((high - low) / 255, offset=low, name="to_unit_range")(x)
    x = architecture.build_backbone(cfg, architecture.CHANNELS or channels)(x)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    x = layers.Dropout(cfg.dropout, name="dropout")(x)
    outputs = layers.Dense(  # float32 under mixed precision too: a softmax in 16 bits loses small probabilities
        spec.num_classes, activation="softmax", kernel_regularizer=keras.regularizers.L2(cfg.l2), name="probs",
        dtype="float32",
    )(x)
    return keras.Model(inputs, outputs, name="classifier")


def build_model(cfg, spec: DataSpec = FASHION_MNIST) -> keras.Model:
    """The training model: augmentation, then the classifier (reach it with `classifier_of`). With `consistency`,
    AugMix's recipe (models/consistency.py): the label's loss on the picture, the corruptions in views of it."""
    keras.utils.set_random_seed(cfg.seed)
    inputs = keras.Input(spec.input_shape, name="pixels")
    if not cfg.consistency:
        augmented = build_augmentation(cfg, spec)(inputs)
        return keras.Model(inputs, build_classifier(cfg, spec)(augmented), name=f"{spec.name}_{cfg.architecture}")
    seeds = augmentation_seeds(cfg.seed)
    picture = in_order(picture_steps(cfg, spec, seeds), name="augmentation")(inputs)
    classifier, views = build_classifier(cfg, spec), []
    for name in ("consistency_view_1", "consistency_view_2")[:cfg.consistency_views]:  # each its own seed streams
        corruptions = in_order(corruption_steps(cfg, spec, augmentation_seeds(seeds[name])))
        views.append(classifier(TrainingView(corruptions, cfg.consistency_share, name=name)(picture)))
    outputs = JensenShannon(cfg.consistency, name="consistency")([classifier(picture), *views])
    return keras.Model(inputs, outputs, name=f"{spec.name}_{cfg.architecture}")


def load_trained_classifier(cfg, weights_path, spec: DataSpec = FASHION_MNIST) -> keras.Model:
    """The inference model of a trained run, its weights loaded from `weights_path` (one line if it is missing);
    flip-averaged where the config asks and a mirror image keeps the data set's labels."""
    model = build_model(cfg, spec)
    try:
        model.load_weights(require(weights_path, "train.py"))
    except ValueError as e:
        raise UserError(f"{weights_path} does not fit the config (was the architecture or its size changed?): "
                        f"{e}") from None
    except (OSError, RuntimeError, KeyError) as e:  # what h5py raises for a truncated or overwritten file
        raise UserError(f"{weights_path} is damaged ({type(e).__name__}): train again with "
                        "`python train.py --fresh`") from None
    classifier = classifier_of(model)
    # Inference only: frozen layers keep batch norm on its moving statistics even where a caller (a traced
    # tf.function, a SavedModel signature) runs the model in training mode.
    classifier.trainable = False
    return with_flip_averaging(classifier) if cfg.tta_flip and spec.mirror_keeps_label else classifier


def with_flip_averaging(classifier: keras.Model) -> keras.Model:
    """The classifier's probabilities averaged over each image and its mirror image (test-time augmentation).

    The mirror is a fixed 0/1 permutation matrix applied to each row of pixels (width x channels values, the
    last axis once reshaped) by a frozen Dense layer: stock layers only, so the model still exports to .h5 and
    reloads with safe_mode, and no transpose (oneDNN has none for the raw uint8 batches, and says so on stderr).
    """
    shape = tuple(classifier.input_shape[1:])
    height, width, channels = shape
    inputs = keras.Input(shape, name="pixels")
    mirror = layers.Dense(width * channels, use_bias=False, trainable=False, name="mirror")
    x = layers.Reshape((height, width * channels), name="width_last")(inputs)
    x = layers.Reshape(shape, name="channel_back")(mirror(x))
    # Pixel w, channel c moves to pixel width - 1 - w, channel c.
    mirror.set_weights([np.kron(np.eye(width, dtype="float32")[::-1], np.eye(channels, dtype="float32"))])
    probs = layers.Average(name="mean_of_views")([classifier(inputs), classifier(x)])
    return keras.Model(inputs, probs, name="classifier_tta")


def classifier_parts(classifier: keras.Model) -> tuple[keras.Model, keras.Model, list]:
    """(preprocessing model: pixels -> the backbone's input, the backbone, the head's layers in order)."""
    preprocess = keras.Model(classifier.input, classifier.get_layer("to_unit_range").output)
    head = [classifier.get_layer(name) for name in ("pool", "dropout", "probs")]
    return preprocess, backbone_of(classifier), head


def backbone_of(classifier: keras.Model) -> keras.Model:
    """The one nested model inside the classifier: the backbone."""
    return next(layer for layer in classifier.layers if isinstance(layer, keras.Model))


def classifier_of(model: keras.Model) -> keras.Model:
    """The classifier inside a training model or a flip-averaging export, or `model` where it is the classifier."""
    return model.get_layer("classifier") if "classifier" in {layer.name for layer in model.layers} else model


def pooled_features(classifier: keras.Model):
    """The classifier's pooled features, the head's input (a symbolic tensor of the classifier's graph)."""
    return classifier.get_layer("pool").output


def mirrored(export: keras.Model, pixels):
    """`pixels` mirrored by a flip-averaging export's own mirror layers (`with_flip_averaging`)."""
    for name in ("width_last", "mirror", "channel_back"):
        pixels = export.get_layer(name)(pixels)
    return pixels


def base_of(model: keras.Model) -> keras.Model:
    return backbone_of(classifier_of(model))


def is_transfer_learning(cfg) -> bool:
    """MobileNetV2 follows the transfer-learning recipe (also with --weights none, which tests use); the others
    train from scratch."""
    return cfg.architecture == "mobilenet_v2"


def is_pretrained(cfg) -> bool:
    """Whether the backbone starts from ImageNet weights (downloaded or a local file)."""
    return is_transfer_learning(cfg) and cfg.weights is not None


def freeze_base(model: keras.Model) -> None:
    """Phase 1: only the head learns."""
    base_of(model).trainable = False


def unfreeze_base(model: keras.Model, top_layers: int, freeze_batch_norm: bool) -> None:
    """Phase 2: the top `top_layers` layers of the base learn (0 = all of them).

    For transfer learning the batch-norm layers stay frozen, which in Keras also keeps them in inference
    mode: their ImageNet statistics with momentum 0.999 lag far behind a new domain if they update
    (docs/experiments.md). A base trained from scratch has no statistics worth keeping: its batch norm learns.
    """
    base = base_of(model)
    base.trainable = True
    if top_layers:
        for layer in base.layers[:-top_layers]:
            layer.trainable = False
    if freeze_batch_norm:
        for layer in base.layers:
            if isinstance(layer, layers.BatchNormalization):
                layer.trainable = False
