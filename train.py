"""Train a classifier on Fashion-MNIST and save the run to the artifacts folder.

MobileNetV2 (the default) trains in two phases: the head on a frozen ImageNet base, then fine-tuning.
The CNN and ViT train from scratch: their epochs are all phase 2.

    python train.py                      # the defaults of config.py (the "full" preset)
    python train.py --preset quick       # 13-19 min on 2 CPU cores
    python train.py --preset cnn         # the small CNN baseline (or --preset vit)
    python train.py --image_size 64      # any config field; --fresh ignores an unfinished run

An interrupted run resumes from its last finished epoch when the same command is run again.
"""

import dataclasses
import sys
import time

import cli
from artifacts import RunFiles, machine_info
from data import load_fashion_mnist, make_dataset, split_train_val
from models import build_model, classifier_of, start_or_resume, train_two_phases
from models.training import best_val_accuracy


def main(argv: list[str]) -> None:
    fresh = "--fresh" in argv
    cfg = cli.new_run_config([a for a in argv if a != "--fresh"])
    files = RunFiles(cfg.artifacts_dir)

    ((images, labels), _), source = load_fashion_mnist(cfg.data_dir)
    (x_train, y_train), (x_val, y_val) = split_train_val(images, labels, cfg.val_fraction, cfg.seed)
    train_ds = make_dataset(x_train, y_train, cfg.batch_size, shuffle=True, seed=cfg.seed)
    val_ds = make_dataset(x_val, y_val, cfg.batch_size)
    print(f"data: {len(x_train)} train / {len(x_val)} validation images from {source}", flush=True)

    history = start_or_resume(files, dataclasses.asdict(cfg), len(train_ds), fresh)
    model = build_model(cfg)
    history["run"] = {"command": " ".join(["python", *sys.argv]), "data_source": source, "machine": machine_info(),
                      "train_images": len(x_train), "parameters": classifier_of(model).count_params()}
    started = time.monotonic()
    history = train_two_phases(model, cfg, train_ds, val_ds, files, history)

    minutes = sum(e["seconds"] for e in history["epochs"]) / 60
    print(f"\nbest validation accuracy {best_val_accuracy(history):.4f} after {minutes:.1f} min of training "
          f"({(time.monotonic() - started) / 60:.1f} min in this process); run saved in {files.root}/")
    print("next: python evaluate.py")


if __name__ == "__main__":
    cli.run(main)
