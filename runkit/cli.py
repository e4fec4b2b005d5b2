"""A script's config from its command line, and its end: one line for an error the user can fix."""

import sys

from config import ARCHITECTURE_FIELDS, SPLIT_FIELDS, Config, make_config, parse_overrides
from runkit.errors import UserError
from runkit.files import RunFiles, read_json
from runkit.machine import describe_machine, machine_info


def new_run_config(argv: list[str]) -> Config:
    """Defaults of config.py with a preset and overrides from the command line (for train.py)."""
    return make_config(parse_overrides(argv))


def trained_run_config(argv: list[str]) -> Config:
    """The config a run was trained with, plus command-line overrides (for the later scripts).

    Overrides that would change the network's shape (the weights would not fit) or the images it trained on
    and held out (validation would overlap training) are refused, unless they repeat the run's own values.
    """
    overrides = parse_overrides(argv)
    files = RunFiles(overrides.get("artifacts_dir", Config.artifacts_dir))
    saved = read_json(files.config, "train.py")

    def changed(fields):
        return [f"{f} (trained {saved.get(f)}, asked {overrides[f]})"
                for f in fields if f in overrides and overrides[f] != saved.get(f)]

    if changed(ARCHITECTURE_FIELDS):
        raise UserError(f"the trained weights in {files.root} do not fit: {', '.join(changed(ARCHITECTURE_FIELDS))}; "
                        "retrain with `python train.py` and these values, or drop the overrides")
    if changed(SPLIT_FIELDS):
        raise UserError(f"{files.root} was trained on other images: {', '.join(changed(SPLIT_FIELDS))} would hold "
                        "out images it trained on; drop the overrides, or train a run with them")
    return make_config(overrides, base=saved)


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
