"""What a number was measured on, and which optional frameworks this machine has."""

import functools
import os
import platform
import sys
from contextlib import contextmanager


def machine_info() -> dict:
    """What a number was measured on: CPUs, accelerators and the framework versions."""
    import keras

    info = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
    }
    if info["backend"] == "jax":
        import jax

        info.update(jax=jax.__version__, gpus=[d.device_kind for d in jax.devices() if d.platform == "gpu"])
    elif info["backend"] == "torch":
        import torch

        info.update(torch=torch.__version__,
                    gpus=[torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())])
    else:
        import tensorflow as tf

        info.update(tensorflow=tf.__version__, gpus=[
            tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name)
            for gpu in tf.config.list_physical_devices("GPU")])
    return info


@functools.cache
def optional_tensorflow():
    """The tensorflow module where it is installed, else None: Keras on JAX or PyTorch alone (a GPU box with
    JAX only) trains, evaluates and exports the .h5 without it; what needs it is skipped with a note.

    It is imported with the process's stderr pointed at /dev/null, and its devices listed (when the GPU check
    prints): TensorFlow 2.19 and later print their C++ start-up lines (oneDNN notices, a failed `cuInit` on a
    machine without a GPU) before they read TF_CPP_MIN_LOG_LEVEL (tensorflow/tensorflow#100442).
    """
    with native_stderr_silenced():
        try:
            import tensorflow
        except ImportError:
            return None
        tensorflow.config.list_physical_devices()
    return tensorflow


@contextmanager
def native_stderr_silenced():
    """File descriptor 2, where C++ code writes, goes to /dev/null inside the block."""
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def describe_machine(info: dict) -> str:
    """One line for the results table, e.g. '2 CPU cores, GPU: none, TF 2.21.0'."""
    backend = info.get("backend", "tensorflow")
    framework = {"jax": "JAX", "torch": "PyTorch", "tensorflow": "TF"}[backend] + " " + info[backend]
    return f"{info['cpu_count']} CPU cores, GPU: {', '.join(info['gpus']) or 'none'}, {framework}"


def describe_machines(trained_on: dict, evaluated_on: dict) -> str:
    """The results table's machine: where it trained (its minutes are that machine's), and where it was
    evaluated when that was elsewhere."""
    trained, evaluated = describe_machine(trained_on), describe_machine(evaluated_on)
    return trained if trained == evaluated else f"trained on {trained}; evaluated on {evaluated}"
