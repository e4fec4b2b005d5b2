"""Compare the architectures, each under its preset's budget: `python -m bench.compare_architectures [overrides]`.

    python -m bench.compare_architectures --data_dir DIR --weights FILE     # quick (MobileNetV2), cnn, vit
    python -m bench.compare_architectures --presets cnn,vit --seed 1        # any subset; overrides go to all

Each preset runs train -> evaluate -> visualise -> export as a user runs them, in its own folder under
--out_dir (runs/compare/PRESET/{artifacts,visualizations,exports}); evaluate.py appends each run to the
results table (config.results_file). Then test accuracy, parameters, exported size, training time, training
images/s and one-image latency are gathered into --out (runs/architectures.json) and printed as a
Markdown table.
"""

import argparse
import datetime
import subprocess
import sys
from pathlib import Path

from config import PRESETS, make_config
from models.classifier import is_pretrained
from models.runs import command_line_overrides
from runkit import cli
from runkit.errors import UserError
from runkit.files import RunFiles, read_json, write_json
from runkit.machine import describe_machine
from runkit.records import ExportsRecord, MetricsRecord, read_record, run_of

ROOT = Path(__file__).resolve().parents[1]

SCRIPTS = ("train.py", "evaluate.py", "visualize_results.py", "export_model.py")


def split_options(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    """This script's own options, and the config overrides for every run (the rest of the command line)."""
    parser = argparse.ArgumentParser(allow_abbrev=False)  # --preset in the overrides is not --presets
    parser.add_argument("--presets", default="quick,cnn,vit")
    parser.add_argument("--out_dir", default="runs/compare")
    parser.add_argument("--out", default="runs/architectures.json")
    return parser.parse_known_args(argv)


def run_preset(preset: str, folder: Path, overrides: list[str]) -> None:
    argv = ["--preset", preset, *overrides, "--artifacts_dir", str(folder / "artifacts"),
            "--visualizations_dir", str(folder / "visualizations"), "--exports_dir", str(folder / "exports")]
    for script in SCRIPTS:
        print(f"\n=== {preset}: {script} ===", flush=True)
        extra = ["--fresh"] if script == "train.py" else []
        done = subprocess.run([sys.executable, str(ROOT / script), *argv, *extra], cwd=ROOT)
        if done.returncode:
            raise UserError(f"preset {preset}: {script} failed (exit {done.returncode}); see its output above")


def summarise(preset: str, folder: Path) -> dict:
    """One row of the comparison from the run's own files."""
    files = RunFiles(folder / "artifacts")
    metrics = read_record(files.metrics, MetricsRecord, "evaluate.py")
    history = read_json(files.history, "train.py", keys=("epochs",))
    run = run_of(history, files.history)
    exports = {r["format"]: r for r in read_record(folder / "exports" / "exports.json", ExportsRecord,
                                                   "export_model.py").get("exports", [])}
    seconds = sum(e["seconds"] for e in history["epochs"])
    cfg = make_config(base=metrics["config"])
    return {
        "preset": preset,
        "architecture": cfg.architecture,
        "pretrained": is_pretrained(cfg),
        "image_size": cfg.image_size,
        "epochs": len(history["epochs"]),
        "test_accuracy": metrics["test_accuracy"],
        "best_val_accuracy": metrics["best_val_accuracy"],
        "parameters": run["parameters"],
        "h5_mb": (folder / "exports" / "fashion_mnist_model.h5").stat().st_size / 1e6,
        "tflite_int8_mb": exports["TFLite int8"]["size_mb"],
        "train_minutes": seconds / 60,
        # Validation passes are inside the epochs' time, so this is what a user waits per training image.
        "train_images_per_s": len(history["epochs"]) * run["train_images"] / seconds,
        "latency_ms_one_image_keras": exports["keras (in memory)"]["latency_ms_one_image"],
        "latency_ms_one_image_tflite_float16": exports["TFLite float16"]["latency_ms_one_image"],
        "command": metrics["train_command"],
        "machine": metrics["machine"],
    }


def markdown_table(rows: list[dict]) -> str:
    lines = ["| preset | architecture | pretrained | test acc | params | .h5 MB | int8 MB | train min | img/s "
             "| 1 image ms (Keras / TFLite f16) |", "|" + "---|" * 10]
    for r in rows:
        pretrained = "yes" if r["pretrained"] else "no"
        lines.append(f"| {r['preset']} | {r['architecture']} {r['image_size']} px | {pretrained} "
                     f"| {r['test_accuracy']:.4f} | {r['parameters']:,} | {r['h5_mb']:.2f} | {r['tflite_int8_mb']:.2f} "
                     f"| {r['train_minutes']:.1f} | {r['train_images_per_s']:.0f} "
                     f"| {r['latency_ms_one_image_keras']:.2f} / {r['latency_ms_one_image_tflite_float16']:.2f} |")
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    options, overrides = split_options(argv)
    presets = [p for p in options.presets.split(",") if p]
    unknown = [p for p in presets if p not in PRESETS]
    if unknown or not presets:
        raise UserError(f"--presets {options.presets!r}: choose from {', '.join(PRESETS)}, comma-separated")
    if {"artifacts_dir", "visualizations_dir", "exports_dir"} & set(command_line_overrides(overrides)):
        raise UserError("the run folders come from --out_dir; drop --artifacts_dir/--visualizations_dir/--exports_dir")

    out_dir = Path(options.out_dir)
    for preset in presets:
        run_preset(preset, out_dir / preset, overrides)
    rows = [summarise(preset, out_dir / preset) for preset in presets]
    write_json(Path(options.out), {
        "command": " ".join(["python", "-m", "bench.compare_architectures", *argv]),
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "rows": rows,
    })
    print(f"\n{markdown_table(rows)}\n\non {describe_machine(rows[0]['machine'])}; wrote {options.out}")


if __name__ == "__main__":
    cli.run(main)
