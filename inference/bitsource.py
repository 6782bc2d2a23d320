"""Bit sources: where the SC engine gets the random bits of every device level.

A bit source is any object with

    draw(p: float, count: int, length: int, rng: np.random.Generator) -> np.ndarray

returning `count` independent streams with P(1) = p, packed LSB-first into uint64 words:
shape (count, words_for(length)), bits past `length` zero (smtjlab.acquisition.packing).
The engine only asks for 0 < p < 1; probabilities 0 and 1 are constant streams.

- `IdealBits`: Bernoulli bits from the caller's seeded PRNG.
- `smtjlab.acquisition.pool.BitBank`: segments of recorded bit pools, one pool per level, as
  a bench fills them or as a bit-pool file holds them (docs/acquisition.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import numba
import numpy as np
from smtjlab.acquisition.packing import words_for
from smtjlab.acquisition.pool import BitBank, BitPool, tail_mask

from smtjlab.errors import SmtjlabError

IDEAL_PRECISION = 32  # IdealBits realises P(1) = round(p·2^32) / 2^32 exactly


class BitSourceError(SmtjlabError):
    """A bit source that cannot serve a request or cannot be opened."""


class BitSource(Protocol):
    def draw(
        self,
        p: float,
        count: int,
        length: int,
        rng: np.random.Generator,
        groups: Sequence[int] | None = None,
    ) -> np.ndarray: ...


class IdealBits:
    """Independent Bernoulli(p) bits from a PRNG seeded by the rng passed to `draw`.

    Each bit is 1 when a uniform 32-bit number u is below t = round(p·2^32), so P(1) = t/2^32
    exactly. The 64 bits of a word are decided together, most significant digit of u first:
    every digit is one fresh random word (one digit per lane), and a lane is settled at the
    first digit where u and t differ, so a word needs about 7 random words for any p (1 for
    p = 1/2, 2 for 1/4 and 3/4: past t's last 1 digit no lane can fall below t). The
    random words come from xoshiro256** (Blackman and Vigna), one generator per stream,
    seeded through splitmix64 from one 64-bit number drawn from `rng`.
    """

    name = "ideal"

    def draw(
        self,
        p: float,
        count: int,
        length: int,
        rng: np.random.Generator,
        groups: Sequence[int] | None = None,  # every stream is fresh: no grouping needed
    ) -> np.ndarray:
        threshold = round(float(p) * 2**IDEAL_PRECISION)
        if not 0 < threshold < 2**IDEAL_PRECISION:
            raise BitSourceError(f"ideal bits: p = {p} is not strictly between 0 and 1")
        # MSB first, up to t's last 1 digit: past it, every open lane has u >= t
        lowest = (threshold & -threshold).bit_length() - 1
        digits = np.array(
            [(threshold >> k) & 1 for k in range(IDEAL_PRECISION - 1, lowest - 1, -1)],
            dtype=np.uint8,
        )
        seed = np.uint64(rng.integers(np.iinfo(np.uint64).max, dtype=np.uint64, endpoint=True))
        return _bernoulli_words(seed, digits, count, words_for(length), tail_mask(length))


_GOLDEN = np.uint64(0x9E37_79B9_7F4A_7C15)


@numba.njit(inline="always")
def _rotl(x, k):
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@numba.njit(inline="always")
def _splitmix64(state):
    state += _GOLDEN
    z = state
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58_476D_1CE4_E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D0_49BB_1331_11EB)
    return state, z ^ (z >> np.uint64(31))


@numba.njit(parallel=True, cache=True)
def _bernoulli_words(seed, digits, count, words, mask):
    out = np.empty((count, words), dtype=np.uint64)
    for stream in numba.prange(count):
        state = seed + np.uint64(stream) * _GOLDEN * np.uint64(4)
        state, s0 = _splitmix64(state)
        state, s1 = _splitmix64(state)
        state, s2 = _splitmix64(state)
        state, s3 = _splitmix64(state)
        for w in range(words):
            ones = np.uint64(0)
            open_lanes = np.uint64(0xFFFF_FFFF_FFFF_FFFF)
            for k in range(digits.size):
                # xoshiro256**: one 64-bit random word
                r = _rotl(s1 * np.uint64(5), 7) * np.uint64(9)
                t = s1 << np.uint64(17)
                s2 ^= s0
                s3 ^= s1
                s1 ^= s2
                s0 ^= s3
                s2 ^= t
                s3 = _rotl(s3, 45)
                if digits[k]:  # t has a 1: lanes with u's digit 0 are below t
                    ones |= open_lanes & ~r
                    open_lanes &= r
                else:  # t has a 0: lanes with u's digit 1 are above t
                    open_lanes &= ~r
                if open_lanes == 0:
                    break
            out[stream, w] = ones
        out[stream, words - 1] &= mask
    return out


def PoolBits(pools: Mapping[float, np.ndarray], name: str = "pool") -> BitBank:
    """A bit bank (smtjlab.acquisition.pool) holding the given 0/1 bits, one pool per level.

    A convenience for tests and replays; benches fill their BitBank live.
    """
    bank = BitBank()
    bank.name = name
    for p_target, bits in pools.items():
        bits = np.asarray(bits, dtype=np.uint8).ravel()
        pool = BitPool(p_target, max(64, len(bits)))
        pool.append(bits)
        bank.add(pool)
    return bank
