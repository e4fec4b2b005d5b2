"""A trial's process, killed when its worker dies however it dies (Linux): `python tuning/child.py PID ARGS...`.

Set in the new process before it becomes `python ARGS...` (the death signal survives exec), not in a fork of the
worker: a worker with several threads must not run Python between fork and exec.
"""

import ctypes
import os
import signal
import sys

if __name__ == "__main__":
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != int(sys.argv[1]):  # the worker died before that took effect
        sys.exit(1)
    os.execv(sys.executable, [sys.executable, *sys.argv[2:]])
