from runkit.frameworks import keras, layers

"""A small plain CNN trained from scratch on the native 28x28 image: the baseline transfer learning must beat.

Three stages of two 3x3 convolutions (batch norm, ReLU), the width doubling and the image halving
between stages (VGG's pattern): 28x28 -> 7x7 feature maps of 4 x cnn_filters channels.
"""


CHANNELS = None  # the input's: grey or colour
VALUE_RANGE = (0.0, 1.0)
INT8_FLOAT_LAYERS = ()  # the int8 TFLite export quantises every layer


def build_backbone(cfg, channels: int) -> keras.Model:
    inputs = keras.Input((cfg.image_size, cfg.image_size, channels))
    x = inputs
    for stage, filters in enumerate((cfg.cnn_filters, 2 * cfg.cnn_filters, 4 * cfg.cnn_filters)):
        if stage:
            x = layers.MaxPooling2D(name=f"pool{stage}")(x)
        for conv in (1, 2):
            name = f"stage{stage + 1}_conv{conv}"
            x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=name)(x)  # BN brings the bias
            x = layers.BatchNormalization(name=f"{name}_bn")(x)
            x = layers.ReLU(name=f"{name}_relu")(x)
    return keras.Model(inputs, x, name="cnn")
