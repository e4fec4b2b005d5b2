"""What every script shares: one-line errors, the command line, a run's files and the machine it ran on."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ log lines (see machine.optional_tensorflow)
