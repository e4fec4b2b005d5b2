"""Keras, and TensorFlow where it is installed, imported once with TensorFlow's start-up lines silenced
(`runkit.machine.optional_tensorflow`). Modules take them from here, so whichever is imported first is quiet;
code that needs neither (ONNX inference, sweeps) imports neither."""

from runkit.machine import optional_tensorflow

tf = optional_tensorflow()  # None where only Keras on JAX is installed

import keras  # noqa: E402  (after TensorFlow, which Keras imports on its default backend)
from keras import layers, ops  # noqa: E402

__all__ = ["keras", "layers", "ops", "tf"]
