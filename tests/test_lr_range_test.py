import json

import keras
import numpy as np
import pytest

from config import make_config
from models.lr_range import LRRangeTest, suggest_bounds
from tests.helpers import as_argv, run_script, tiny_cnn_run


def linear_problem(n):
    """Noisy targets: no weights fit every batch, so SGD's steps never vanish and an LR past 2 / (the largest
    eigenvalue of the batch Hessian, about 2 here) must make the loss grow without bound."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4)).astype("float32")
    return x, x @ np.array([1.0, -2.0, 0.5, 3.0], "float32") + rng.normal(0, 0.5, n).astype("float32")


def sweep_fit(sweep, n, epochs=1):
    x, y = linear_problem(n)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(sweep.schedule), loss="mse")
    model.fit(x, y, batch_size=16, epochs=epochs, shuffle=False, verbose=0, callbacks=[sweep])
    return model


def test_sweep_raises_lr_exponentially_and_stops_once_the_smoothed_loss_explodes():
    sweep = LRRangeTest(1e-4, 100.0, steps=200)  # past LR 1 after 120 steps: divergence is certain
    sweep_fit(sweep, 4000)
    assert sweep.lrs[0] == pytest.approx(1e-4)
    ratios = np.array(sweep.lrs[1:]) / np.array(sweep.lrs[:-1])
    np.testing.assert_allclose(ratios, ratios[0], rtol=1e-4)  # geometric steps
    assert sweep.losses[0] == pytest.approx(sweep.means[0])  # per-batch losses recovered from the running mean

    smoothed = np.array(sweep.smoothed)
    exploded = ~np.isfinite(smoothed) | (smoothed > 4 * np.minimum.accumulate(smoothed))
    assert exploded.any(), "the noisy problem must diverge before the last step"
    assert len(sweep.losses) == np.argmax(exploded) + 1 < 200  # stopped at the first step past the threshold
    low, high = suggest_bounds(sweep.lrs, sweep.smoothed)
    assert low < high < sweep.lrs[int(np.argmin(sweep.smoothed))]


def test_sweep_runs_across_epochs_until_its_step_count():
    sweep = LRRangeTest(1e-5, 1e-3, steps=30)  # 10 batches per epoch, an LR too small to diverge
    model = sweep_fit(sweep, 160, epochs=3)
    assert len(sweep.lrs) == 30 and sweep.lrs[-1] == pytest.approx(1e-3, rel=1e-4)
    assert int(model.optimizer.iterations.numpy()) == 30
    assert all(loss > 0 for loss in sweep.losses)  # per-batch losses recovered from each epoch's running mean


@pytest.mark.slow
def test_script_writes_the_curve_the_plot_and_bounds_that_fit_the_config(tmp_path):
    out = run_script("lr_range_test.py", as_argv(tiny_cnn_run(tmp_path))).stdout  # spans epochs
    curve = json.loads((tmp_path / "lr_range_test.json").read_text())
    assert 1 < len(curve["lr"]) == len(curve["loss"]) == len(curve["smoothed_loss"]) <= 300
    assert curve["lr"][0] == pytest.approx(1e-6) and np.all(np.diff(curve["lr"]) > 0)
    low, high = curve["suggested_phase2_lr"]
    assert 0 < low < high
    make_config({"clr_min": curve["suggested_clr_min"], "clr_max": curve["suggested_clr_max"]})  # valid bounds
    assert f"--clr_min {curve['suggested_clr_min']:.2g}" in out
    assert (tmp_path / "vis" / "lr_range_test.png").stat().st_size > 0
