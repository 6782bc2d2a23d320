import math

import numpy as np
import pytest
from smtjlab.acquisition.bitstream import (
    BitstreamError,
    autocorrelation,
    choose_interval,
    decimate,
)
from smtjlab.acquisition.packing import unpack_bits
from smtjlab.mocks.smtj import telegraph_states


@pytest.mark.parametrize("spacing", [0.5, 1.0, 2.0])
def test_lag1_correlation_follows_exp_minus_interval_over_tau_c(spacing):
    tau_high, tau_low = 20.0, 30.0
    tau_c = 1 / (1 / tau_high + 1 / tau_low)
    states = telegraph_states(np.random.default_rng(0), 4_000_000, tau_high, tau_low)
    stream = decimate(states, choose_interval(tau_c, spacing))
    expected = math.exp(-stream.interval / tau_c)
    assert stream.lag1 == pytest.approx(expected, abs=0.02)
    assert stream.p_one == pytest.approx(tau_high / (tau_high + tau_low), abs=0.01)


def test_decimate_takes_every_interval_th_state_and_packs_them():
    states = np.arange(100, dtype=np.uint8) % 3 == 0
    stream = decimate(states, 7, offset=2)
    np.testing.assert_array_equal(stream.bits, states[2::7].astype(np.uint8))
    assert (stream.interval, stream.offset) == (7, 2)
    np.testing.assert_array_equal(unpack_bits(stream.packed, len(stream.bits)), stream.bits)


def test_choose_interval_rounds_up_and_refuses_unknown_tau():
    assert choose_interval(3.2) == 7
    assert choose_interval(0.1) == 1
    with pytest.raises(BitstreamError, match="correlation time"):
        choose_interval(float("nan"))


def test_autocorrelation_edge_cases():
    assert math.isnan(autocorrelation(np.ones(50, np.uint8)))
    assert math.isnan(autocorrelation(np.array([1], np.uint8)))
    alternating = np.arange(1000) % 2
    assert autocorrelation(alternating) == pytest.approx(-1.0, abs=0.01)
    with pytest.raises(BitstreamError):
        decimate(np.zeros(10, np.uint8), 0)
