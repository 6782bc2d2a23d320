import numpy as np
import pytest
from smtjlab.mocks.smtj import (
    DeviceParams,
    ReadoutNoise,
    SmtjDevice,
    adc_codes,
    pink_noise,
    telegraph_states,
)


@pytest.mark.parametrize(("tau_high", "tau_low"), [(20.0, 20.0), (10.0, 90.0), (300.0, 30.0)])
def test_telegraph_occupancy_and_dwells_follow_the_means(tau_high, tau_low):
    states = telegraph_states(np.random.default_rng(3), 2_000_000, tau_high, tau_low)
    assert abs(states.mean() - tau_high / (tau_high + tau_low)) < 0.02
    edges = np.flatnonzero(np.diff(states)) + 1
    dwells = np.diff(edges)
    high = dwells[states[edges[:-1]] == 1]
    # Dwells are whole samples, which shifts the mean of a continuous exponential by ~0.5.
    assert abs(high.mean() - tau_high) / tau_high < 0.06


def test_device_is_seeded_and_follows_the_sigmoid():
    first = SmtjDevice(seed=7).sample(0.31, 50_000, 10e6)
    again = SmtjDevice(seed=7).sample(0.31, 50_000, 10e6)
    np.testing.assert_array_equal(first[0], again[0])
    device = SmtjDevice(seed=1)
    for bias in (0.25, 0.30, 0.35):
        _, states = device.sample(bias, 1_000_000, 10e6)
        assert abs(states.mean() - device.p_high(bias)) < 0.02


def test_correlation_time_grows_away_from_v50():
    device = SmtjDevice(DeviceParams(tau_growth_v=0.1))
    assert device.tau_c(0.4) > device.tau_c(0.3) == pytest.approx(device.params.tau_c)
    tau_high, tau_low = device.dwell_means(0.3)
    assert 1 / (1 / tau_high + 1 / tau_low) == pytest.approx(device.params.tau_c)


def test_readout_levels_and_snr():
    device = SmtjDevice(noise=ReadoutNoise(snr=5.0), seed=2)
    v_low, v_high = device.levels(0.3)
    volts, states = device.sample(0.3, 200_000, 10e6)
    residual = volts - np.where(states == 1, v_high, v_low)
    assert residual.std() == pytest.approx((v_high - v_low) / 5.0, rel=0.03)


def test_pink_noise_has_unit_rms_and_falling_spectrum():
    noise = pink_noise(np.random.default_rng(0), 1 << 16)
    assert noise.std() == pytest.approx(1.0)
    power = np.abs(np.fft.rfft(noise)) ** 2
    assert power[1:100].mean() > 10 * power[-1000:].mean()


def test_adc_codes_round_trip_within_one_code():
    volts = np.linspace(0.05, 0.2, 1000, dtype=np.float32)
    codes, per_code, offset = adc_codes(volts, 8, (0.0, 0.25))
    assert codes.dtype == np.int8
    assert np.abs(codes * per_code + offset - volts).max() <= per_code / 2 + 1e-9


def test_zero_samples_is_an_empty_trace():
    volts, states = SmtjDevice().sample(0.3, 0, 10e6)
    assert volts.shape == states.shape == (0,)
