"""Test metrics of the trained run: `python evaluate.py [--artifacts_dir DIR]`.

Writes metrics.json and test_predictions.npz beside the run and appends a row to the results table.
"""

import dataclasses
import datetime

import numpy as np

from config import Config, trained_run_config
from data.fashion_mnist import CLASS_NAMES, load_fashion_mnist
from data.pipeline import make_dataset, split_of_run
from evaluation.metrics import calibration_report, evaluate_classifier
from models.classifier import load_trained_classifier, with_flip_averaging
from runkit import cli
from runkit.files import RunFiles, append_result, atomic_path, read_json, write_json
from runkit.history import best_val_accuracy, training_minutes
from runkit.machine import describe_machines, machine_info


def main(argv: list[str]) -> None:
    cfg = trained_run_config(argv)
    files = RunFiles(cfg.artifacts_dir)
    history = read_json(files.history, "train.py", keys=("epochs", "completed", "run"))
    single_view = load_trained_classifier(dataclasses.replace(cfg, tta_flip=False), files.best_weights)
    views = {"single_view": single_view, "flip_averaged": with_flip_averaging(single_view)}
    chosen = "flip_averaged" if cfg.tta_flip else "single_view"  # what the config exports and reports
    classifier = views[chosen]
    ((images, labels), (x_test, y_test)), source = load_fashion_mnist(cfg.data_dir)

    test_ds = make_dataset(x_test, y_test, cfg.batch_size)
    metrics, probs = evaluate_classifier(classifier, test_ds, y_test, CLASS_NAMES)
    other = "single_view" if chosen == "flip_averaged" else "flip_averaged"
    other_probs = views[other].predict(test_ds, verbose=0)
    metrics["test_accuracy_by_view"] = {chosen: metrics["test_accuracy"],
                                        other: float(np.mean(other_probs.argmax(axis=1) == y_test))}
    # The temperature is fitted on the validation split (the same one training held out), never on the test set.
    _, (x_val, y_val) = split_of_run(images, labels, cfg)
    metrics["calibration"] = calibration_report(classifier.predict(make_dataset(x_val, y_val, cfg.batch_size),
                                                                   verbose=0), y_val, probs, y_test)
    train_minutes = training_minutes(history)
    metrics.update({
        "best_val_accuracy": best_val_accuracy(history),
        "train_minutes": train_minutes,
        "training_completed": history["completed"],
        "train_command": history["run"]["command"],
        "teachers": history["run"].get("teachers", []),  # a distilled student's cost includes their training
        "config": dataclasses.asdict(cfg),
        "data_source": source,
        "machine": machine_info(),
    })
    write_json(files.metrics, metrics)
    with atomic_path(files.predictions) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, probs=probs, labels=y_test)

    defaults = dataclasses.asdict(Config())
    append_result(cfg.results_file, {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "run": history["run"]["command"],
        "changed_config": " ".join(f"{k}={v}" for k, v in metrics["config"].items() if defaults[k] != v),
        "val_accuracy": f"{metrics['best_val_accuracy']:.4f}",
        "test_accuracy": f"{metrics['test_accuracy']:.4f}",
        "train_minutes": f"{train_minutes:.1f}",
        "machine": describe_machines(history["run"]["machine"], metrics["machine"]),
    })

    print(metrics["report_text"])
    by_view = metrics["test_accuracy_by_view"]
    print(f"test accuracy {metrics['test_accuracy']:.4f}, test loss {metrics['test_loss']:.4f} on {len(y_test)} images "
          f"(flip-averaged {by_view['flip_averaged']:.4f}, single view {by_view['single_view']:.4f}; "
          f"best validation accuracy {metrics['best_val_accuracy']:.4f})")
    calibration = metrics["calibration"]
    print(f"expected calibration error {calibration['ece']:.4f}; {calibration['ece_scaled']:.4f} with temperature "
          f"{calibration['temperature']:.3f} fitted on the validation split")
    print(f"wrote {files.metrics}, {files.predictions}; appended to {cfg.results_file}")
    if not history["completed"]:
        print("note: training did not finish; these are the best weights so far (run train.py to resume)")
    print("next: python visualize_results.py")


if __name__ == "__main__":
    cli.run(main)
