import numpy as np
import pytest

from models.clr import CyclicalLR, cyclical_lr

LOW, HIGH, STEP = 0.001, 0.006, 10


@pytest.mark.parametrize("step, expected", [(0, LOW), (5, 0.0035), (10, HIGH), (15, 0.0035), (20, LOW), (30, HIGH)])
def test_triangular(step, expected):
    assert float(cyclical_lr(step, LOW, HIGH, STEP, "triangular")) == pytest.approx(expected)


@pytest.mark.parametrize("step, expected", [(10, HIGH), (30, LOW + (HIGH - LOW) / 2), (50, LOW + (HIGH - LOW) / 4),
                                            (40, LOW)])
def test_triangular2_halves_the_amplitude_each_cycle(step, expected):
    assert float(cyclical_lr(step, LOW, HIGH, STEP, "triangular2")) == pytest.approx(expected)


@pytest.mark.parametrize("step", [0, 10, 25, 30])
def test_exp_range_shrinks_by_gamma_per_step(step):
    gamma = 0.9
    triangular = float(cyclical_lr(step, LOW, HIGH, STEP, "triangular"))
    expected = LOW + (triangular - LOW) * gamma**step
    assert float(cyclical_lr(step, LOW, HIGH, STEP, "exp_range", gamma)) == pytest.approx(expected)
    assert float(cyclical_lr(10, LOW, HIGH, STEP, "exp_range", gamma)) == pytest.approx(LOW + (HIGH - LOW) * gamma**10)


@pytest.mark.parametrize("step, expected", [(0, LOW), (5, 0.0035), (10, HIGH), (30, 0.0035), (50, LOW), (60, LOW)])
def test_one_cycle_climbs_once_then_falls_until_the_phase_ends(step, expected):
    assert float(cyclical_lr(step, LOW, HIGH, STEP, "one_cycle", total_steps=50)) == pytest.approx(expected)


def test_schedule_gives_every_step_at_once():
    clr = CyclicalLR(LOW, HIGH, STEP, "triangular2")
    expected = [float(cyclical_lr(step, LOW, HIGH, STEP, "triangular2")) for step in range(45)]
    np.testing.assert_allclose(clr.lr_at(np.arange(45)), expected, rtol=1e-6)
