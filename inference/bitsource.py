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

from collections.abc import Mapping
from pathlib import Path
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
    def draw(self, p: float, count: int, length: int, rng: np.random.Generator) -> np.ndarray: ...


class IdealBits:
    """Independent Bernoulli(p) bits drawn from the rng passed to `draw`.

    P(1) is p rounded to 32 binary digits, t = round(p·2^32). Each output word combines
    uniform random words from the least significant set bit of t upwards: OR for a 1 digit,
    AND for a 0 digit, which gives P(1) = t/2^32 bit by bit (1 word for p = 1/2, 2 for 1/4, 31
    for 1/10).
    """

    name = "ideal"

    def draw(self, p: float, count: int, length: int, rng: np.random.Generator) -> np.ndarray:
        threshold = round(float(p) * 2**IDEAL_PRECISION)
        if not 0 < threshold < 2**IDEAL_PRECISION:
            raise BitSourceError(f"ideal bits: p = {p} is not strictly between 0 and 1")
        digits = [(threshold >> k) & 1 for k in range(IDEAL_PRECISION)]
        digits = np.array(digits[(threshold & -threshold).bit_length() - 1 :], dtype=np.uint8)
        words = words_for(length)
        uniform = rng.integers(
            np.iinfo(np.uint64).max,
            dtype=np.uint64,
            endpoint=True,
            size=(len(digits), count * words),
        )
        out = _combine_digits(uniform, digits).reshape(count, words)
        out[:, -1] &= tail_mask(length)
        return out


@numba.njit(cache=True, nogil=True)
def _combine_digits(uniform: np.ndarray, digits: np.ndarray) -> np.ndarray:
    out = uniform[0].copy()  # the lowest digit is 1: 0 | r = r
    for k in range(1, len(digits)):
        row = uniform[k]
        if digits[k]:
            for i in range(out.size):
                out[i] |= row[i]
        else:
            for i in range(out.size):
                out[i] &= row[i]
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


def open_bit_source(spec: str, levels: list[float]) -> BitSource:
    """The bit source named on a command line: "ideal", "mock" or a bit-pool file.

    `levels` are the device levels the model needs; the mock bench fills one pool per level.
    """
    if spec == "ideal":
        return IdealBits()
    if spec == "mock":
        try:
            from smtjlab.bench import mock_bit_bank  # the lead's glue; lazy: optional layer
        except ImportError:
            raise BitSourceError(
                "--bits mock needs the mock bench's bit bank (smtjlab.bench.mock_bit_bank), "
                "which this installation does not have yet; use --bits ideal or a bit-pool file"
            ) from None
        return mock_bit_bank(levels)
    if not Path(spec).is_file():
        raise BitSourceError(f"{spec}: no such bit-pool file (or use --bits ideal|mock)")
    return BitBank.load(spec)
