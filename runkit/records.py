"""The JSON records the scripts hand to each other, each defined once: a TypedDict that its writer fills and its
readers get back checked, every field there and of its type, or one line that names the field and the script that
writes the record again. Fields marked NotRequired are absent from records written before they existed."""

import math
import typing
from typing import NotRequired, TypedDict

from runkit.errors import UserError
from runkit.files import read_json, write_json


class RunRecord(TypedDict):
    """history.json's "run", written by train.py: how the run was trained."""

    command: str  # the command line, as typed
    data_source: str  # where the pictures were read
    machine: dict  # runkit.machine.machine_info()
    train_images: int
    parameters: int  # the classifier's
    distribution: NotRequired[dict]  # models/distribute.py's record: strategy, replicas, workers
    teachers: NotRequired[list]  # a distilled student's teachers: their runs and training minutes


class NoveltyRecord(TypedDict):
    """novelty.json, written by evaluate.py and kept in exports.json: the "not recognised" score (inference/novelty.py).
    What scores a picture is required; how it was fitted is kept beside it."""

    weights: list[float]  # one per pooled feature
    bias: float
    threshold: float
    method: NotRequired[str]
    C: NotRequired[float]  # the logistic regression's inverse regularisation
    fit_images: NotRequired[int]
    outliers: NotRequired[int]
    seed: NotRequired[int]
    keep: NotRequired[float]  # the share of validation images the threshold keeps recognised
    val_recognised: NotRequired[float]


class MetricsRecord(TypedDict):
    """metrics.json, written by evaluate.py: the test metrics of the run, and what it was."""

    test_accuracy: float
    test_loss: float
    test_images: int
    report_text: str  # scikit-learn's classification report
    per_class: dict
    confusion_matrix: list
    top_confusions: list
    test_accuracy_by_view: dict  # single_view, and flip_averaged where a mirror keeps the label
    calibration: dict  # evaluation/metrics.calibration_report()
    novelty: NotRequired[dict]  # the score's test share (evaluate.novelty_report); absent before the score
    robustness: NotRequired[dict]  # the test images under the corruption suite, where --corruption_suite asked
    best_val_accuracy: float
    train_minutes: float
    training_completed: bool
    train_command: str
    teachers: NotRequired[list]  # a distilled student's (absent before distillation)
    config: dict
    dataset: dict  # data/spec.py's record of the data set
    data_source: str
    machine: dict


class ExportsRecord(TypedDict):
    """exports.json, written by export_model.py: the contract predict.py and demo.py read beside the models."""

    model: NotRequired[str]  # the Keras file's name in the folder (fashion_mnist_model.h5 before it was named)
    dataset: NotRequired[dict]  # data/spec.py's record (Fashion-MNIST before data sets were a choice)
    novelty: NotRequired[NoveltyRecord]  # absent before the score was fitted
    exports: NotRequired[list]  # one checked row per format (inference/portable.py)
    int8_float_layers: NotRequired[list]
    machine: NotRequired[dict]
    config: NotRequired[dict]


def checked(record, kind: type, source, script: str):
    """`record` if it holds every required field of `kind` with a value of its type (a field that is a record
    itself checked in turn), else a one-line error naming `source` and the `script` that writes it again."""
    def refuse(why: str):
        raise UserError(f"{source} is damaged: {why}; run `python {script}` to write it again")

    if not isinstance(record, dict):
        refuse(f"not a {kind.__name__}")
    for name, expected in typing.get_type_hints(kind).items():  # NotRequired[...] stripped: __required_keys__ says
        if name not in record:
            if name in kind.__required_keys__:
                refuse(f"no field '{name}'")
        elif typing.is_typeddict(expected):
            checked(record[name], expected, f"{source}'s {name}", script)
        elif not _is_a(record[name], expected):
            refuse(f"its '{name}' is not {_described(expected)}")
    return record


def read_record(path, kind: type, script: str):
    """The record of `kind` that `script` wrote at `path`, checked."""
    return checked(read_json(path, script), kind, path, script)


def run_of(history: dict, path) -> RunRecord:
    """The run record in a history.json (read from `path`), checked."""
    return checked(history.get("run"), RunRecord, f"{path}'s run", "train.py")


def write_record(path, kind: type, record) -> None:
    """Write `record` atomically once it holds what `kind` says: a writer that drifts from the definition fails
    here, as the bug it is, rather than in its readers."""
    try:
        checked(record, kind, path, "-")
    except UserError as e:
        raise TypeError(str(e)) from None
    write_json(path, record)


def finite_number(value) -> bool:
    """A JSON number that measures something: not true or false, NaN or an infinity."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_a(value, expected) -> bool:
    if typing.get_origin(expected) is list:
        return isinstance(value, list) and all(_is_a(item, typing.get_args(expected)[0]) for item in value)
    if expected is float:  # JSON writes 1.0 as 1
        return finite_number(value)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, expected)


def _described(expected) -> str:
    if typing.get_origin(expected) is list:
        return f"a list of {_described(typing.get_args(expected)[0]).split(' ', 1)[1]}s"
    return {float: "a finite number", int: "a whole number", str: "a text", bool: "a true or false",
            dict: "a JSON object"}.get(expected, "a JSON list")
