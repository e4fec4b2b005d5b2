"""Knowledge distillation (Hinton et al. 2015): a student learns from the mean probabilities of trained runs.

`--teachers RUN,RUN,...` names the teachers. Their probabilities for the student's training images are computed
once, before training (and kept in the student's folder for a resumed run), with the test-time flip where their
config has it: the mean over an image and its mirror image is the same for both, so the stored target also fits
the student's mirrored images (other augmentation would make it approximate). Each training target is
`distill_weight` of the teachers' mean plus the rest of the one-hot label; the cross-entropy to it is, at
temperature 1, Hinton's loss (KL divergence to the teachers plus cross-entropy to the label, up to a constant).
Validation keeps the plain labels, one-hot.

The teachers must have held out the student's validation images (the same split seed and fraction):
otherwise their probabilities would carry what they learnt from those images into the student, and
validation would no longer measure the student on unseen images.
"""

import time
import zipfile
from pathlib import Path

import numpy as np

from data.datasets import run_spec
from data.pipeline import split_seed
from models.classifier import load_trained_classifier
from models.runs import saved_run_config
from runkit.errors import UserError
from runkit.files import RunFiles, atomic_path, read_json, require
from runkit.history import training_minutes


def teacher_folders(cfg) -> list[str]:
    return [folder for folder in (cfg.teachers or "").split(",") if folder]


def teacher_configs(cfg) -> list:
    """Each teacher's trained config; a UserError if one has no weights or held out other validation images than
    the student."""
    configs = []
    for folder in teacher_folders(cfg):
        teacher = saved_run_config(folder)
        require(RunFiles(folder).best_weights, "train.py")
        if teacher.dataset != cfg.dataset:
            raise UserError(f"teacher {folder} trained on {teacher.dataset}, the student on {cfg.dataset}: "
                            "teachers must have trained on the student's data set")
        if (split_seed(teacher), teacher.val_fraction) != (split_seed(cfg), cfg.val_fraction):
            raise UserError(
                f"teacher {folder} held out other validation images (split seed {split_seed(teacher)}, fraction "
                f"{teacher.val_fraction}; the student's: {split_seed(cfg)}, {cfg.val_fraction}): train the teachers "
                f"with --split_seed {split_seed(cfg)} --val_fraction {cfg.val_fraction}")
        configs.append(teacher)
    return configs


def teacher_probabilities(teachers: list, images: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """The mean of the teachers' probabilities for (n, height, width, channels) images: (n, classes)."""
    probs = [load_trained_classifier(teacher, files.best_weights, run_spec(files)).predict(
        images, batch_size=batch_size, verbose=0)
        for teacher, files in ((teacher, RunFiles(teacher.artifacts_dir)) for teacher in teachers)]
    return np.mean(probs, axis=0)


def one_hot(labels: np.ndarray, classes: int) -> np.ndarray:
    return np.eye(classes, dtype="float32")[labels]


def soft_targets(labels: np.ndarray, teacher_probs: np.ndarray, weight: float) -> np.ndarray:
    """`weight` of the teachers' probabilities plus `1 - weight` of the one-hot label, per image."""
    return (weight * teacher_probs + (1 - weight) * one_hot(labels, teacher_probs.shape[1])).astype("float32")


def weights_signature(teachers: list) -> np.ndarray:
    """Each teacher's weights file, its size and modification time: retraining a teacher changes it."""
    weights = [require(RunFiles(teacher.artifacts_dir).best_weights, "train.py") for teacher in teachers]
    return np.array([f"{path}:{path.stat().st_size}:{path.stat().st_mtime_ns}" for path in weights])


def cached_teacher_probabilities(teachers: list, images: np.ndarray, cache: Path) -> np.ndarray:
    """`teacher_probabilities`, read from `cache` where it holds them for these teachers' weights and images,
    else computed and saved there: a resumed student does not predict them again."""
    signature = weights_signature(teachers)
    try:
        with np.load(cache) as saved:
            if np.array_equal(saved["teachers"], signature) and saved["probabilities"].shape[0] == len(images):
                print(f"distillation: the teachers' probabilities read from {cache}", flush=True)
                return saved["probabilities"]
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):  # none yet, or not readable: compute them again
        pass
    started = time.monotonic()
    probs = teacher_probabilities(teachers, images)
    with atomic_path(cache) as tmp:
        np.savez(tmp, teachers=signature, probabilities=probs)
    print(f"distillation: {len(teachers)} teachers' probabilities for {len(images)} training images in "
          f"{time.monotonic() - started:.0f} s, saved in {cache}", flush=True)
    return probs


def distillation_targets(teachers: list, x_train, y_train, y_val, weight: float,
                         cache: Path) -> tuple[np.ndarray, np.ndarray]:
    """(soft training targets, one-hot validation labels)."""
    probs = cached_teacher_probabilities(teachers, x_train, cache)
    return soft_targets(y_train, probs, weight), one_hot(y_val, probs.shape[1])


def teachers_record(teachers: list) -> list[dict]:
    """Each teacher's folder and training minutes: a distilled student's cost includes them."""
    return [{"run": teacher.artifacts_dir, "train_minutes": training_minutes(
        read_json(RunFiles(teacher.artifacts_dir).history, "train.py", keys=("epochs",)))} for teacher in teachers]
