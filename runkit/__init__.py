"""What every script shares: one-line errors, the command line, a run's files and the machine it ran on."""

import os

# TensorFlow's C++ info and warnings; its errors still show (and see machine.optional_tensorflow)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
