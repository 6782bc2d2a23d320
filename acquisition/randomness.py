"""Randomness report for a bit pool: is it i.i.d. Bernoulli(p)?

Each test returns a p-value (small = evidence against the hypothesis; `passed` means
p ≥ `ALPHA`). NIST SP 800-22 tests assume p = ½; pools serve any level, so each test here is
its generalisation to a Bernoulli(π) stream, and reduces to the NIST statistic at π = ½:

- **monobit** (NIST 2.1): z = (ones − nπ₀)/√(nπ₀(1−π₀)) against the level π₀ the pool should
  serve. With n bits it resolves |p − π₀| ≈ 3/√(4n): a pool calibrated to ±0.01 fails it
  beyond ~10⁴ bits, so read it as a calibration check, the others as randomness checks.
  Bits of a telegraph process sampled Δt apart have lag-1 correlation ρ = exp(−Δt/τc) (e⁻²
  ≈ 0.135 at Δt = 2τc), which inflates the variance of their mean by (1+ρ)/(1−ρ) (≈ 1.31):
  given `lag1` = ρ, the test counts the n(1−ρ)/(1+ρ) bits they are worth, so correlated but
  on-target bits fail it at the rate α, not 2–5 times that.
- **block frequency** (NIST 2.2): χ² of the ones per block of M bits around the stream's mean.
- **runs** (NIST 2.3): the number of changes, with the exact mean and variance for Bernoulli(π̂).
- **longest run of ones in a block** (NIST 2.4): block maxima against their exact distribution
  for Bernoulli(π̂) blocks, in about six classes of equal probability.
- **lag-k autocorrelation**: z = r_k·√(n−k) for k = 1 … `max_lag`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy.special import erfc, gammaincc
from smtjlab.acquisition.bitstream import autocorrelation, effective_bits
from smtjlab.acquisition.pool import BitPool

ALPHA = 0.01


@dataclass(frozen=True)
class TestResult:
    test: str
    statistic: float
    p_value: float

    @property
    def passed(self) -> bool:
        return self.p_value >= ALPHA

    def as_dict(self) -> dict:
        return {**asdict(self), "passed": self.passed}


def randomness_report(
    bits: np.ndarray, p_expected: float = 0.5, max_lag: int = 4, block: int = 128
) -> list[TestResult]:
    """Every test of the module docstring on 0/1 `bits`."""
    bits = np.asarray(bits, dtype=np.uint8)
    if len(bits) < 4 * block:
        raise ValueError(f"need at least {4 * block} bits for a report, got {len(bits)}")
    return [
        monobit(bits, p_expected),
        block_frequency(bits, block),
        runs(bits),
        longest_run(bits, block),
        *(autocorrelation_test(bits, lag) for lag in range(1, max_lag + 1)),
    ]


def monobit(bits: np.ndarray, p_expected: float = 0.5, lag1: float = 0.0) -> TestResult:
    """The frequency test against `p_expected`, over the bits' effective count for `lag1`."""
    n = len(bits)
    n_eff = effective_bits(n, lag1)
    z = (np.count_nonzero(bits) / n - p_expected) / math.sqrt(p_expected * (1 - p_expected) / n_eff)
    return TestResult("monobit", float(z), _two_sided(z))


def block_frequency(bits: np.ndarray, block: int = 128, p: float | None = None) -> TestResult:
    """Around a given p (NIST: p = ½, N degrees of freedom) or the stream's mean (N − 1)."""
    blocks = len(bits) // block
    ones = bits[: blocks * block].reshape(blocks, block).sum(axis=1, dtype=np.int64)
    mean = ones.sum() / (blocks * block) if p is None else p
    if mean in (0, 1):
        return TestResult("block frequency", math.inf, 0.0)
    chi2 = float(((ones - block * mean) ** 2).sum() / (block * mean * (1 - mean)))
    dof = blocks - 1 if p is None else blocks
    return TestResult("block frequency", chi2, float(gammaincc(dof / 2, chi2 / 2)))


