"""The classifiers (MobileNetV2 transfer learning, a CNN and a ViT from scratch), cyclical LR, two-phase training."""

from models.classifier import build_model, classifier_of
from models.clr import CyclicalLR, cyclical_lr
from models.training import start_or_resume, train_two_phases

__all__ = ["CyclicalLR", "cyclical_lr", "build_model", "classifier_of", "start_or_resume", "train_two_phases"]
