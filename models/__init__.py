"""The MobileNetV2 transfer-learning model, its cyclical LR and its two-phase training."""

from models.clr import CyclicalLR, cyclical_lr
from models.mobilenet import build_model, classifier_of
from models.training import start_or_resume, train_two_phases

__all__ = ["CyclicalLR", "cyclical_lr", "build_model", "classifier_of", "start_or_resume", "train_two_phases"]
