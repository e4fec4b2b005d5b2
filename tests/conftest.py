"""Fixtures: synthetic Fashion-MNIST in a folder, and one tiny trained run shared by the tests that only read it."""

import pytest

from config import Config
from tests.helpers import OUTPUT_PATHS, as_argv, run_script, tiny_run, write_synthetic_fashion_mnist


@pytest.fixture
def idx_dir(tmp_path):
    return write_synthetic_fashion_mnist(tmp_path / "fashion-mnist")


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
    """train.py once on synthetic data (1 frozen and 3 fine-tuning epochs), run from a folder of its own with
    the default output paths, as a user runs it from the checkout. Returns the overrides that name where
    everything went. Tests read it, or train copies of it in folders of their own; none changes it."""
    root = tmp_path_factory.mktemp("run")
    work = root / "checkout"
    work.mkdir()
    overrides = {name: value for name, value in tiny_run(root).items() if name not in OUTPUT_PATHS}
    overrides["finetune_epochs"] = "3"
    run_script("train.py", as_argv(overrides), cwd=work)
    return {**overrides, **{name: str(work / getattr(Config, name)) for name in OUTPUT_PATHS}}


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items):
    """The tests that start training processes first, so that the workers of `-n auto` end together rather than
    one of them alone on the last long test; the tests that read `trained_run` on one worker, which trains it
    once (a session fixture is made once per worker)."""
    for item in items:
        if "trained_run" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("trained_run"))
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
