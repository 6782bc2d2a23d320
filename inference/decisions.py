"""Exact Bernoulli(p) decisions from fair bits, for the stochastic weight updates of GXNOR.

A decision b ~ Bernoulli(p) compares p's binary digits with a stream of fair bits u, most
significant first, and stops at the first digit where they differ: b = 1 when u's digit is 0
and p's is 1 (u < p), b = 0 in the opposite case. Every fair bit settles a decision with
probability ½, so a decision costs 2 fair bits on average whatever p is. p is held to
`PRECISION` binary digits (t = round(p·2^32), P(b = 1) = t/2^32 exactly, as `IdealBits` does);
a decision still open past t's last digit has u = t and so b = 0.

Fair bits come from a `FairBits` source:

- `PrngFairBits`: a seeded numpy PRNG (`--bits ideal`);
- `PoolFairBits`: the bits of a recorded p = ½ bit pool (`--bits mock` or a bit-pool file), read
  once, in order, through an optional debias (XOR of pairs, or von Neumann), and never reused:
  a source that runs dry raises `DecisionBudgetError`. `check_budget` refuses a run up front
  when the pool cannot cover its worst case.
"""

from __future__ import annotations

import math
from typing import Literal, Protocol

import numpy as np
from smtjlab.acquisition.pool import BitBank
from smtjlab.inference.gxnor_config import DEBIAS

from smtjlab.errors import SmtjlabError

PRECISION = 32  # binary digits of p compared per decision
FAIR_LEVEL = 0.5  # the pool level that serves fair bits
BITS_PER_DECISION = 2.0  # expected fair bits per decision, for any p
Debias = Literal["none", "xor", "von-neumann"]
# Raw pool bits per fair bit: XOR eats a pair; von Neumann keeps a pair 01/10 with chance
# 2p(1−p) = ½ at p = ½, so 4 raw bits per fair bit on average.
RAW_PER_FAIR = {"none": 1.0, "xor": 2.0, "von-neumann": 4.0}


class DecisionBudgetError(SmtjlabError):
    """A bit source too small for the decisions a run needs (refused, never reused)."""


class FairBits(Protocol):
    name: str
    consumed: int  # fair bits handed out so far

    def take(self, count: int) -> np.ndarray:
        """`count` fair bits, uint8 0/1, never handed out before."""
        ...


class PrngFairBits:
    """Fair bits from a seeded PCG64 generator (the `ideal` source)."""

    name = "ideal"

    def __init__(self, seed: int) -> None:
        self._rng = np.random.Generator(np.random.PCG64(seed))
        self.consumed = 0

    def take(self, count: int) -> np.ndarray:
        self.consumed += count
        return self._rng.integers(0, 2, count, dtype=np.uint8)

    def available(self) -> float:
        return math.inf


class PoolFairBits:
    """The bits of one recorded pool, read in order exactly once, optionally debiased."""

    def __init__(self, bits: np.ndarray, debias: Debias = "none", name: str = "pool") -> None:
        if debias not in DEBIAS:
            raise DecisionBudgetError(f"unknown debias {debias!r}; use one of {', '.join(DEBIAS)}")
        raw = np.asarray(bits, dtype=np.uint8).ravel()
        self.raw_bits = len(raw)
        self.debias = debias
        self.name = name
        self._bits = debiased(raw, debias)
        self._cursor = 0
        self.consumed = 0

    @classmethod
    def from_bank(cls, bank: BitBank, debias: Debias = "none") -> PoolFairBits:
        """The p = ½ pool of a bit bank (a mock bench's or a bit-pool file's)."""
        pool = bank.pool(FAIR_LEVEL)
        return cls(pool.bits(), debias, name=getattr(bank, "name", "pool"))

    def available(self) -> int:
        """Fair bits left."""
        return len(self._bits) - self._cursor

    def take(self, count: int) -> np.ndarray:
        if count > self.available():
            raise DecisionBudgetError(
                f"{self.name} bits ran out: {count} fair bits wanted, {self.available()} left "
                f"of {len(self._bits)} (bits are never reused; fill a bigger pool)"
            )
        out = self._bits[self._cursor : self._cursor + count]
        self._cursor += count
        self.consumed += count
        return out


