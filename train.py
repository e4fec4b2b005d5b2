"""Train a classifier on Fashion-MNIST (or --dataset mnist / cifar10 / folder) and save the run to the artifacts folder.

MobileNetV2 (the default) trains in two phases: the head on a frozen ImageNet base, then fine-tuning.
The CNN and ViT train from scratch: their epochs are all phase 2.

    python train.py                      # the defaults of config.py (the "full" preset)
    python train.py --preset quick       # for a laptop CPU
    python train.py --preset cnn         # the small CNN baseline (or --preset vit)
    python train.py --image_size 64      # any config field; --fresh replaces the run in artifacts_dir
    python train.py --dataset folder --data_dir pictures/   # your own: one subfolder per class
    python train.py --strategy mirrored  # all local GPUs (multi_worker: many machines, docs/scaling.md)

An interrupted run resumes from its last finished epoch when the same command is run again, and ends as the
uninterrupted run would have. A finished run is kept: training it again needs --fresh.
"""

import dataclasses
import math
import shlex
import shutil
import sys
import time

from data.datasets import check_trained_on, dataset_record, load_dataset
from data.pipeline import EpochBatches, make_dataset, split_of_run
from models.callbacks import phase_callbacks
from models.classifier import build_model, classifier_of
from models.distillation import distillation_targets, teacher_configs, teachers_record
from models.distribute import describe_worker_failure, make_distribution, run_files, worker_failures
from models.run_folder import start_or_resume
from models.runs import new_run_config
from models.training import (
    epochs_done,
    finish_run,
    loss_for,
    phases,
    progress_verbosity,
    start_phase,
    training_precision,
    use_compilation_cache,
    where_it_stopped,
)
from runkit import cli
from runkit.errors import UserError
from runkit.files import check_run_folder, exclusive_use, write_json
from runkit.history import best_val_accuracy, training_minutes
from runkit.machine import machine_info
from runkit.records import RunRecord


def main(argv: list[str]) -> None:
    fresh = "--fresh" in argv
    cfg = new_run_config(argv)
    distribution = make_distribution(cfg.strategy)  # first: a multi-worker strategy starts a server
    files = run_files(cfg.artifacts_dir, distribution)
    check_run_folder(files)  # first: a folder of other files is refused, untouched

    teachers = teacher_configs(cfg)
    data = load_dataset(cfg)
    (x_train, y_train), (x_val, y_val) = split_of_run(*data.train, cfg)
    global_batch = cfg.batch_size * distribution.replicas

    use_compilation_cache(cfg.compilation_cache)
    with exclusive_use(files.root):  # one training per folder, taken before the teachers' work
        history = start_or_resume(files, dataclasses.asdict(cfg), math.ceil(len(x_train) / global_batch), fresh)
        if history["epochs"]:  # a resumed run: on the pictures it started on
            check_trained_on(files, data)
        write_json(files.dataset, dataset_record(data))
        if teachers:  # knowledge distillation: the targets become probability vectors
            y_train, y_val = distillation_targets(teachers, x_train, y_train, y_val, cfg.distill_weight,
                                                  cache=files.teacher_probabilities)
        loss = loss_for(y_train, cfg.label_smoothing)  # probability vectors where distilled
        train_data = EpochBatches(x_train, y_train, global_batch, cfg.seed, cfg.frozen_epochs + cfg.finetune_epochs)
        val_ds = make_dataset(x_val, y_val, global_batch)
        print(f"data: {data.spec.name}, {len(data.spec.class_names)} classes, {len(x_train)} train / {len(x_val)} "
              f"validation images {'x'.join(map(str, data.spec.input_shape))} from {data.source}", flush=True)
        started = time.monotonic()
        try:
            with distribution.scope(), training_precision(cfg.mixed_precision):
                model = build_model(cfg, data.spec)
                history["run"] = RunRecord(command=shlex.join(["python", *sys.argv]), data_source=data.source,
                                           machine=machine_info(), train_images=len(x_train),
                                           parameters=classifier_of(model).count_params(),
                                           distribution=distribution.record(cfg), teachers=teachers_record(teachers))
                stopped = where_it_stopped(files, history)  # None for a new run
                for phase, epochs, first in phases(cfg):  # the head on a frozen base, then fine-tuning
                    done = epochs_done(history, phase)
                    if done >= epochs:
                        continue
                    clr = start_phase(model, cfg, phase, epochs, history, loss, distribution.lr_scale(cfg), stopped)
                    stopped = None  # continued: the next phase follows on from this one
                    model.fit(train_data.dataset, validation_data=val_ds, initial_epoch=done, epochs=epochs,
                              shuffle=False, verbose=progress_verbosity(),  # the data set orders itself (StartEpoch)
                              callbacks=phase_callbacks(cfg, phase, clr, train_data, first, files, history))
                finish_run(files, history)
        except Exception as e:
            if distribution.workers > 1 and isinstance(e, worker_failures()):
                raise UserError(f"another worker stopped ({describe_worker_failure(e)}); start every worker again "
                                "with the same command: training resumes from the last finished epoch") from None
            raise

    if not distribution.chief:  # its scratch copy of the run has served its purpose
        shutil.rmtree(files.root, ignore_errors=True)
        print(f"worker {distribution.task_id}: done; the chief saved the run")
        return
    minutes = training_minutes(history)
    print(f"\nbest validation accuracy {best_val_accuracy(history):.4f} after {minutes:.1f} min of training "
          f"({(time.monotonic() - started) / 60:.1f} min in this process); run saved in {files.root}/")
    print("next: python evaluate.py")


if __name__ == "__main__":
    cli.run(main)
