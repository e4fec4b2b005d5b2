"""The probe that trained this run: train.py with the base's batch-norm statistics recomputed on Fashion-MNIST
before training (AdaBN, Li et al. 2016); batch norm then stays frozen, as in the presets.

    ADABN_BATCHES=100 PYTHONPATH=. python results/quick_screen_adabn/train_adabn.py --preset quick [overrides]
"""

import os
import time

import tensorflow as tf
from keras import layers

import train
from models.classifier import classifier_of, classifier_parts
from runkit import cli

BATCHES = int(os.environ.get("ADABN_BATCHES", "100"))
MOMENTUM = float(os.environ.get("ADABN_MOMENTUM", "0.9"))
plain_train = train.train_two_phases


def recalibrate_batch_norm(model, dataset, batches, momentum):
    """Forward passes in training mode, the weights unchanged: the moving statistics follow this data."""
    preprocess, base, _ = classifier_parts(classifier_of(model))
    norms = [layer for layer in base.layers if isinstance(layer, layers.BatchNormalization)]
    base.trainable = True
    for layer in norms:
        layer.momentum = momentum
    step = tf.function(lambda x: base(preprocess(x), training=True))
    started = time.monotonic()
    for _, (x, _) in zip(range(batches), dataset, strict=False):
        step(x)
    for layer in norms:
        layer.momentum = 0.999
    base.trainable = False
    print(f"batch norm: statistics of {len(norms)} layers recomputed over {batches} batches "
          f"in {time.monotonic() - started:.1f} s", flush=True)


def train_two_phases(model, cfg, train_ds, val_ds, files, history, lr_scale=1.0):
    if not history["epochs"]:
        recalibrate_batch_norm(model, train_ds, BATCHES, MOMENTUM)
    return plain_train(model, cfg, train_ds, val_ds, files, history, lr_scale)


train.train_two_phases = train_two_phases
cli.run(train.main)
