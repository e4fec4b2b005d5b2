"""Test metrics of the trained run: `python evaluate.py [--artifacts_dir DIR]`.

Writes metrics.json and test_predictions.npz beside the run and appends a row to the results table. Fits the
"not recognised" score (inference/novelty.py) and its threshold on the training and validation splits, writes it as
novelty.json for export_model.py and reports the share of test images it keeps.
"""

import dataclasses
import datetime
import time

import numpy as np

from config import Config
from data.datasets import dataset_record, load_run_dataset
from data.pipeline import make_dataset, split_of_run
from evaluation.corruptions import SIDE, suite_accuracies
from evaluation.metrics import calibration_report, evaluate_classifier
from inference import novelty
from inference.runtime import recognised
from models.classifier import load_trained_classifier, with_flip_averaging
from models.runs import trained_run_config
from runkit import cli
from runkit.errors import UserError
from runkit.files import RunFiles, append_result, atomic_path, check_results_table, read_json
from runkit.history import best_val_accuracy, training_minutes
from runkit.machine import describe_machines, machine_info
from runkit.records import MetricsRecord, NoveltyRecord, RunRecord, run_of, write_record


def main(argv: list[str]) -> None:
    cfg = trained_run_config(argv)
    check_results_table(cfg.results_file)  # before any work: another file there is refused, untouched
    files = RunFiles(cfg.artifacts_dir)
    history = read_json(files.history, "train.py", keys=("epochs", "completed", "run"))
    run = run_of(history, files.history)
    data = load_run_dataset(cfg, files)
    if cfg.corruption_suite and data.spec.input_shape != (SIDE, SIDE, 1):
        raise UserError(f"--corruption_suite: the suite's corruptions are made for {SIDE}x{SIDE} grey pictures, not "
                        f"{data.spec.name}'s {'x'.join(map(str, data.spec.input_shape))}; leave it off")
    (x_train, _), (x_val, y_val) = split_of_run(*data.train, cfg)  # the images training held out

    metrics, probs, model = test_metrics(cfg, files, data, x_val, y_val)
    print("fitting the 'not recognised' score on training images and outliers made from them ...", flush=True)
    started = time.monotonic()
    record = novelty.fit(model, x_train, x_val, cfg.seed)
    write_record(files.novelty, NoveltyRecord, record)
    metrics["novelty"] = novelty_report(model, record, data.test[0]) | {"seconds": time.monotonic() - started}
    if cfg.corruption_suite:
        print("scoring the test images under each corruption of the suite ...", flush=True)
        metrics["robustness"] = robustness(model, *data.test)
    metrics.update(run_record(cfg, history, run, data))
    write_record(files.metrics, MetricsRecord, metrics)
    with atomic_path(files.predictions) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, probs=probs, labels=data.test[1])
    append_result(cfg.results_file, results_row(metrics, run))
    report(metrics, files, cfg.results_file, history["completed"])


def test_metrics(cfg, files: RunFiles, data, x_val, y_val):
    """The metrics of the view the config reports (flip-averaged or single; single where a mirror image changes the
    data set's labels), the other view's accuracy where it has one, and the calibration with a temperature fitted
    on the validation split (never on the test set); the test probabilities; the reported view's model."""
    x_test, y_test = data.test
    single_view = load_trained_classifier(dataclasses.replace(cfg, tta_flip=False), files.best_weights, data.spec)
    views = {"single_view": single_view}
    if data.spec.mirror_keeps_label:
        views["flip_averaged"] = with_flip_averaging(single_view)
    chosen = "flip_averaged" if cfg.tta_flip and "flip_averaged" in views else "single_view"
    test_ds = make_dataset(x_test, y_test, cfg.batch_size)
    metrics, probs = evaluate_classifier(views[chosen], test_ds, y_test, data.spec.class_names)
    metrics["test_accuracy_by_view"] = {
        view: metrics["test_accuracy"] if view == chosen else
        float(np.mean(model.predict(test_ds, verbose=0).argmax(axis=1) == y_test)) for view, model in views.items()}
    val_probs = views[chosen].predict(make_dataset(x_val, y_val, cfg.batch_size), verbose=0)
    metrics["calibration"] = calibration_report(val_probs, y_val, probs, y_test)
    return metrics, probs, views[chosen]


