"""A run's folder over its life: claimed, continued or started afresh, what a run wrote removed by name (and
nothing else), the resume states each epoch leaves."""

import contextlib
import re
import shlex

from config import NON_TRAINING_FIELDS
from runkit.errors import UserError
from runkit.files import RunFiles, claim_run_folder, read_json, remove_orphans, write_json
from runkit.history import best_val_accuracy

PHASES = ("frozen", "finetune")  # the base frozen while the head learns, then fine-tuned
RESUME_STATE = re.compile(rf"({'|'.join(PHASES)})-\d+\.weights\.h5")  # resume_state's names


def start_or_resume(files: RunFiles, config: dict, steps_per_epoch: int, fresh: bool) -> dict:
    """The history to continue: the unfinished run of this training config, or a new one where there is none.

    A finished run, or an unfinished one of another training config, is never replaced without `fresh`: a
    one-line error says what is there and what to do. Fields that do not shape training never count. The folder is
    marked as a run's (RUN.json); one that holds other files is refused.
    """
    claim_run_folder(files)
    for folder in (files.root, files.backup):  # where atomic_path writes a run's files
        remove_orphans(folder)
    if not fresh and files.history.exists():
        history = read_json(files.history, "train.py --fresh", keys=("epochs", "completed", "lr_per_step"))
        saved = read_json(files.config, "train.py --fresh")
        if history["completed"]:
            raise UserError(f"{files.root} holds a finished run ({describe_finished(files, history)}): evaluate it "
                            f"with `python evaluate.py --artifacts_dir {shlex.quote(str(files.root))}`, or give "
                            "--fresh to train it again, or another --artifacts_dir")
        changed = [f"{name} ({saved.get(name)!r} there, {value!r} here)" for name, value in config.items()
                   if name not in NON_TRAINING_FIELDS and saved.get(name) != value]
        if changed:
            raise UserError(f"{files.root} holds an unfinished run of another training config: {', '.join(changed)}; "
                            "run it with its own values to resume, or give --fresh to replace it, or another "
                            "--artifacts_dir")
        print(f"resuming the unfinished run in {files.root} ({len(history['epochs'])} epochs done); "
              "--fresh starts over", flush=True)
        write_json(files.config, config)  # the paths and evaluation settings of this command
        return history
    remove_run_outputs(files)
    write_json(files.config, config)
    return {"steps_per_epoch": steps_per_epoch, "epochs": [], "lr_per_step": {}, "completed": False}


def remove_run_outputs(files: RunFiles) -> None:
    """Delete what a run of train.py and evaluate.py wrote into its folder, by name: the files, the resume states
    and the TensorBoard logs (their folders only once empty). Anything else in the folder stays."""
    for path in (files.config, files.history, files.csv_log, files.best_weights, files.metrics, files.predictions,
                 files.novelty, files.teacher_probabilities):
        path.unlink(missing_ok=True)
    remove_resume_states(files)
    for phase in PHASES:
        for split in ("train", "validation"):  # the writers Keras' TensorBoard callback opens
            remove_if_empty(files.tensorboard / phase / split, "events.out.tfevents.*")
        remove_if_empty(files.tensorboard / phase)
    remove_if_empty(files.tensorboard)


def remove_resume_states(files: RunFiles) -> None:
    """Delete the backup folder's resume states (SaveResumeState's files), then the folder if nothing else is there."""
    remove_if_empty(files.backup, "*.weights.h5", keep=lambda p: not RESUME_STATE.fullmatch(p.name))


def remove_if_empty(folder, pattern: str | None = None, keep=lambda path: False) -> None:
    """Delete the files in `folder` matching `pattern` (unless `keep` says so), then the folder if it is empty."""
    if not folder.is_dir():
        return
    for path in folder.glob(pattern) if pattern else ():
        if path.is_file() and not keep(path):
            path.unlink()
    with contextlib.suppress(OSError):  # not empty: something not ours is there
        folder.rmdir()


def describe_finished(files: RunFiles, history: dict) -> str:
    """'best validation accuracy 0.9385, evaluated: test accuracy 0.9357' (or 'not evaluated yet')."""
    described = f"best validation accuracy {best_val_accuracy(history):.4f}"
    if not files.metrics.exists():
        return f"{described}, not evaluated yet"
    metrics = read_json(files.metrics, "evaluate.py")  # one field, leniently: this line only describes the run
    return f"{described}, evaluated: test accuracy {metrics.get('test_accuracy', float('nan')):.4f}"


def resume_state(files: RunFiles, phase: str, epochs_done: int):
    return files.backup / f"{phase}-{epochs_done}.weights.h5"
