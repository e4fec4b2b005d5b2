"""A search space from the command line or a file: `field=SPEC` items, one per config field.

    clr_max=log:1e-4:3e-3     a float drawn on a log scale between the bounds
    dropout=0:0.5             a float drawn uniformly between the bounds
    finetune_layers=int:40:154   an integer between the bounds, both included
    optimizer=adam|adamw      one of the choices (a grid searches every combination of choices)

On the command line the items are separated by commas; in a file (`--space FILE`) by commas or lines, with `#`
comments. Every mistake is found before anything runs, each on a line of its own.
"""

import dataclasses
import difflib
from dataclasses import dataclass
from pathlib import Path

import optuna

from config import PATH_FIELDS, Config, make_config
from runkit.errors import UserError
from runkit.overrides import coerce

# Set by tune.py for each trial (its run folder), or paths that differ between machines.
NOT_SEARCHED = PATH_FIELDS


@dataclass(frozen=True)
class Dimension:
    """One field's range: `choices`, or `low`/`high` with `kind` float, log or int."""

    name: str
    kind: str  # choice, float, log or int
    choices: tuple = ()
    low: float = 0.0
    high: float = 0.0

    def suggest(self, trial: optuna.Trial):
        if self.kind == "choice":
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.kind == "int":
            return trial.suggest_int(self.name, int(self.low), int(self.high))
        return trial.suggest_float(self.name, self.low, self.high, log=self.kind == "log")

    def ends(self) -> list:
        """The values that bound it: each choice, or both ends of the range."""
        if self.kind == "choice":
            return list(self.choices)
        return [int(self.low), int(self.high)] if self.kind == "int" else [self.low, self.high]


def read_space(text: str) -> dict[str, Dimension]:
    """The space that `text` (or the file it names) describes, checked against config.py: a UserError with one
    line per mistake."""
    if Path(text).is_file():
        lines = [line.split("#", 1)[0] for line in Path(text).read_text().splitlines()]
        text = ",".join(lines)
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise UserError("--space is empty: give field=SPEC items, e.g. --space \"dropout=0:0.5,optimizer=adam|adamw\"")
    space, mistakes = {}, []
    for item in items:
        try:
            dimension = parse_item(item)
        except UserError as e:
            mistakes.append(str(e))
            continue
        if dimension.name in space:
            mistakes.append(f"{dimension.name}: given twice")
        space[dimension.name] = dimension
    check_mistakes(mistakes)
    return space


def parse_item(item: str) -> Dimension:
    fields = [f.name for f in dataclasses.fields(Config)]
    name, sep, spec = (part.strip() for part in item.partition("="))
    if not sep or not spec:
        raise UserError(f"{item!r}: write field=SPEC (low:high, log:low:high, int:low:high or a|b|c)")
    if name not in fields:
        close = difflib.get_close_matches(name, fields, n=1)
        raise UserError(f"{name}: no such config field" + (f"; did you mean {close[0]}?" if close else ""))
    if name in NOT_SEARCHED:
        raise UserError(f"{name}: a path, not searched; give it after the space as --{name} VALUE")
    if "|" in spec or ":" not in spec:
        choices = tuple(choice.strip() for choice in spec.split("|"))
        if "" in choices or len(set(choices)) != len(choices):
            raise UserError(f"{name}={spec}: choices must be distinct and non-empty, as in a|b|c")
        return Dimension(name, "choice", choices=choices)
    kind, bounds = ("float", spec.split(":"))
    if bounds[0] in ("log", "int"):
        kind, bounds = bounds[0], bounds[1:]
    try:
        low, high = (int(b) if kind == "int" else float(b) for b in bounds)
    except ValueError:
        raise UserError(f"{name}={spec}: write low:high, log:low:high or int:low:high with "
                        f"{'integer' if kind == 'int' else 'number'} bounds") from None
    if not low < high:
        raise UserError(f"{name}={spec}: the low bound must be below the high one")
    if kind == "log" and low <= 0:
        raise UserError(f"{name}={spec}: a log range needs bounds above 0")
    return Dimension(name, kind, low=low, high=high)


def check_space(space: dict[str, Dimension], overrides: dict) -> None:
    """Every end of every range, with the other overrides, must make a valid config (so no trial is refused
    after others ran): a UserError with one line per field that does not."""
    types = {f.name: f.type for f in dataclasses.fields(Config)}
    mistakes = []
    for dim in space.values():
        for value in dim.ends():
            try:
                make_config({**overrides, dim.name: coerce(dim.name, str(value), types[dim.name])})
            except UserError as e:
                mistakes.append(str(e).removeprefix("config: "))
                break
    check_mistakes(mistakes)


def check_mistakes(mistakes: list[str]) -> None:
    """One line for one mistake; a line each under a heading for more."""
    if len(mistakes) == 1:
        raise UserError(f"--space: {mistakes[0]}")
    if mistakes:
        raise UserError(f"--space has {len(mistakes)} mistakes:\n  " + "\n  ".join(mistakes))


def grid_of(space: dict[str, Dimension]) -> dict[str, list]:
    """The grid of a space of choices only (Optuna's GridSampler's search space)."""
    ranges = [d.name for d in space.values() if d.kind != "choice"]
    if ranges:
        raise UserError(f"a grid needs choices, not ranges: write {ranges[0]}=a|b|c")
    return {d.name: list(d.choices) for d in space.values()}
