import numpy as np
import pytest
from smtjlab.acquisition.pool import BitBank, BitPool, BitPoolError

from smtjlab.studies.nonideal import (
    POOL_BITS,
    bank_measures,
    bench_bank,
    crossing,
    markov_bits,
    nonideal_bank,
)


@pytest.mark.parametrize(("p", "rho"), [(0.25, 0.8), (0.5, np.exp(-2)), (0.9, 0.3)])
def test_markov_bits_have_the_level_and_the_lag_1_correlation(p, rho):
    bits = markov_bits(p, rho, 1 << 20, np.random.default_rng(1)).astype(float)
    assert len(bits) == 1 << 20
    assert bits.mean() == pytest.approx(p, abs=0.01)
    assert np.corrcoef(bits[:-1], bits[1:])[0, 1] == pytest.approx(rho, abs=0.01)


def test_a_level_error_moves_every_level_by_the_tolerance():
    bank = nonideal_bank([0.25, 0.5, 0.75], "level_error", 0.05, seed=3)
    errors = [pool.p_measured - pool.p_target for pool in bank.pools]
    assert all(abs(abs(error) - 0.05) < 0.003 for error in errors)


def test_drift_moves_a_level_from_one_end_of_the_pool_to_the_other():
    (pool,) = nonideal_bank([0.5], "drift", 0.05, seed=4).pools
    bits = pool.bits().astype(float)
    quarter = len(bits) // 4
    assert abs(bits[:quarter].mean() - bits[-quarter:].mean()) == pytest.approx(0.075, abs=0.01)
    assert bits.mean() == pytest.approx(0.5, abs=0.005)


def test_small_pools_hold_only_their_bits():
    bank = nonideal_bank([0.1, 0.9], "pool_bits", 1 << 10, seed=5)
    assert [pool.n_bits for pool in bank.pools] == [1 << 10, 1 << 10]
    assert POOL_BITS > 1 << 16


def test_the_loss_crossing_is_found_from_the_ideal_end():
    # level error: the loss grows with the value; 0.5 is crossed halfway (in log) 0.01 -> 0.02
    values, losses = [0.005, 0.01, 0.02, 0.04], [0.0, 0.2, 0.8, 3.0]
    assert crossing("level_error", values, losses, 0.5) == pytest.approx(np.sqrt(0.01 * 0.02))
    assert crossing("level_error", values, losses, 5.0) is None
    # correlation: the loss falls with Δt/τc; scanned from 4 down
    values, losses = [0.25, 0.5, 1.0, 2.0, 4.0], [3.0, 1.0, 0.5, 0.1, 0.0]
    assert crossing("correlation", values, losses, 0.5) == pytest.approx(1.0)
    assert crossing("correlation", values, losses, 2.0) == pytest.approx(np.sqrt(0.125))
    assert crossing("correlation", values, [1.0] * 5, 0.5) == 4.0  # lost at the best value


def test_a_bank_off_its_levels_on_purpose_reaches_the_tasks_unchecked():
    bank = nonideal_bank([0.25, 0.5], "level_error", 0.05, seed=3, pool_bits=1 << 14)
    with pytest.raises(BitPoolError, match="beyond the tolerance"):
        BitBank.from_bytes(bank.to_bytes(), "a bit-pool file")  # the file format refuses it
    copy = BitBank.from_bytes(bank.to_bytes(), "the bank", check=False)
    assert copy.levels == bank.levels
    for mine, theirs in zip(copy.pools, bank.pools, strict=True):
        assert mine.n_bits == theirs.n_bits == 1 << 14
        assert np.array_equal(mine.bits(), theirs.bits())


def test_a_banks_measures_are_its_lag_1_correlation_and_its_worst_level():
    bank = BitBank()
    for p, rho in ((0.25, 0.6), (0.75, 0.2)):
        pool = BitPool(p, 1 << 18)
        pool.append(markov_bits(p + 0.03, rho, 1 << 18, np.random.default_rng(int(10 * rho))))
        bank.add(pool)
    measured = bank_measures(bank)
    assert measured["measured_lag1"] == pytest.approx(0.4, abs=0.01)
    assert measured["measured_level_error"] == pytest.approx(0.03, abs=0.006)
    assert bank_measures(None) == {"measured_lag1": None, "measured_level_error": None}


def test_the_mock_bench_has_no_drift_knob():
    with pytest.raises(ValueError, match="no 'drift' knob"):
        bench_bank([0.5], "drift", 0.01, seed=0)
