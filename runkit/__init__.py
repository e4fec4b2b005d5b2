"""What every script shares: one-line errors, the command line, a run's files and the machine it ran on.

Importing it first keeps TensorFlow's C++ start-up chatter out of the scripts' output.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
