import numpy as np
import pytest
from smtjlab.acquisition import digitize as dz
from smtjlab.acquisition.digitize import DigitizeError, digitize, dwell_times, fit_dwells
from smtjlab.mocks.smtj import ReadoutNoise, adc_codes, readout, telegraph_states

RATE = 10e6


def telegraph(n=100_000, tau_high=20.0, tau_low=20.0, snr=10.0, seed=0, **noise):
    rng = np.random.default_rng(seed)
    states = telegraph_states(rng, n, tau_high, tau_low)
    volts = readout(rng, states, 0.10, 0.15, ReadoutNoise(snr=snr, **noise), RATE)
    return volts, states


def reference_hysteresis(x, low, gap, hysteresis, margin, state):
    """Plain per-sample hysteresis with a fixed baseline and the same spike band."""
    out = np.empty(len(x), np.uint8)
    for i, v in enumerate(x - low):
        if -margin <= v <= gap + margin:
            if v > gap * (0.5 + hysteresis):
                state = 1
            elif v < gap * (0.5 - hysteresis):
                state = 0
        out[i] = state
    return out


@pytest.mark.parametrize("n", [64, 100, 1000, 4096 + 37])
def test_bit_parallel_hysteresis_matches_a_per_sample_loop(n):
    rng = np.random.default_rng(n)
    x = rng.normal(0.5, 0.4, n).astype(np.float32)
    x[rng.integers(0, n, n // 50)] = 9.0  # spikes outside the band
    levels = dz.Levels(low=0.0, gap=1.0, sigma=0.1)
    states = np.empty(-(-n // 64) * 64, np.uint8)
    dz._hysteresis_pass(x, states, levels, 0.1, track_samples=10**15)  # baseline held still
    expected = reference_hysteresis(x, 0.0, 1.0, 0.1, dz._spike_margin(levels), int(x[0] > 0.5))
    np.testing.assert_array_equal(states[:n], expected)


def reference_viterbi(x, low, gap, sigma, q_up, q_down):
    """Textbook two-state Viterbi in float64 with back-pointers."""
    llr = gap * (x - low - gap / 2) / sigma**2
    trans = np.log([[1 - q_up, q_up], [q_down, 1 - q_down]])
    score = np.array([0.0, llr[0]])
    back = np.zeros((len(x), 2), np.uint8)
    for i in range(1, len(x)):
        to_low = score + trans[:, 0]
        to_high = score + trans[:, 1]
        back[i] = (to_low.argmax(), to_high.argmax())
        score = np.array([to_low.max(), to_high.max() + llr[i]])
    path = np.empty(len(x), np.uint8)
    path[-1] = score.argmax()
    for i in range(len(x) - 1, 0, -1):
        path[i - 1] = back[i, path[i]]
    return path


def test_collapsed_viterbi_matches_the_textbook_recursion():
    volts, _ = telegraph(n=3000, tau_high=8, tau_low=15, snr=3.0, seed=5)
    volts = volts.astype(np.float64).astype(np.float32)
    n = len(volts)
    levels = dz.Levels(low=0.10, gap=0.05, sigma=0.05 / 3)
    states = np.zeros(-(-n // 64) * 64, np.uint8)
    states[:n] = volts > 0.125  # any starting guess; it only sets the switching rates
    n_high, switches, _, _ = dz._run_counts(states[:n])
    ups, downs = dz._ups_downs(states[:n], switches)
    q_up = min(max((ups + 1) / (n - n_high + 2), 1e-7), 0.5)
    q_down = min(max((downs + 1) / (n_high + 2), 1e-7), 0.5)
    baseline = np.full(len(states) // 64, 0.10, np.float32)
    scores = np.zeros(len(states), np.float32)
    dz._viterbi_path(volts, states, scores, baseline, levels, levels.sigma, n_high, switches)
    expected = reference_viterbi(volts.astype(np.float64), 0.10, 0.05, levels.sigma, q_up, q_down)
    assert np.count_nonzero(states[:n] != expected) <= 2  # float32 vs float64 near-ties


def test_state_one_is_the_higher_level_and_invert_flips_it():
    volts, truth = telegraph(tau_high=10, tau_low=40)
    result = digitize(volts, RATE, name="t")
    assert np.mean(result.states != truth) < 0.001
    assert result.low_v == pytest.approx(0.10, abs=1e-3)
    assert result.high_v == pytest.approx(0.15, abs=1e-3)
    assert result.threshold_v == pytest.approx(0.125, abs=1e-3)
    flipped = digitize(volts, RATE, invert=True)
    np.testing.assert_array_equal(flipped.states, 1 - result.states)
    assert flipped.p_high == pytest.approx(1 - result.p_high)
    assert flipped.dwell_high_s == pytest.approx(result.dwell_low_s)
    assert flipped.low_v == result.low_v  # levels stay physical voltages


def test_adc_codes_report_levels_in_volts():
    volts, truth = telegraph(n=50_003, snr=8.0)
    codes, per_code, offset = adc_codes(volts, 8, (0.0, 0.25))
    result = digitize(codes, RATE, volts_per_code=per_code, offset_volts=offset)
    assert np.mean(result.states != truth) < 0.005
    assert result.low_v == pytest.approx(0.10, abs=2e-3)
    assert result.high_v == pytest.approx(0.15, abs=2e-3)
    assert len(result.states) == 50_003


def test_hysteresis_method_agrees_at_high_snr():
    volts, truth = telegraph(snr=20.0, drift_fraction=0.5, drift_period_s=0.005)
    fast = digitize(volts, RATE, method="hysteresis")
    assert np.mean(fast.states != truth) < 1e-4
    assert np.mean(fast.states != digitize(volts, RATE).states) < 1e-4


def test_dwell_fit_recovers_the_exponential_means():
    states = telegraph_states(np.random.default_rng(1), 2_000_000, 12.0, 30.0)
    tau_high, tau_low, tau_c = fit_dwells(states)
    assert tau_high == pytest.approx(12.0, rel=0.03)
    assert tau_low == pytest.approx(30.0, rel=0.03)
    assert tau_c == pytest.approx(1 / (1 / 12 + 1 / 30), rel=0.03)


def test_dwell_times_drop_the_censored_ends():
    states = np.array([1, 1, 0, 0, 0, 1, 0, 0, 1, 1, 1], np.uint8)
    high, low = dwell_times(states)
    assert high.tolist() == [1] and low.tolist() == [3, 2]
    assert fit_dwells(np.array([0, 0, 1, 1, 1], np.uint8)) != fit_dwells(states)
    assert all(np.isnan(fit_dwells(np.array([0, 0, 1, 1, 1], np.uint8))))


def test_nan_samples_are_refused_with_the_trace_name():
    volts, _ = telegraph(n=10_000)
    volts[123] = np.nan
    with pytest.raises(DigitizeError, match=r"trace 'bias_0\.3V'.*1 samples are NaN"):
        digitize(volts, RATE, name="bias_0.3V")


def test_flat_trace_is_refused():
    with pytest.raises(DigitizeError, match=r"trace 'dead'.*flat"):
        digitize(np.full(10_000, 0.12, np.float32), RATE, name="dead")
    with pytest.raises(DigitizeError, match="flat"):
        digitize(np.zeros(10_000, np.int8), RATE, volts_per_code=0.001, offset_volts=0.0)


@pytest.mark.parametrize(
    "noise",
    [{}, {"pink_fraction": 0.5}, {"drift_fraction": 0.5, "drift_period_s": 0.01}],
    ids=["white", "white+1/f", "white+drift"],
)
def test_trace_without_switching_is_refused(noise):
    rng = np.random.default_rng(3)
    states = np.zeros(200_000, np.uint8)
    volts = readout(rng, states, 0.10, 0.15, ReadoutNoise(snr=5.0, **noise), RATE)
    with pytest.raises(DigitizeError, match=r"trace 'stuck'.*no switching"):
        digitize(volts, RATE, name="stuck")


def test_short_or_misshapen_input_is_refused():
    with pytest.raises(DigitizeError, match="too few"):
        digitize(np.zeros(10, np.float32), RATE)
    with pytest.raises(DigitizeError, match="1-D"):
        digitize(np.zeros((100, 2), np.float32), RATE)


@pytest.mark.parametrize(("snr", "warned"), [(5.0, False), (2.5, True)])
def test_low_snr_warns_only_below_the_specified_range(caplog, snr, warned):
    volts, _ = telegraph(snr=snr, seed=3)
    with caplog.at_level("WARNING", logger=dz.__name__):
        digitize(volts, RATE)
    assert ("expect state errors" in caplog.text) is warned