def runs(bits: np.ndarray) -> TestResult:
    n = len(bits)
    pi = np.count_nonzero(bits) / n
    q = 2 * pi * (1 - pi)  # P(two neighbours differ)
    if q == 0:
        return TestResult("runs", math.inf, 0.0)
    changes = np.count_nonzero(bits[1:] != bits[:-1])
    # Neighbouring change indicators share a bit: Cov = P(b0≠b1≠b2) − q² = q/2 − q².
    variance = (n - 1) * q * (1 - q) + 2 * (n - 2) * (q / 2 - q * q)
    z = (changes - (n - 1) * q) / math.sqrt(variance)
    return TestResult("runs", float(z), _two_sided(z))


def longest_run(bits: np.ndarray, block: int = 128, classes: int = 6) -> TestResult:
    blocks = len(bits) // block
    pi = np.count_nonzero(bits) / len(bits)
    if pi in (0, 1):
        return TestResult("longest run", math.inf, 0.0)
    longest = _longest_runs(bits[: blocks * block].reshape(blocks, block))
    cdf = _longest_run_cdf(block, pi)
    # Class edges where the exact cdf crosses k/classes; merged when they coincide.
    edges = np.unique(np.searchsorted(cdf, np.arange(1, classes) / classes))
    expected = np.diff(np.concatenate([[0.0], cdf[edges], [1.0]]))
    observed = np.bincount(np.searchsorted(edges, longest), minlength=len(expected))
    keep = expected > 0
    chi2 = float(
        ((observed[keep] - blocks * expected[keep]) ** 2 / (blocks * expected[keep])).sum()
    )
    dof = max(int(keep.sum()) - 1, 1)
    return TestResult("longest run", chi2, float(gammaincc(dof / 2, chi2 / 2)))


def autocorrelation_test(bits: np.ndarray, lag: int) -> TestResult:
    r = autocorrelation(bits, lag)
    if math.isnan(r):
        return TestResult(f"autocorrelation lag {lag}", math.nan, 0.0)
    z = r * math.sqrt(len(bits) - lag)
    return TestResult(f"autocorrelation lag {lag}", float(r), _two_sided(z))


def _two_sided(z: float) -> float:
    return float(erfc(abs(z) / math.sqrt(2)))


def _longest_runs(blocks: np.ndarray) -> np.ndarray:
    """The longest run of ones in each row."""
    longest = np.zeros(len(blocks), dtype=np.int64)
    current = np.zeros(len(blocks), dtype=np.int64)
    for column in blocks.T:
        current = (current + 1) * column
        np.maximum(longest, current, out=longest)
    return longest


def _longest_run_cdf(block: int, pi: float) -> np.ndarray:
    """cdf[r] = P(longest run of ones in `block` Bernoulli(pi) trials ≤ r), r = 0 … block.

    With f(k) = P(no run of r+1 ones in k trials): f(k) = 1 for k ≤ r, and
    f(k) = (1−π)·Σ_{j≤r} π^j f(k−1−j) (the first zero comes after j ones) beyond.
    """
    cdf = np.ones(block + 1)
    for r in range(block):
        f = np.ones(block + 1)
        window = sum(pi**j for j in range(r + 1))  # Σ π^j f(k−1−j) at k = r+1, all f = 1
        for k in range(r + 1, block + 1):
            f[k] = (1 - pi) * window
            window = f[k] + pi * window - pi ** (r + 1) * f[k - r - 1]
        cdf[r] = f[block]
        if cdf[r] > 1 - 1e-15:
            break
    return cdf


def pool_report(pool: BitPool, max_bits: int = 1_000_000, max_lag: int = 4) -> dict:
    """The report on a pool's newest `max_bits` bits, monobit against its target level."""
    bits = pool.bits()[-max_bits:]
    return {
        "p_target": pool.p_target,
        "p_measured": float(bits.mean()) if len(bits) else math.nan,
        "n_bits": len(bits),
        "tests": [r.as_dict() for r in randomness_report(bits, pool.p_target, max_lag)],
    }
