from runkit.frameworks import keras, layers

"""A small Vision Transformer (Dosovitskiy et al. 2021) trained from scratch, from stock Keras layers.

The image is cut into vit_patch_size squares; one EinsumDense layer projects each patch to vit_dim and
adds a learned embedding per position (its bias has one row per patch). Pre-norm transformer blocks
follow. The tokens come out as a grid (h, w, vit_dim), so the shared head pools them like a CNN's
feature map (global average pooling instead of a class token) and activation maps (evaluation/cam.py) can
draw over them.
"""


CHANNELS = None  # the input's: grey or colour
VALUE_RANGE = (0.0, 1.0)
INT8_FLOAT_LAYERS = ()  # the int8 TFLite export quantises every layer


def build_backbone(cfg, channels: int) -> keras.Model:
    size, patch, dim = cfg.image_size, cfg.vit_patch_size, cfg.vit_dim
    grid = size // patch
    inputs = keras.Input((size, size, channels))
    x = layers.Reshape((grid, patch, grid, patch * channels), name="cut")(inputs)
    x = layers.Permute((1, 3, 2, 4), name="patches_first")(x)
    x = layers.Reshape((grid * grid, patch * patch * channels), name="patches")(x)
    x = layers.EinsumDense("abc,cd->abd", output_shape=(grid * grid, dim), bias_axes="bd",
                           bias_initializer=keras.initializers.RandomNormal(stddev=0.02),
                           name="patch_and_position_embedding")(x)
    for block in range(1, cfg.vit_depth + 1):
        name = f"block{block}"
        y = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_norm1")(x)
        y = layers.MultiHeadAttention(cfg.vit_heads, dim // cfg.vit_heads, name=f"{name}_attention")(y, y)
        x = layers.Add(name=f"{name}_add1")([x, y])
        y = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_norm2")(x)
        y = layers.Dense(2 * dim, activation="gelu", name=f"{name}_mlp1")(y)
        y = layers.Dense(dim, name=f"{name}_mlp2")(y)
        x = layers.Add(name=f"{name}_add2")([x, y])
    x = layers.LayerNormalization(epsilon=1e-6, name="norm")(x)
    return keras.Model(inputs, layers.Reshape((grid, grid, dim), name="token_grid")(x), name="vit")
