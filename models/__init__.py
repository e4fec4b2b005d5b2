"""The classifiers (MobileNetV2 transfer learning, a CNN and a ViT from scratch), cyclical LR, two-phase training."""

from runkit.machine import optional_tensorflow

optional_tensorflow()  # first, before Keras imports it: TensorFlow's start-up lines silenced

from models.classifier import build_model, classifier_of  # noqa: E402
from models.clr import CyclicalLR, cyclical_lr  # noqa: E402
from models.training import start_or_resume, train_two_phases  # noqa: E402

__all__ = ["CyclicalLR", "cyclical_lr", "build_model", "classifier_of", "start_or_resume", "train_two_phases"]
