"""How every script runs: what it runs on first, and one line for an error the user can fix at its end."""

import sys

from runkit.errors import UserError
from runkit.machine import describe_machine, machine_info


def run(main, announce_machine: bool = True) -> None:
    """Call main(argv), first saying on stderr what it runs on; a UserError, a refused file operation or Ctrl-C
    ends the script with one line."""
    try:
        if announce_machine:
            info = machine_info()
            print(f"running on {describe_machine(info)}, Keras {info['keras']}", file=sys.stderr, flush=True)
        main(sys.argv[1:])
    except UserError as e:
        fail(str(e))
    except OSError as e:  # the file system said no: no space left, no permission, a file where a folder goes
        fail(f"{e.filename or 'a file'}: {e.strerror or e}; check that path (a folder, writable, with free space): "
             "the files written before are intact")
    except KeyboardInterrupt:
        print("\ninterrupted: run the same command again to resume", file=sys.stderr)
        sys.exit(130)


def fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)
