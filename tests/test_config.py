import dataclasses

import pytest

from config import CORRUPTION_FIELDS, PRESETS, Config, make_config
from models.runs import command_line_overrides as parse_overrides
from models.runs import trained_run_config
from runkit.errors import UserError
from runkit.files import RunFiles, write_json


def test_defaults_are_valid():
    assert make_config() == Config()


def test_overrides_are_typed():
    overrides = parse_overrides(["--image_size", "64", "--dropout=0.3", "--horizontal_flip", "no",
                                 "--weights", "none", "--optimizer", "sgd", "--split_seed", "7"])
    assert overrides == {"image_size": 64, "dropout": 0.3, "horizontal_flip": False, "weights": None,
                         "optimizer": "sgd", "split_seed": 7}
    assert parse_overrides(["--split_seed", "none"]) == {"split_seed": None}


def test_preset_expands_and_later_overrides_win():
    overrides = parse_overrides(["--preset", "quick", "--finetune_epochs", "9"])
    assert overrides == {**PRESETS["quick"], "finetune_epochs": 9}


def test_the_robust_preset_is_the_quick_budget_with_augmentation_on_half_the_images():
    quick, robust = make_config(PRESETS["quick"]), make_config(PRESETS["robust"])
    budget = ("image_size", "finetune_layers", "frozen_epochs", "finetune_epochs", "clr_step_epochs", "batch_size")
    assert all(getattr(robust, name) == getattr(quick, name) for name in budget)
    assert robust.augment_share == 0.5 and robust.noise > 0 and robust.rotation > 0 and quick.noise == 0


def test_the_augmix_preset_is_the_quick_budget_with_every_corruption_in_the_consistency_views():
    quick, augmix = make_config(PRESETS["quick"]), make_config(PRESETS["augmix"])
    budget = ("image_size", "finetune_layers", "frozen_epochs", "finetune_epochs", "clr_step_epochs", "batch_size")
    assert all(getattr(augmix, name) == getattr(quick, name) for name in budget)
    assert augmix.consistency > 0 and augmix.augmix and augmix.augment_share == 1.0  # every view corrupted
    # One view of 3/4 of the batch: 1.75 passes a step, inside the budget of twice quick's time.
    assert augmix.consistency_views == 1 and augmix.consistency_share == 0.75
    robust = make_config(PRESETS["robust"])
    assert all(getattr(augmix, name) >= getattr(robust, name) for name in CORRUPTION_FIELDS)
    assert augmix.family_share < 1 == robust.family_share  # a view draws a few changes, not all at once
    assert [name for name in CORRUPTION_FIELDS if not getattr(augmix, name)] == ["shear"]  # every family but shear


def test_unknown_option_suggests_the_closest_field():
    with pytest.raises(UserError, match="did you mean --image_size"):
        parse_overrides(["--imagesize", "64"])


def test_wrong_type_names_the_field():
    with pytest.raises(UserError, match="--batch_size expects int, got 'big'"):
        parse_overrides(["--batch_size", "big"])
    with pytest.raises(UserError, match="--split_seed expects int, got 'x'"):
        parse_overrides(["--split_seed", "x"])


@pytest.mark.parametrize("field, value, message", [
    ("image_size", 16, "image_size=16 must be >= 32"),
    ("dropout", 1.0, "dropout=1.0 must be in \\[0, 1\\)"),
    ("clr_min", -0.1, "clr_min=-0.1 must be in \\(0, 1000\\]"),
    ("clr_max", 1e-5, "clr_max=1e-05 must be in \\[clr_min"),
    ("val_fraction", 1.0, "val_fraction=1.0 must be in \\(0, 1\\)"),
    ("clr_policy", "cosine", "clr_policy='cosine' must be one of"),
    ("label_smoothing", 1.0, "label_smoothing=1.0 must be in \\[0, 1\\)"),
    ("noise", 300.0, "noise=300.0 must be in \\[0, 255\\] \\(pixel levels\\)"),
    ("blur", 1.5, "blur=1.5 must be in \\[0, 1\\] \\(a probability\\)"),
])
def test_impossible_values_are_rejected(field, value, message):
    with pytest.raises(UserError, match=message):
        make_config({field: value})


@pytest.mark.parametrize("argv, message", [  # values no machine can hold, each refused before anything runs
    (["--finetune_epochs", "100000000"], "finetune_epochs=100000000 must be in \\[0, 1000\\]"),
    (["--stored_size", "100000"], "stored_size=100000 must be in \\[8, 1024\\] \\(pixels\\) or none"),
    (["--image_size", "100000"], "image_size=100000 must be in \\[8, 1024\\]"),
    (["--batch_size", "10000000"], "batch_size=10000000 must be in \\[1, 8192\\]"),
    (["--l2", "inf"], "l2=inf must be a finite number"),
    (["--alpha", "inf"], "alpha=inf must be a finite number"),
    (["--clr_step_epochs", "inf"], "clr_step_epochs=inf must be a finite number"),
    (["--dropout", "nan"], "dropout=nan must be a finite number"),
    (["--seed", "-1"], "seed=-1 must be in \\[0, 2\\*\\*32\\)"),
])
def test_values_no_machine_can_hold_are_refused_naming_the_field(argv, message):
    with pytest.raises(UserError, match=f"^config: {message}"):
        make_config(parse_overrides(argv))


def test_a_home_folder_is_expanded_in_every_path_field(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    cfg = make_config(parse_overrides(["--exports_dir", "~/exp", "--teachers", "~/a,~/b", "--data_dir", "~"]))
    assert cfg.exports_dir == f"{tmp_path}/exp" and cfg.teachers == f"{tmp_path}/a,{tmp_path}/b"
    assert cfg.data_dir == str(tmp_path) and cfg.artifacts_dir == "artifacts"
    write_json(RunFiles(tmp_path / "run").config, dataclasses.asdict(make_config({"weights": "~/w.h5"})))
    again = trained_run_config(["--artifacts_dir", "~/run", "--weights", "~/w.h5"])  # run.sh passes the same
    assert again.weights == f"{tmp_path}/w.h5" and again.artifacts_dir == f"{tmp_path}/run"


def test_nothing_to_train_is_rejected():
    with pytest.raises(UserError, match="nothing to train"):
        make_config({"frozen_epochs": 0, "finetune_epochs": 0})


def test_fresh_takes_no_value_and_sets_no_field():
    """train.py reads --fresh itself; the later scripts get the same command line (run.sh)."""
    assert parse_overrides(["--fresh", "--seed", "1"]) == parse_overrides(["--seed", "1", "--fresh"]) == {"seed": 1}
