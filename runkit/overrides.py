"""Command-line overrides of a dataclass of settings (nanoGPT's configurator, typed): `--name value` or
`--name=value` for any field, `--preset NAME` for a named set of them, `--config FILE` for a JSON object of them
(tune.py's best.json), a did-you-mean for a misspelt name."""

import dataclasses
import difflib
import json
import typing
from pathlib import Path

from runkit.errors import UserError


def parse_overrides(argv: list[str], settings: type, presets: dict, flags=()) -> dict:
    """Turn `--name value` / `--name=value` pairs into values of the dataclass `settings`' fields, typed as they
    are declared (`--preset NAME` expands to `presets[NAME]`; later ones win). The `flags` take no value and are no
    field: a script reads its own, and the others pass them by."""
    pairs, i = [], 0
    while i < len(argv):
        arg = argv[i]
        if arg[2:] in flags:
            i += 1
            continue
        if not arg.startswith("--"):
            raise UserError(f"unexpected argument {arg!r}: overrides look like --name value")
        if "=" in arg:
            name, value = arg[2:].split("=", 1)
            i += 1
        elif i + 1 < len(argv):
            name, value = arg[2:], argv[i + 1]
            i += 2
        else:
            raise UserError(f"{arg} needs a value")
        pairs += config_file(value) if name == "config" else [(name, value)]

    fields = {f.name: f for f in dataclasses.fields(settings)}
    overrides = {}
    for name, value in pairs:
        if name == "preset":
            if value not in presets:
                raise UserError(f"unknown preset {value!r}; choose one of {', '.join(presets)}")
            overrides.update(presets[value])
        elif name in fields:
            overrides[name] = coerce(name, value, fields[name].type)
        else:
            close = difflib.get_close_matches(name, list(fields) + ["preset", "config"], n=1)
            hint = f"; did you mean --{close[0]}?" if close else f"; see {settings.__module__}.py for the fields"
            raise UserError(f"unknown option --{name}{hint}")
    return overrides


def config_file(path: str) -> list[tuple[str, str]]:
    """The (name, value) pairs of a JSON object of overrides, values as a command line would give them."""
    try:
        values = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise UserError(f"--config {path}: no such file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"--config {path}: not JSON ({e}); write an object of field values") from None
    if not isinstance(values, dict):
        raise UserError(f"--config {path}: write a JSON object of field values, as tune.py's best.json")
    return [(name, "none" if value is None else json.dumps(value) if isinstance(value, bool) else str(value))
            for name, value in values.items()]


def coerce(name: str, text: str, kind) -> object:
    """Convert a command-line string to the field's type, or say which type was expected."""
    optional = type(None) in typing.get_args(kind)
    if optional and text.lower() in ("none", "null", ""):
        return None
    if optional:
        kind = next(arg for arg in typing.get_args(kind) if arg is not type(None))
    try:
        if kind is bool:
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if kind is int:
            return int(text)
        if kind is float:
            return float(text)
        return text
    except ValueError:
        expected = getattr(kind, "__name__", str(kind))
        raise UserError(f"config: --{name} expects {expected}, got {text!r}") from None
