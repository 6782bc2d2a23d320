"""States → bits: decimate a state sequence at an interval Δt (DESIGN §2–§3).

Bits sampled Δt apart from a telegraph process with correlation time τc have lag-1
correlation ρ = exp(−Δt/τc), which inflates the variance of an L-bit estimate by about
(1+ρ)/(1−ρ). The default interval is the rule of thumb Δt ≥ 2τc (ρ ≤ 0.14).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from smtjlab.acquisition.packing import pack_bits

from smtjlab.errors import SmtjlabError

DEFAULT_SPACING = 2.0  # Δt / τc


class BitstreamError(SmtjlabError):
    """States that cannot be turned into bits (for example an unknown correlation time)."""


@dataclass
class Bitstream:
    """Bits taken every `interval` samples starting at sample `offset`."""

    bits: np.ndarray  # uint8 0/1
    interval: int
    offset: int = 0

    @property
    def packed(self) -> np.ndarray:
        """The bits packed LSB-first into uint64 words (smtjlab.acquisition.packing)."""
        return pack_bits(self.bits)

    @property
    def p_one(self) -> float:
        return float(np.count_nonzero(self.bits)) / len(self.bits) if len(self.bits) else math.nan

    @property
    def lag1(self) -> float:
        return autocorrelation(self.bits, 1)


def choose_interval(tau_c_samples: float, spacing: float = DEFAULT_SPACING) -> int:
    """The decimation interval in samples: ceil(spacing·τc), at least 1."""
    check_spacing(spacing)
    if not math.isfinite(tau_c_samples) or tau_c_samples <= 0:
        raise BitstreamError(
            f"cannot choose a bit interval from correlation time {tau_c_samples!r} samples "
            "(too few switches to measure it; pass a fixed interval)"
        )
    return max(1, math.ceil(spacing * tau_c_samples))


def check_spacing(spacing: float) -> float:
    """`spacing` (Δt/τc) if it is a finite number > 0, else BitstreamError."""
    if isinstance(spacing, bool) or not (math.isfinite(spacing) and spacing > 0):
        raise BitstreamError(f"the bit spacing Δt/τc must be a finite number > 0, not {spacing!r}")
    return float(spacing)


def decimate(states: np.ndarray, interval: int, offset: int = 0) -> Bitstream:
    """Every `interval`-th state from `offset` on, as a Bitstream."""
    if interval < 1 or offset < 0:
        raise BitstreamError(f"need interval >= 1 and offset >= 0, got {interval} and {offset}")
    bits = np.ascontiguousarray(np.asarray(states, dtype=np.uint8)[offset::interval])
    return Bitstream(bits=bits, interval=int(interval), offset=int(offset))


def effective_bits(n_bits: int, rho: float) -> float:
    """The independent bits that `n_bits` with lag-1 correlation ρ are worth: n(1−ρ)/(1+ρ).

    ρ is clipped to [0, 0.9]: anticorrelation is not counted as a gain, and a near-constant
    stream's estimate of ρ is too noisy to shrink n by more than 19x.
    """
    rho = 0.0 if math.isnan(rho) else min(max(rho, 0.0), 0.9)
    return n_bits * (1 - rho) / (1 + rho)


def variance_factor(rho, length: int):
    """How much lag-1 correlation ρ inflates the variance of the mean of `length` bits.

    For a Markov chain (bits of a telegraph process, DESIGN §3) lag k has correlation ρ^k, so
    the factor is exactly 1 + 2·Σ_{k=1}^{L-1} (1 − k/L)·ρ^k
    = 1 + 2ρ/(1−ρ) − 2ρ(1−ρ^L)/(L(1−ρ)²), which tends to (1+ρ)/(1−ρ) as L grows.
    Works on floats and numpy arrays; |ρ| must be below 1.
    """
    rho = np.asarray(rho, dtype=np.float64)
    if length < 1 or not np.all(np.abs(rho) < 1):
        raise BitstreamError(f"need length >= 1 and |ρ| < 1, got {length} and {rho}")
    factor = 1 + 2 * rho / (1 - rho) - 2 * rho * (1 - rho**length) / (length * (1 - rho) ** 2)
    return factor if factor.ndim else float(factor)


def autocorrelation(bits: np.ndarray, lag: int = 1) -> float:
    """Sample autocorrelation of 0/1 bits at `lag`; NaN for a constant or too short stream."""
    bits = np.asarray(bits, dtype=np.uint8)
    n = len(bits) - lag
    if n < 2:
        return math.nan
    mean = np.count_nonzero(bits) / len(bits)
    variance = mean * (1 - mean)
    if variance == 0:
        return math.nan
    both = np.count_nonzero(bits[:-lag] & bits[lag:]) / n
    return float((both - mean * mean) / variance)
