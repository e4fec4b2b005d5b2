"""Benchmark: does the input pipeline cost anything, does memory stay flat, how fast is inference?

    python -m bench.benchmark --data_dir DIR --weights FILE     # all four figures -> runs/benchmark.json
    python -m bench.benchmark --sizes 96 --steps 5 --repeats 2   # shorter; any config field can follow

1. Training throughput (images/s) of the fine-tuning step (whole base, as the full preset) fed
   (a) by the pipeline train.py uses (raw 28x28 batches, resize, channels, augmentation in the model) and
   (b) with one batch already resized and held in memory (the limit for this model here); ratio a/b;
   at the first size also (a) with the step XLA-compiled (`--jit_compile true`).
2. Peak memory (max RSS) of (a), a short training on the whole training set, next to what the naive
   approach (the upsampled float32 data set in memory) would need.
3. Inference of the exported .h5: latency of one image and throughput at batch 256.
4. Accuracy per minute of a finished run (default: the quick-preset run in artifacts/).

Each measurement runs in a fresh process, so peak memory is its own and no run warms another.
"""

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

from data.datasets import load_dataset
from data.pipeline import EpochBatches, split_of_run
from inference.portable import latencies_ms
from models.classifier import build_model, classifier_of, classifier_parts, is_transfer_learning, unfreeze_base
from models.runs import new_run_config
from models.training import compile_for_training
from runkit import cli
from runkit.files import write_json
from runkit.frameworks import keras, tf
from runkit.machine import describe_machine, machine_info
from runkit.processes import json_from_child

ROOT = Path(__file__).resolve().parents[1]

BATCH_FOR_THROUGHPUT = 256


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def spread(values) -> dict:
    return {"min": float(np.min(values)), "median": float(np.median(values)), "max": float(np.max(values))}


class BatchClock(keras.callbacks.Callback):
    """Time stamps at the end of every training batch."""

    def __init__(self):
        super().__init__()
        self.stamps = []

    def on_train_batch_end(self, batch, logs=None):
        self.stamps.append(time.perf_counter())


def training_throughput(cfg, feed: str, steps: int, repeats: int, warmup: int) -> dict:
    """Images/s of the fine-tuning step over `repeats` windows of `steps` batches, after `warmup` batches."""
    data = load_dataset(cfg)
    (x_train, y_train), _ = split_of_run(*data.train, cfg)
    model = build_model(cfg, data.spec)
    unfreeze_base(model, 0, is_transfer_learning(cfg))
    if feed == "pipeline":
        dataset = EpochBatches(x_train, y_train, cfg.batch_size, cfg.seed).dataset.repeat()
    else:  # the same base and head fed with one batch already upsampled to the base's input
        to_base_input, base, head = classifier_parts(classifier_of(model))
        batch = to_base_input.predict(x_train[:cfg.batch_size], verbose=0)
        inputs = keras.Input(batch.shape[1:])
        x = base(inputs)
        for layer in head:
            x = layer(x)
        model = keras.Model(inputs, x)
        dataset = tf.data.Dataset.from_tensors((batch, y_train[:cfg.batch_size])).repeat()
    compile_for_training(model, cfg)
    model.optimizer.learning_rate = cfg.clr_min
    clock = BatchClock()
    model.fit(dataset, steps_per_epoch=warmup + steps * repeats, epochs=1, verbose=0, callbacks=[clock])
    stamps = np.array(clock.stamps[warmup - 1:])  # from the end of the last warm-up batch
    rates = [steps * cfg.batch_size / (stamps[(i + 1) * steps] - stamps[i * steps]) for i in range(repeats)]
    return {"images_per_s": spread(rates), "peak_rss_mb": peak_rss_mb(), "dataset_images": len(data.train[1])}


def inference(path: Path, repeats: int) -> dict:
    """Latency of one image and throughput at batch 256 of the exported model.

    One image is timed two ways: Keras' `predict_on_batch` and the model wrapped in a `tf.function`
    (what a TensorFlow server runs: no Keras data handling per call).
    """
    model = keras.models.load_model(path, compile=False)
    shape = model.input.shape[1:]
    images = np.random.default_rng(0).integers(0, 256, (BATCH_FOR_THROUGHPUT, *shape)).astype("float32")
    one = images[:1]
    serve = tf.function(lambda x: model(x, training=False))
    keras_ms = latencies_ms(model.predict_on_batch, one, 20 * repeats)
    function_ms = latencies_ms(serve, tf.constant(one), 20 * repeats)
    rates = [len(images) / (ms / 1000) for ms in latencies_ms(model.predict_on_batch, images, repeats)]
    return {"model": str(path), "size_mb": path.stat().st_size / 1e6,
            "latency_ms_one_image": spread(keras_ms), "latency_ms_one_image_tf_function": spread(function_ms),
            "images_per_s_batch_256": spread(rates)}


