import math

import numpy as np
import pytest
from smtjlab.acquisition.bitstream import (
    BitstreamError,
    autocorrelation,
    check_spacing,
    choose_interval,
    decimate,
    variance_factor,
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


def test_choose_interval_refuses_a_spacing_that_is_not_a_positive_number():
    for spacing in (0.0, -1.0, float("inf"), float("nan"), True):
        with pytest.raises(BitstreamError, match="spacing"):
            choose_interval(10.0, spacing)
    assert check_spacing(0.5) == 0.5


@pytest.mark.parametrize("rho", [-0.3, 0.0, 0.2, 0.6, 0.9])
@pytest.mark.parametrize("length", [1, 2, 7, 100])
def test_variance_factor_is_the_finite_sum_of_the_markov_autocorrelations(rho, length):
    lags = np.arange(1, length)
    direct = 1 + 2 * np.sum((1 - lags / length) * rho**lags)
    assert variance_factor(rho, length) == pytest.approx(direct, rel=1e-9, abs=1e-12)
    assert variance_factor(np.array([rho, 0.0]), length)[1] == 1.0


def test_variance_factor_tends_to_the_asymptotic_inflation_and_refuses_rho_one():
    assert variance_factor(0.6, 10**6) == pytest.approx(1.6 / 0.4, rel=1e-5)
    with pytest.raises(BitstreamError, match="ρ"):
        variance_factor(1.0, 100)
    with pytest.raises(BitstreamError, match="length"):
        variance_factor(0.5, 0)


def test_variance_factor_predicts_the_spread_of_markov_stream_means():
    from smtjlab.studies.nonideal import markov_bits

    p, rho, length = 0.3, 0.6, 100
    bits = markov_bits(p, rho, 4000 * length, np.random.default_rng(1))
    means = bits.reshape(4000, length).mean(axis=1)
    predicted = p * (1 - p) / length * variance_factor(rho, length)
    # the variance of 4000 sample means is within ~4.5 % (1σ) of the truth
    assert means.var() == pytest.approx(predicted, rel=0.15)
    assert means.var() > 2.5 * p * (1 - p) / length  # far from independent bits
