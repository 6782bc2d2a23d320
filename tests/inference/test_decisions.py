import numpy as np
import pytest
from smtjlab.inference.decisions import (
    DecisionBudgetError,
    DecisionCounter,
    PoolFairBits,
    PrngFairBits,
    bernoulli,
    bits_needed,
    check_budget,
)

PROBABILITIES = np.array([0.0, 1e-3, 0.03, 0.1, 0.25, 1 / 3, 0.5, 0.7, 0.9, 0.999, 1.0])


def assert_exact(decisions: np.ndarray, p: np.ndarray) -> None:
    """Every column's frequency lies within 5 sigma of its p (and 0 and 1 are certain)."""
    n = len(decisions)
    frequency = decisions.mean(axis=0)
    bound = 5 * np.sqrt(p * (1 - p) / n) + 1e-9
    assert np.all(np.abs(frequency - p) <= bound), (frequency, p)


def test_prng_decisions_are_bernoulli_p_across_the_unit_interval():
    counter = DecisionCounter(PrngFairBits(1))
    p = np.tile(PROBABILITIES, (40_000, 1))  # one call, every p mixed as in a DST step
    decisions = counter.bernoulli(p)
    assert decisions.shape == p.shape and decisions.dtype == bool
    assert_exact(decisions, PROBABILITIES)
    # about two fair bits per decision that needs one (p = 0 and 1 need none)
    assert 1.95 < counter.bits.consumed / (p.size * 9 / 11) < 2.05


def test_pool_decisions_are_exact_and_never_reuse_bits():
    bits = np.random.default_rng(2).integers(0, 2, 3_000_000, dtype=np.uint8)
    source = PoolFairBits(bits)
    decisions = np.concatenate(
        [bernoulli(np.tile(PROBABILITIES, (10_000, 1)), source) for _ in range(10)]
    )
    assert_exact(decisions, PROBABILITIES)
    assert source.consumed + source.available() == len(bits)


def telegraph(n: int, up: float, down: float, seed: int) -> np.ndarray:
    """A two-state Markov chain (the sampled s-MTJ): P(0→1) = up, P(1→0) = down."""
    u = np.random.default_rng(seed).random(n)
    out = np.empty(n, dtype=np.uint8)
    state = 0
    for index in range(n):
        state = int(u[index] < up) if state == 0 else int(u[index] >= down)
        out[index] = state
    return out


def test_von_neumann_makes_a_biased_correlated_pool_fair():
    raw = telegraph(400_000, 0.2, 0.4, seed=3)  # P(1) = 1/3, lag-1 correlation 0.4
    assert abs(PoolFairBits(raw).take(200_000).mean() - 1 / 3) < 0.01
    fair = PoolFairBits(raw, "von-neumann")  # P(01) = P(10) for any stationary two-state chain
    assert abs(fair.take(fair.available()).mean() - 0.5) < 0.005
    assert PoolFairBits(raw, "xor").available() == 200_000


def test_a_too_small_pool_is_refused_up_front_and_when_it_runs_dry():
    source = PoolFairBits(np.zeros(1000, dtype=np.uint8))
    with pytest.raises(DecisionBudgetError, match="needs up to 1,000 decisions"):
        check_budget(source, 1000)
    check_budget(source, 350)  # 2·350 bits + a six-sigma margin fit
    assert 700 < bits_needed(350) <= 1000
    source.take(990)
    with pytest.raises(DecisionBudgetError, match="ran out"):
        bernoulli(np.full(20, 0.5), source)


def test_probabilities_outside_the_unit_interval_are_rejected():
    with pytest.raises(ValueError):
        bernoulli(np.array([1.5]), PrngFairBits(0))
