import keras
import numpy as np
import pytest

from models.lr_range_test import LRRangeTest, suggest_bounds


def test_sweep_raises_lr_exponentially_and_stops_when_the_loss_explodes():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4000, 4)).astype("float32")
    y = x @ np.array([1.0, -2.0, 0.5, 3.0], "float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(), loss="mse")
    sweep = LRRangeTest(1e-4, 10.0, steps=200)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[sweep])
    assert sweep.lrs[0] == pytest.approx(1e-4)
    ratios = np.array(sweep.lrs[1:]) / np.array(sweep.lrs[:-1])
    np.testing.assert_allclose(ratios, ratios[0], rtol=1e-6)  # geometric steps
    assert len(sweep.lrs) < 200  # SGD on this problem diverges well before LR 10
    assert sweep.losses[0] == pytest.approx(sweep.means[0])
    low, high = suggest_bounds(sweep.lrs, sweep.smoothed)
    assert low < high < sweep.lrs[int(np.argmin(sweep.smoothed))]
