"""MobileNetV2 backbone, pretrained on ImageNet (the default architecture)."""

import os

from runkit.errors import UserError
from runkit.frameworks import keras

CHANNELS = 3  # ImageNet's RGB: the grayscale image is repeated
VALUE_RANGE = (-1.0, 1.0)  # what MobileNetV2's ImageNet weights expect
# The int8 TFLite export keeps the stem and the first two inverted-residual blocks in float: at the highest
# resolution their quantisation error reaches every later layer (docs/exports.md measures the difference).
INT8_FLOAT_LAYERS = ("Conv1", "bn_Conv1", "expanded_conv_", "block_1_", "block_2_")


def build_backbone(cfg, channels: int = CHANNELS) -> keras.Model:
    """MobileNetV2 without its ImageNet top, on RGB; weights from ImageNet, a local file, or random."""
    weights = cfg.weights
    if weights not in (None, "imagenet") and not os.path.isfile(weights):
        raise UserError(f"weights={weights}: no such file; give a MobileNetV2 no-top .h5, 'imagenet' or none")
    try:
        return keras.applications.MobileNetV2(
            input_shape=(cfg.image_size, cfg.image_size, 3),
            alpha=cfg.alpha,
            include_top=False,
            weights=weights,
            name="mobilenetv2",
        )
    except ValueError as e:  # alpha without ImageNet weights, or a file for another alpha
        raise UserError(f"cannot build MobileNetV2(alpha={cfg.alpha}, weights={weights}): {e}") from None
    except Exception as e:  # the ImageNet download failed (offline)
        raise UserError(
            f"could not get ImageNet weights for MobileNetV2 alpha={cfg.alpha} ({type(e).__name__}); "
            "pass a local no-top .h5 with --weights PATH (or --weights none)"
        ) from None
