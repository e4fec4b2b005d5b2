"""Smith's LR range test for the fine-tuning phase: `python lr_range_test.py [--preset quick] [...]`.

Sweeps the LR exponentially over a few hundred batches, writes the loss-vs-LR curve to lr_range_test.json beside
the results table (runs/ by default) and to visualizations/lr_range_test.png, and suggests cyclical LR bounds.
"""

import dataclasses
import math
from pathlib import Path

from data.datasets import load_dataset
from data.pipeline import EpochBatches, split_of_run
from models.classifier import build_model, is_transfer_learning, unfreeze_base
from models.lr_range import LRRangeTest, suggest_bounds
from models.runs import new_run_config
from models.training import compile_for_training, progress_verbosity
from runkit import cli
from runkit.files import write_json
from runkit.machine import machine_info
from visualizations import plots

START_LR, END_LR, STEPS = 1e-6, 1.0, 300


def main(argv: list[str]) -> None:
    cfg = new_run_config(argv)
    data = load_dataset(cfg)
    (x_train, y_train), _ = split_of_run(*data.train, cfg)
    model = build_model(cfg, data.spec)
    unfreeze_base(model, cfg.finetune_layers, is_transfer_learning(cfg))  # the phase that takes most of the training
    sweep = LRRangeTest(START_LR, END_LR, STEPS)
    compile_for_training(model, cfg, sweep.schedule)
    train_ds = EpochBatches(x_train, y_train, cfg.batch_size, cfg.seed).dataset  # one seeded order, every epoch
    epochs = math.ceil(STEPS / len(train_ds))  # the sweep stops itself after STEPS batches
    model.fit(train_ds, epochs=epochs, shuffle=False, callbacks=[sweep], verbose=progress_verbosity())

    lrs = sweep.lrs
    low, high = suggest_bounds(lrs, sweep.smoothed)
    write_json(Path(cfg.results_file).parent / "lr_range_test.json", {
        "lr": lrs, "loss": sweep.losses, "smoothed_loss": sweep.smoothed,
        "suggested_phase2_lr": [low, high],
        "suggested_clr_min": low / cfg.finetune_lr_scale, "suggested_clr_max": high / cfg.finetune_lr_scale,
        "config": dataclasses.asdict(cfg),
        "data_source": data.source, "machine": machine_info(),
    })
    plots.plot_lr_range_test(lrs, sweep.smoothed, low, high, Path(cfg.visualizations_dir) / "lr_range_test.png")
    scale = cfg.finetune_lr_scale  # phase 2 runs at clr_* x finetune_lr_scale
    print(f"phase 2 LR bounds {low:.2g}..{high:.2g}: set --clr_min {low / scale:.2g} --clr_max {high / scale:.2g}")


if __name__ == "__main__":
    cli.run(main)