def accuracy_per_minute(run_dir: Path) -> dict:
    metrics_path = run_dir / "metrics.json"
    if not metrics_path.exists():
        return {"skipped": f"{metrics_path} not found: run train.py and evaluate.py first"}
    metrics = json.loads(metrics_path.read_text())
    return {"run": str(run_dir), "train_command": metrics["train_command"],
            "test_accuracy": metrics["test_accuracy"], "train_minutes": metrics["train_minutes"],
            "accuracy_points_per_minute": 100 * metrics["test_accuracy"] / metrics["train_minutes"],
            "machine": describe_machine(metrics["machine"])}


def in_fresh_process(measure: str, args, overrides: list[str]) -> dict:
    """Run one measurement in a new Python process and return its JSON result."""
    command = [sys.executable, "-m", "bench.benchmark", "--measure", measure, "--steps", str(args.steps), "--repeats",
               str(args.repeats), "--warmup", str(args.warmup), "--export", str(args.export), *overrides]
    return json_from_child(command, f"benchmark step {measure} {' '.join(overrides)}", cwd=ROOT)


def print_table(results: dict) -> None:
    print(f"\nmachine: {describe_machine(results['machine'])}")
    print(f"{'measure':44} {'min':>9} {'median':>9} {'max':>9}")
    for size, row in results["training"].items():
        for feed in ("pipeline", "cached", "pipeline_xla"):
            if feed not in row:
                continue
            r = row[feed]["images_per_s"]
            print(f"{f'train {size}px {feed} (img/s)':44} {r['min']:9.1f} {r['median']:9.1f} {r['max']:9.1f}")
        print(f"{f'train {size}px pipeline/cached (median)':44} {row['ratio']:29.3f}")
        print(f"{f'train {size}px peak RSS (MB); naive data set':44} {row['pipeline']['peak_rss_mb']:29.0f}; "
              f"{row['naive_dataset_mb']:.0f}")
    inf = results["inference"]
    if "skipped" in inf:
        print(f"inference: {inf['skipped']}")
    else:
        for key, label in (("latency_ms_one_image", "one image, predict_on_batch (ms)"),
                           ("latency_ms_one_image_tf_function", "one image, tf.function (ms)"),
                           ("images_per_s_batch_256", "batch 256 (img/s)")):
            r = inf[key]
            print(f"{'inference ' + label:44} {r['min']:9.2f} {r['median']:9.2f} {r['max']:9.2f}")
    acc = results["accuracy_per_minute"]
    print(acc.get("skipped") or f"accuracy per minute: {100 * acc['test_accuracy']:.2f}% test in "
                                 f"{acc['train_minutes']:.1f} min of training")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[96, 224], help="image sizes (none: skip)")
    parser.add_argument("--steps", type=int, default=10, help="batches per timed window")
    parser.add_argument("--repeats", type=int, default=3, help="timed windows (min/median/max over them)")
    parser.add_argument("--warmup", type=int, default=3, help="batches before timing starts")
    parser.add_argument("--export", type=Path, default=ROOT / "exports" / "fashion_mnist_model.h5")
    parser.add_argument("--run_dir", type=Path, default=ROOT / "artifacts", help="finished run for figure 4")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "benchmark.json")
    parser.add_argument("--measure", choices=["pipeline", "cached", "inference"], help=argparse.SUPPRESS)
    args, overrides = parser.parse_known_args(argv)
    cfg = new_run_config(overrides)  # data_dir, weights, alpha, batch_size... as in config.py

    if args.measure in ("pipeline", "cached"):  # inside a fresh process
        print(json.dumps(training_throughput(cfg, args.measure, args.steps, args.repeats, args.warmup)))
        return
    if args.measure == "inference":
        print(json.dumps(inference(args.export, args.repeats)))
        return

    results = {"command": " ".join(["python", "-m", "bench.benchmark", *argv]), "machine": machine_info(),
               "training": {},
               "settings": {"steps": args.steps, "repeats": args.repeats, "warmup": args.warmup,
                            "batch_size": cfg.batch_size, "alpha": cfg.alpha}}
    for size in args.sizes:
        print(f"training throughput at {size}px ...", flush=True)
        at_size = [*overrides, "--image_size", str(size)]
        row = {feed: in_fresh_process(feed, args, at_size) for feed in ("pipeline", "cached")}
        if size == args.sizes[0]:  # does XLA speed up the step here? (slow to measure at every size)
            row["pipeline_xla"] = in_fresh_process("pipeline", args, [*at_size, "--jit_compile", "true"])
        row["ratio"] = row["pipeline"]["images_per_s"]["median"] / row["cached"]["images_per_s"]["median"]
        # The naive approach: the whole training file upsampled to RGB float32 in memory (exact, not measured).
        row["naive_dataset_mb"] = row["pipeline"]["dataset_images"] * size * size * 3 * 4 / 1e6
        results["training"][str(size)] = row
    print("inference ...", flush=True)
    results["inference"] = (in_fresh_process("inference", args, overrides)
                            if args.export.exists() else
                            {"skipped": f"{args.export} not found: run export_model.py first"})
    results["accuracy_per_minute"] = accuracy_per_minute(args.run_dir)
    write_json(args.out, results)
    print_table(results)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    cli.run(main)
