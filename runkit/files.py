"""Where a run's files live, and how they are written: atomically, so a crash never leaves half a file."""

import csv
import fcntl
import io
import json
import os
import re
import socket
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from runkit.errors import UserError


@dataclass(frozen=True)
class RunFiles:
    """The files of one run, all inside its artifacts folder."""

    root: Path

    def __post_init__(self):
        object.__setattr__(self, "root", Path(self.root))

    marker = property(lambda self: self.root / "RUN.json")  # says the folder is a run's: train.py made it
    config = property(lambda self: self.root / "config.json")  # the resolved config of the run
    dataset = property(lambda self: self.root / "dataset.json")  # what the data set's pictures are (data/datasets.py)
    history = property(lambda self: self.root / "history.json")  # per-epoch metrics and LR per step
    csv_log = property(lambda self: self.root / "training_log.csv")
    best_weights = property(lambda self: self.root / "best.weights.h5")  # best validation accuracy
    backup = property(lambda self: self.root / "backup")  # the state after the last epochs, for resuming
    tensorboard = property(lambda self: self.root / "tensorboard")  # per-epoch scalars of each phase
    metrics = property(lambda self: self.root / "metrics.json")  # test metrics from evaluate.py
    predictions = property(lambda self: self.root / "test_predictions.npz")
    novelty = property(lambda self: self.root / "novelty.json")  # the "not recognised" score (inference/novelty.py)
    teacher_probabilities = property(lambda self: self.root / "teacher_probabilities.npz")  # a student's targets

    def is_run(self) -> bool:
        """Whether the folder holds a run of train.py: its marker, or (a run from before markers) its config and
        history."""
        return self.marker.is_file() or (self.config.is_file() and self.history.is_file())


def check_run_folder(files: RunFiles) -> None:
    """A one-line error unless `files.root` is missing, empty (but for a lock) or a run's folder (an older run's,
    recognised by its files, too): a folder of other files is never written into."""
    if files.root.exists() and not files.root.is_dir():
        raise UserError(f"{files.root} is a file, not a folder: move it away or give another --artifacts_dir")
    if files.root.is_dir() and not files.is_run():
        found = sorted(p.name for p in files.root.iterdir() if p.name != ".lock")
        if found:
            shown = ", ".join(found[:5]) + (f" and {len(found) - 5} more" if len(found) > 5 else "")
            raise UserError(f"{files.root} holds files that are not a training run ({shown}): nothing was changed "
                            "there; give an empty or new --artifacts_dir")


def claim_run_folder(files: RunFiles) -> None:
    """Mark `files.root` as a run's folder (check_run_folder's checks first)."""
    check_run_folder(files)
    if not files.marker.exists():
        write_json(files.marker, {"made_by": "train.py", "holds": "one training run: its config, weights, history "
                                  "and evaluation; train.py --fresh replaces only the files it wrote"})


def make_folder(folder) -> Path:
    """The folder, created if missing; a one-line error if a file has its name."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise UserError(f"{folder} is a file, not a folder: move it away or give another path")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextmanager
def atomic_path(path):
    """Yield a temporary name beside `path`; move it into place only if the block succeeds.

    The new file reaches the disk before the rename, and the rename before the block ends (fsync of the file,
    then of its folder): after a power cut `path` holds the old content or the new, never an empty file.
    """
    path = Path(path)
    make_folder(path.parent)
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")  # same suffix: Keras picks formats by it
    try:
        yield tmp
        sync(tmp)
        os.replace(tmp, path)
        sync(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


TEMPORARY = re.compile(r"\.tmp-(\d+)-")  # what atomic_path names its temporary files: .tmp-<pid>-<name>


def remove_orphans(folder) -> None:
    """Delete the temporary files that atomic_path's writers, killed mid-write, left in `folder` itself (theirs is
    a process no longer running); a live writer's are kept, and nothing below the folder is looked at."""
    for tmp in Path(folder).glob(".tmp-*"):
        named = TEMPORARY.match(tmp.name)
        if named and tmp.is_file() and not process_running(int(named.group(1))):
            tmp.unlink(missing_ok=True)


def process_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def sync(path) -> None:
    """Flush a file's or a folder's content to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def exclusive_use(folder):
    """Hold the folder's lock file for the block; while another process holds it, a UserError names that
    process. The system drops a lock when its holder exits, however it exits, so a killed run's lock is
    simply taken over."""
    folder = make_folder(folder)
    lock = open(folder / ".lock", "a+")  # noqa: SIM115  (held open for the whole block)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        holder = lock.read().strip() or "another process"
        lock.close()
        raise UserError(f"{folder} is in use by {holder}: wait for it to end, "
                        "or give another --artifacts_dir") from None
    lock.seek(0)
    lock.truncate()
    lock.write(f"process {os.getpid()} on {socket.gethostname()}")
    lock.flush()
    try:
        yield
    finally:
        lock.close()


def write_json(path, obj) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2) + "\n")


def require(path, script: str) -> Path:
    """The path, or a one-line error naming the script that makes it."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path} not found: run `python {script}` first")
    return path


def read_json(path, script: str, keys=()) -> dict:
    """A JSON object written by `script`, holding `keys`, or a one-line error if it is missing or damaged."""
    try:
        content = json.loads(require(path, script).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        content = None
    if not isinstance(content, dict) or not set(keys) <= set(content):
        raise UserError(f"{path} is damaged: run `python {script}` to write it again")
    return content


RESULT_COLUMNS = ("date", "dataset", "run", "changed_config", "val_accuracy", "test_accuracy", "train_minutes",
                  "machine")
EARLIER_ROWS = {"dataset": "fashion_mnist"}  # the value of a newer column in rows from before it (Fashion-MNIST only)


def check_results_table(path) -> None:
    """A one-line error unless `path` is missing, empty or a results table this project wrote (its header: the
    columns of RESULT_COLUMNS, an older table's fewer): any other file is never rewritten."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"results_file={path} is a folder; give a .csv file (new, or a results table)")
    try:
        with open(path, newline="") as f:
            header = next(csv.reader(f), [])
    except FileNotFoundError:
        return
    except (UnicodeDecodeError, csv.Error):
        header = ["?"]
    if header and not ({"date", "run", "test_accuracy"} <= set(header) <= set(RESULT_COLUMNS)):
        raise UserError(f"results_file={path} is not a results table (its first line is not the header "
                        f"{','.join(RESULT_COLUMNS)}): it was left as it is; give a new .csv file or a results table")


def append_result(path, row: dict) -> None:
    """Add one row to the results table (CSV), rewriting it atomically (a table with older columns gets today's);
    runs evaluated at the same time (a sweep) take turns, holding a lock on the table's folder, so none loses
    another's row. Any other file in its place is refused, untouched."""
    path = Path(path)
    folder = os.open(make_folder(path.parent), os.O_RDONLY)
    try:
        fcntl.flock(folder, fcntl.LOCK_EX)
        check_results_table(path)
        rows = list(csv.DictReader(io.StringIO(path.read_text()))) if path.exists() else []
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, RESULT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for earlier in rows:
            writer.writerow({k: earlier.get(k, EARLIER_ROWS.get(k, "")) for k in RESULT_COLUMNS})
        writer.writerow({k: row.get(k, "") for k in RESULT_COLUMNS})
        with atomic_path(path) as tmp:
            tmp.write_text(buffer.getvalue())
    finally:
        os.close(folder)  # and with it the lock
