"""The probe that trained this run: train.py with the base's batch norm learning in fine-tuning.

    BN_MOMENTUM=0.9 PYTHONPATH=. python results/quick_screen_bn90/train_bn.py --preset quick [overrides]
"""

import os

from keras import layers

import models.training as training
import train
from models.classifier import base_of
from runkit import cli

MOMENTUM = float(os.environ["BN_MOMENTUM"])
plain_unfreeze = training.unfreeze_base


def unfreeze_with_batch_norm(model, top_layers, freeze_batch_norm):
    plain_unfreeze(model, top_layers, False)
    learning = [layer for layer in base_of(model).layers if isinstance(layer, layers.BatchNormalization)
                and layer.trainable]
    for layer in learning:
        layer.momentum = MOMENTUM
    print(f"batch norm learning in {len(learning)} layers, momentum {MOMENTUM}", flush=True)


training.unfreeze_base = unfreeze_with_batch_norm
cli.run(train.main)
