"""What every script shares: one-line errors, the command line, a run's files and the machine it ran on.

Importing it first keeps TensorFlow's C++ start-up lines (oneDNN notices, a failed `cuInit` on a machine
without a GPU) out of the scripts' output: TensorFlow 2.19 and later print them before reading
TF_CPP_MIN_LOG_LEVEL (tensorflow/tensorflow#100442), so it is imported here with the process's stderr
pointed at /dev/null, and its devices listed, which is when the GPU check prints.
"""

import importlib.util
import os
from contextlib import contextmanager

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # later C++ lines too, such as oneDNN's kernel choices


@contextmanager
def native_stderr_silenced():
    """File descriptor 2 (what C++ writes to) goes to /dev/null inside the block."""
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


if importlib.util.find_spec("tensorflow") is not None:
    with native_stderr_silenced():
        import tensorflow

        tensorflow.config.list_physical_devices()
