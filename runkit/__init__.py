"""What every script shares, below the packages and importing none of them: how a script runs and ends
(`cli`: one line for an error the user can fix, `errors`), a run's files written atomically (`files`), its
history read without Keras (`history`), Keras imported with TensorFlow's start-up lines silenced
(`frameworks`), the machine a number was measured on (`machine`), a measurement in a fresh process
(`processes`), command-line overrides of a dataclass of settings (`overrides`), the JSON records the scripts hand
to each other, each defined once (`records`), and names from users' data shown as text (`text`)."""

import os

# TensorFlow's C++ info and warnings; its errors still show (and see machine.optional_tensorflow)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