def debiased(raw: np.ndarray, debias: Debias) -> np.ndarray:
    """Raw 0/1 bits made fair: as they are, XOR of pairs, or von Neumann (01 → 0, 10 → 1)."""
    if debias == "none":
        return raw
    pairs = raw[: len(raw) // 2 * 2].reshape(-1, 2)
    if debias == "xor":
        return pairs[:, 0] ^ pairs[:, 1]
    keep = pairs[:, 0] != pairs[:, 1]  # von Neumann: 01 -> 0, 10 -> 1, 00 and 11 dropped
    return pairs[keep, 0].copy()


def bits_needed(decisions: int) -> int:
    """Fair bits that cover `decisions` decisions but for a chance below 1e-9: their mean cost
    plus six standard deviations (a decision's cost is geometric: mean 2 bits, variance 2)."""
    return math.ceil(BITS_PER_DECISION * decisions + 6 * math.sqrt(2 * decisions) + PRECISION)


def check_budget(source: FairBits, decisions: int, where: str = "this run") -> None:
    """Refuse up front when `source` cannot cover `decisions` decisions (`bits_needed`)."""
    needed = bits_needed(decisions)
    have = source.available()
    if have < needed:
        raise DecisionBudgetError(
            f"{source.name} bits: {where} needs up to {decisions:,} decisions, about "
            f"{needed:,.0f} fair bits, but the pool holds {have:,} (bits are never reused; "
            "fill a bigger pool, use fewer epochs or a larger batch)"
        )


class DecisionCounter:
    """Decisions drawn and fair bits they consumed, over a run."""

    def __init__(self, bits: FairBits) -> None:
        self.bits = bits
        self.decisions = 0
        self.ones = 0

    def bernoulli(self, p: np.ndarray) -> np.ndarray:
        """One exact Bernoulli(p) decision per element of p (float, in [0, 1]); bool array."""
        out = bernoulli(p, self.bits)
        self.decisions += out.size
        self.ones += int(out.sum())
        return out

    def stats(self) -> dict[str, float | int | str]:
        return {
            "source": self.bits.name,
            "decisions": self.decisions,
            "fair_bits": self.bits.consumed,
            "bits_per_decision": self.bits.consumed / self.decisions if self.decisions else 0.0,
        }


def bernoulli(p: np.ndarray, bits: FairBits) -> np.ndarray:
    """Exact Bernoulli(p) decisions (module docstring), fair bits MSB-first from `bits`.

    Open decisions take one fresh bit each per digit, so the bits consumed equal the digits
    compared, about 2 per decision.
    """
    p = np.asarray(p, dtype=np.float64)
    if p.size and not (np.all(p >= 0.0) and np.all(p <= 1.0)):
        raise ValueError("decision probabilities must lie in [0, 1]")
    threshold = np.rint(p.ravel() * 2.0**PRECISION).astype(np.uint64)
    out = np.zeros(threshold.size, dtype=bool)
    sure = threshold >= np.uint64(1 << PRECISION)  # p = 1: no bit needed
    out[sure] = True
    open_lanes = np.flatnonzero((threshold > 0) & ~sure)  # p = 0 needs no bit either
    for digit in range(PRECISION - 1, -1, -1):
        if not open_lanes.size:
            break
        u = bits.take(open_lanes.size).astype(bool)
        t = ((threshold[open_lanes] >> np.uint64(digit)) & np.uint64(1)).astype(bool)
        out[open_lanes[t & ~u]] = True  # u's digit 0 below t's digit 1: u < t
        open_lanes = open_lanes[u == t]  # equal digits: compare the next one
    return out.reshape(p.shape)
