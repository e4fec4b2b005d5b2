"""What a study found, beside it: a table of its trials (terminal and trials.csv), the best trial's config as
`train.py --config` takes it (best.json), and Optuna's plots as PNGs."""

import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, on machines without a display
import matplotlib.pyplot as plt
import optuna
import optuna.visualization.matplotlib as plots
from optuna.trial import TrialState

from config import PATH_FIELDS
from models.runs import command_line_overrides
from runkit.files import atomic_path, write_json
from tuning.trials import describe

PLOTS = {"history": plots.plot_optimization_history, "importances": plots.plot_param_importances,
         "parallel_coordinates": plots.plot_parallel_coordinate, "epochs": plots.plot_intermediate_values}


def report(study: optuna.Study, folder: Path, shared: list[str]) -> None:
    """Print the table of trials and write trials.csv, best.json and the plots into `folder`."""
    trials = study.get_trials(deepcopy=False)
    print(table(trials))
    with atomic_path(folder / "trials.csv") as tmp:
        study.trials_dataframe().to_csv(tmp, index=False)
    written = [folder / "trials.csv"]
    if any(t.state == TrialState.COMPLETE for t in trials):
        best = study.best_trial
        write_json(folder / "best.json", best_config(best.params, shared))
        written.append(folder / "best.json")
        print(f"best: trial {best.number}, {best.value:.4f} validation accuracy, in {folder / best.user_attrs['run']}")
        print(f"train it: python train.py --config {folder / 'best.json'} [--seed N --data_dir ... --weights ...]")
    for name, plot in PLOTS.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # experimental API; few trials' degenerate axes and importances
            try:
                axes = plot(study)
            except (ValueError, RuntimeError) as e:  # too few trials for this plot yet
                print(f"plot {name}: not drawn ({e})")
                continue
        figure = axes.figure if hasattr(axes, "figure") else axes.flat[0].figure
        figure.set_size_inches(9, 5)
        figure.tight_layout()
        with atomic_path(folder / f"{name}.png") as tmp:
            figure.savefig(tmp, dpi=100)
        plt.close(figure)
        written.append(folder / f"{name}.png")
    print(f"wrote {', '.join(p.name for p in written)} in {folder}")


def best_config(params: dict, shared: list[str]) -> dict:
    """The overrides that train the best trial again: the shared ones and its parameters, typed as config.py
    declares them, without paths (those of the machine that trains it are given beside `--config`)."""
    overrides = command_line_overrides([*shared, *(f"--{k}={v}" for k, v in params.items())])
    return {k: v for k, v in overrides.items() if k not in PATH_FIELDS}


def table(trials: list[optuna.trial.FrozenTrial]) -> str:
    lines = ["| trial | state | val acc | epochs | minutes | parameters | run |", "|---|---|---|---|---|---|---|"]
    for t in trials:
        minutes = (t.datetime_complete - t.datetime_start).total_seconds() / 60 \
            if t.datetime_complete and t.datetime_start else None
        state = "cut short" if t.user_attrs.get("cut_short") else t.state.name.lower()
        lines.append(f"| {t.number} | {state} | {'-' if t.value is None else f'{t.value:.4f}'} | "
                     f"{len(t.intermediate_values)} | {'-' if minutes is None else f'{minutes:.1f}'} | "
                     f"{describe(t.params)} | "
                     f"{t.user_attrs.get('run', '-')} |")
    return "\n".join(lines)

