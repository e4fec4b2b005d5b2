"""A run's config: a new one from the command line (train.py), and a trained one read back from its folder with the
overrides the later scripts may take (evaluate.py, visualize_results.py, export_model.py, the measurements)."""

from config import (
    ARCHITECTURE_FIELDS,
    NON_TRAINING_FIELDS,
    PRESETS,
    SPLIT_FIELDS,
    Config,
    make_config,
    with_home_expanded,
)
from runkit.errors import UserError
from runkit.files import RunFiles, read_json
from runkit.overrides import parse_overrides

FLAGS = ("fresh",)  # train.py's --fresh (replace the run): the later scripts get the same command line, and pass it by


def command_line_overrides(argv: list[str]) -> dict:
    """The config fields a command line sets, typed, presets expanded."""
    return parse_overrides(argv, Config, PRESETS, FLAGS)


def new_run_config(argv: list[str]) -> Config:
    """Defaults of config.py with a preset and overrides from the command line (for train.py)."""
    return make_config(command_line_overrides(argv))


def trained_run_config(argv: list[str]) -> Config:
    """The config a run was trained with, plus command-line overrides (for the later scripts).

    Overrides of training settings are refused unless they repeat the run's own values (as run.sh passes them):
    the network's shape (the weights would not fit), the images it trained on and held out (validation would
    overlap training), and every other field that shaped the training, which would be recorded as if it had.
    """
    overrides = with_home_expanded(command_line_overrides(argv))  # as the run's saved config holds them
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
    if changed(training := [f for f in overrides if f not in NON_TRAINING_FIELDS]):
        raise UserError(f"{files.root} was trained with other settings: {', '.join(changed(training))}; the scripts "
                        "after train.py use the run's own: drop the overrides, or train a run with them")
    return make_config(overrides, base=saved)


def saved_run_config(folder) -> Config:
    """The config a run in `folder` was trained with (a teacher's, for a distilled student), its artifacts_dir
    that folder (the saved one may be relative to where it trained)."""
    return make_config({"artifacts_dir": str(folder)}, base=read_json(RunFiles(folder).config, "train.py"))
