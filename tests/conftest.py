"""Fixtures: synthetic Fashion-MNIST in a folder, and one tiny trained run shared by the tests that only read it."""

import pytest

from tests.helpers import as_argv, run_script, tiny_run, write_synthetic_fashion_mnist


@pytest.fixture
def idx_dir(tmp_path):
    return write_synthetic_fashion_mnist(tmp_path / "fashion-mnist")


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
    """train.py once on synthetic data (1 frozen and 3 fine-tuning epochs); the overrides it used. Tests read it
    or train copies of it in folders of their own; none changes it."""
    overrides = {**tiny_run(tmp_path_factory.mktemp("run")), "finetune_epochs": "3"}
    run_script("train.py", as_argv(overrides))
    return overrides