def novelty_report(model, record: dict, x_test) -> dict:
    """The score's method and threshold, and the shares of validation (from the fit) and test images it keeps
    recognised."""
    _, scores = novelty.with_score(model, record).predict(x_test, batch_size=256, verbose=0)
    return {"method": record["method"], "threshold": record["threshold"], "keep": record["keep"],
            "val_recognised": record["val_recognised"], "test_recognised": float(recognised(scores, record).mean())}


def robustness(model, x_test, y_test) -> dict:
    """The reported view's accuracy on the test images under each corruption of evaluation/corruptions.py's suite (its
    seed 0 draws, as `bench.robustness`'s), for the model card."""
    started = time.monotonic()
    result = suite_accuracies(lambda x: model.predict(x, batch_size=256, verbose=0), x_test[..., 0], y_test)
    return result | {"images": len(x_test), "seed": 0, "seconds": time.monotonic() - started}


def run_record(cfg, history: dict, run: RunRecord, data) -> dict:
    """What metrics.json keeps of the run: its training, config, data and machines."""
    return {
        "best_val_accuracy": best_val_accuracy(history),
        "train_minutes": training_minutes(history),
        "training_completed": history["completed"],
        "train_command": run["command"],
        "teachers": run.get("teachers", []),  # a distilled student's cost includes their training
        "config": dataclasses.asdict(cfg),
        "dataset": dataset_record(data),
        "data_source": data.source,
        "machine": machine_info(),
    }


def results_row(metrics: MetricsRecord, run: RunRecord) -> dict:
    """The run's row in the results table: what it changed from the defaults, its accuracies, time, machines."""
    defaults = dataclasses.asdict(Config())
    return {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "dataset": metrics["config"]["dataset"],
        "run": run["command"],
        "changed_config": " ".join(f"{k}={v}" for k, v in metrics["config"].items() if defaults[k] != v),
        "val_accuracy": f"{metrics['best_val_accuracy']:.4f}",
        "test_accuracy": f"{metrics['test_accuracy']:.4f}",
        "train_minutes": f"{metrics['train_minutes']:.1f}",
        "machine": describe_machines(run["machine"], metrics["machine"]),
    }


def report(metrics: dict, files: RunFiles, results_file: str, completed: bool) -> None:
    print(metrics["report_text"])
    by_view = metrics["test_accuracy_by_view"]
    views = ", ".join(f"{view.replace('_', ' ')} {accuracy:.4f}" for view, accuracy in by_view.items())
    print(f"test accuracy {metrics['test_accuracy']:.4f}, test loss {metrics['test_loss']:.4f} on "
          f"{metrics['test_images']} images ({views}; best validation accuracy {metrics['best_val_accuracy']:.4f})")
    calibration = metrics["calibration"]
    print(f"expected calibration error {calibration['ece']:.4f}; {calibration['ece_scaled']:.4f} with temperature "
          f"{calibration['temperature']:.3f} fitted on the validation split")
    kept = metrics["novelty"]
    print(f"'not recognised' score ({kept['method']}): keeps {kept['test_recognised']:.2%} of test images "
          f"recognised ({kept['val_recognised']:.2%} of validation images; the threshold keeps {kept['keep']:.0%})")
    if "robustness" in metrics:
        suite = metrics["robustness"]
        print(f"under the corruption suite: mean accuracy {suite['mean']:.4f} over {len(suite['corruptions'])} "
              f"corruptions (clean {suite['clean']:.4f})")
    print(f"wrote {files.metrics}, {files.predictions}, {files.novelty}; appended to {results_file}")
    if not completed:
        print("note: training did not finish; these are the best weights so far (run train.py to resume)")
    print("next: python visualize_results.py")


if __name__ == "__main__":
    cli.run(main)
