import numpy as np
import pytest
from smtjlab.acquisition.bitstream import decimate
from smtjlab.acquisition.randomness import (
    _longest_run_cdf,
    block_frequency,
    monobit,
    randomness_report,
)
from smtjlab.mocks.smtj import telegraph_states


def bits_of(text):
    return np.array([int(c) for c in text], np.uint8)


def test_nist_worked_examples():
    # SP 800-22 rev 1a, sections 2.1.4 and 2.2.4.
    assert monobit(bits_of("1011010101")).p_value == pytest.approx(0.527089, abs=1e-6)
    result = block_frequency(bits_of("0110011010"), block=3, p=0.5)
    assert result.statistic == pytest.approx(1.0)
    assert result.p_value == pytest.approx(0.801252, abs=1e-6)


def test_longest_run_distribution_matches_nist_tables_at_one_half():
    cdf8 = _longest_run_cdf(8, 0.5)  # SP 800-22 §3.4, M = 8: classes ≤1, 2, 3, ≥4
    assert np.diff(np.concatenate([[0], cdf8[1:4]])) == pytest.approx(
        [0.2148, 0.3672, 0.2305], abs=1e-4
    )
    cdf128 = _longest_run_cdf(128, 0.5)  # M = 128: classes ≤4, 5, 6, 7, 8, ≥9
    assert np.diff(np.concatenate([[0], cdf128[4:9]])) == pytest.approx(
        [0.1174, 0.2430, 0.2493, 0.1752, 0.1027], abs=1e-4
    )


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_independent_bernoulli_bits_pass_every_test(p):
    bits = (np.random.default_rng(11).random(200_000) < p).astype(np.uint8)
    report = randomness_report(bits, p_expected=p)
    assert [r.test for r in report][:4] == ["monobit", "block frequency", "runs", "longest run"]
    assert all(r.passed for r in report), [r.as_dict() for r in report]


def test_correlated_bits_fail_runs_and_autocorrelation():
    states = telegraph_states(np.random.default_rng(2), 4_000_000, 20.0, 20.0)
    bits = decimate(states, 5).bits  # Δt = τc/2: ρ ≈ 0.6
    failed = {r.test for r in randomness_report(bits) if r.p_value < 1e-6}
    assert {"runs", "autocorrelation lag 1", "autocorrelation lag 2", "longest run"} <= failed


def test_monobit_flags_a_miscalibrated_pool():
    bits = (np.random.default_rng(3).random(100_000) < 0.32).astype(np.uint8)
    assert monobit(bits, 0.30).p_value < 1e-6
    assert monobit(bits, 0.32).passed


def test_pool_report_uses_the_newest_bits_and_the_target_level():
    from smtjlab.acquisition.pool import BitPool
    from smtjlab.acquisition.randomness import pool_report

    pool = BitPool(0.25, 1 << 16)
    pool.append((np.random.default_rng(4).random(1 << 16) < 0.25).astype(np.uint8))
    report = pool_report(pool, max_bits=20_000)
    assert report["n_bits"] == 20_000 and report["p_target"] == 0.25
    assert report["tests"][0]["test"] == "monobit" and report["tests"][0]["passed"]
