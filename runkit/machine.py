"""What a number was measured on, and which optional frameworks this machine has."""

import functools
import os
import platform
import sys
from contextlib import contextmanager


def machine_info() -> dict:
    """What a number was measured on: CPUs, accelerators and the framework versions."""
    optional_tensorflow()  # Keras imports it on its default backend: with its start-up lines silenced first
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

    It is imported with the process's output pointed at /dev/null, and its devices listed (when the GPU check
    prints): TensorFlow 2.19 and later print their C++ start-up lines (oneDNN notices, a failed `cuInit` on a
    machine without a GPU) before they read TF_CPP_MIN_LOG_LEVEL (tensorflow/tensorflow#100442).
    """
    with native_output_silenced():
        try:
            import tensorflow
        except ImportError:
            return None
        tensorflow.config.list_physical_devices()
    return tensorflow


@contextmanager
def native_output_silenced():
    """File descriptors 1 and 2, where C++ code prints, go to /dev/null inside the block (Python's own
    output is flushed first, so nothing of it is lost)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    devnull = os.open(os.devnull, os.O_WRONLY)
    for fd in saved:
        os.dup2(devnull, fd)
    try:
        yield
    finally:
        for fd, copy in saved.items():
            os.dup2(copy, fd)
            os.close(copy)
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
