"""The probe that trained this run: train.py with progressive resizing. PROGRESSIVE=START@EPOCH: the run starts
at START px and switches to --image_size (the size evaluate.py and the exports use) at fine-tuning epoch EPOCH
(counted from 0).

    PROGRESSIVE=48@7 PYTHONPATH=. python train_prog.py --preset quick --image_size 80 [overrides]
    PROGRESSIVE=48@7 PYTHONPATH=. python train_prog.py evaluate --preset quick --image_size 80 [overrides]

The backbone is built for any input size, also by evaluate.py: Keras' MobileNetV2 pads its stride-2 blocks by
the input size, so at 80 px (a 5x5 map before the last stride 2) the fixed-size model pads otherwise.
"""

import os
import sys

import keras

import evaluate
import models.mobilenet_v2 as mobilenet_v2
import models.training as training
import train
from runkit import cli

START, SWITCH = map(int, os.environ["PROGRESSIVE"].split("@"))
plain_backbone = mobilenet_v2.build_backbone
FINAL = {}  # the configured size, read from the model before the first change


def any_size_backbone(cfg):
    """The same MobileNetV2, for any input size (its weights do not depend on it)."""
    flexible = keras.applications.MobileNetV2(input_shape=(None, None, 3), alpha=cfg.alpha, include_top=False,
                                              weights=None, name="mobilenetv2")
    flexible.set_weights(plain_backbone(cfg).get_weights())
    return flexible


def set_size(model, size):
    upsample = model.get_layer("classifier").get_layer("upsample")
    FINAL.setdefault("size", upsample.height)
    upsample.height = upsample.width = size
    model.make_train_function(force=True)
    model.make_test_function(force=True)
    print(f"\nimages upsampled to {size} px", flush=True)


class RecordEpochAndResize(training.RecordEpoch):
    def on_epoch_begin(self, epoch, logs=None):
        super().on_epoch_begin(epoch, logs)
        if self.phase == "frozen" and epoch == 0:
            set_size(self.model, START)
        if self.phase == "finetune" and epoch == SWITCH:
            set_size(self.model, FINAL["size"])


mobilenet_v2.build_backbone = any_size_backbone
training.RecordEpoch = RecordEpochAndResize
if sys.argv[1:2] == ["evaluate"]:
    sys.argv.pop(1)
    cli.run(evaluate.main)
else:
    cli.run(train.main)
