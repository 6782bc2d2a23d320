"""Bit sources: where the SC engine gets the random bits of every device level.

A bit source is any object with

    draw(p: float, count: int, length: int, rng: np.random.Generator) -> np.ndarray

returning `count` independent streams with P(1) = p, packed LSB-first into uint64 words:
shape (count, words_for(length)), bits past `length` zero (smtjlab.acquisition.packing).
The engine only asks for 0 < p < 1; probabilities 0 and 1 are constant streams.

- `IdealBits`: Bernoulli bits from the caller's seeded PRNG.
- `PoolBits`: segments at random offsets of recorded bit pools, one pool per level, as a
  bench fills them; `read_bitpools` loads a bit-pool file (docs/file-formats.md).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

import h5py
import numba
import numpy as np
from smtjlab.acquisition.packing import pack_bits, words_for

from smtjlab.errors import SmtjlabError

POOL_FORMAT = "smtjlab.bitpools"
POOL_VERSION = 1
LEVEL_TOLERANCE = 1e-6  # a pool serves p if |p - p_target| <= this
IDEAL_PRECISION = 32  # IdealBits realises P(1) = round(p·2^32) / 2^32 exactly


class BitSourceError(SmtjlabError):
    """A bit source that cannot serve a request, or a bad bit-pool file."""


class BitSource(Protocol):
    def draw(self, p: float, count: int, length: int, rng: np.random.Generator) -> np.ndarray: ...


def tail_mask(length: int) -> np.uint64:
    """The mask of the valid bits in a stream's last word."""
    rest = length % 64
    return np.uint64(0xFFFF_FFFF_FFFF_FFFF if rest == 0 else (1 << rest) - 1)


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


class PoolBits:
    """Streams cut from recorded bit pools, one pool per device level, at random offsets.

    `pools` maps p_target to the pool's bits, either uint8 0/1 values or (with `n_bits`)
    packed uint64 words. A stream of length L starts at an offset drawn uniformly from
    [0, n - L]; pools much longer than count·L make overlapping segments rare.
    """

    def __init__(
        self,
        pools: Mapping[float, np.ndarray],
        n_bits: Mapping[float, int] | None = None,
        name: str = "pool",
    ) -> None:
        self.name = name
        self._levels: list[float] = []
        self._pools: list[np.ndarray] = []
        self._lengths: list[int] = []
        for p_target, bits in sorted(pools.items()):
            bits = np.asarray(bits)
            if bits.dtype == np.uint64:
                length = int(n_bits[p_target]) if n_bits else 64 * bits.size
                packed = bits.ravel()
            else:
                length, packed = bits.size, pack_bits(bits.ravel())
            # one zero word of padding lets the segment copy read word q+1 unconditionally
            self._pools.append(np.concatenate([packed, np.zeros(1, np.uint64)]))
            self._levels.append(float(p_target))
            self._lengths.append(length)

    @property
    def levels(self) -> list[float]:
        return list(self._levels)

    def draw(self, p: float, count: int, length: int, rng: np.random.Generator) -> np.ndarray:
        index = self._find(p)
        available = self._lengths[index]
        if available < length:
            raise BitSourceError(
                f"{self.name}: the pool for p = {p:.6g} holds {available} bits, "
                f"fewer than one stream of {length}"
            )
        offsets = rng.integers(0, available - length, size=count, endpoint=True)
        return _cut_segments(self._pools[index], offsets, length, tail_mask(length))

    def _find(self, p: float) -> int:
        for index, level in enumerate(self._levels):
            if abs(level - p) <= LEVEL_TOLERANCE:
                return index
        have = ", ".join(f"{level:.6g}" for level in self._levels) or "none"
        raise BitSourceError(f"{self.name}: no bit pool for p = {p:.6g} (pools: {have})")


@numba.njit(cache=True, nogil=True)
def _cut_segments(pool: np.ndarray, offsets: np.ndarray, length: int, mask: np.uint64):
    words = (length + 63) // 64
    out = np.empty((offsets.size, words), dtype=np.uint64)
    for s in range(offsets.size):
        first = offsets[s] // 64
        shift = np.uint64(offsets[s] % 64)
        if shift == 0:
            for w in range(words):
                out[s, w] = pool[first + w]
        else:
            back = np.uint64(64) - shift
            for w in range(words):
                out[s, w] = (pool[first + w] >> shift) | (pool[first + w + 1] << back)
        out[s, words - 1] &= mask
    return out


def write_bitpools(
    path: str | os.PathLike, pools: Mapping[float, np.ndarray], **attrs: str | float
) -> Path:
    """Write 0/1 bit pools (one per level) as a bit-pool file, packed; extra file attrs allowed."""
    path = Path(path)
    with h5py.File(path, "w") as handle:
        handle.attrs["format"] = POOL_FORMAT
        handle.attrs["version"] = POOL_VERSION
        for key, value in attrs.items():
            handle.attrs[key] = value
        group = handle.create_group("levels")
        for p_target, bits in sorted(pools.items()):
            bits = np.asarray(bits, dtype=np.uint8).ravel()
            dataset = group.create_dataset(f"p{p_target:.6f}", data=pack_bits(bits))
            dataset.attrs["p_target"] = float(p_target)
            dataset.attrs["n_bits"] = bits.size
    return path


def read_bitpools(path: str | os.PathLike) -> PoolBits:
    """Load a bit-pool file into a PoolBits; any violation of the format is a BitSourceError."""
    path = Path(path)
    try:
        with h5py.File(path, "r") as handle:
            if handle.attrs.get("format") != POOL_FORMAT:
                raise BitSourceError(f"{path}: not a bit-pool file (format != {POOL_FORMAT!r})")
            if handle.attrs.get("version") != POOL_VERSION:
                raise BitSourceError(f"{path}: unsupported bit-pool version")
            group = handle.get("levels")
            if not isinstance(group, h5py.Group) or len(group) == 0:
                raise BitSourceError(f"{path}: no 'levels' group with bit pools")
            pools: dict[float, np.ndarray] = {}
            n_bits: dict[float, int] = {}
            for name, dataset in group.items():
                p_target, bits, length = _read_level(path, name, dataset)
                if any(abs(p_target - other) <= LEVEL_TOLERANCE for other in pools):
                    raise BitSourceError(f"{path}: two pools for p_target = {p_target:.6g}")
                pools[p_target], n_bits[p_target] = bits, length
    except OSError as error:
        raise BitSourceError(f"{path}: cannot read bit-pool file ({error})") from None
    return PoolBits(pools, n_bits, name=str(path))


def _read_level(path: Path, name: str, dataset) -> tuple[float, np.ndarray, int]:
    where = f"{path}: levels/{name}"
    if not isinstance(dataset, h5py.Dataset) or dataset.ndim != 1:
        raise BitSourceError(f"{where} is not a 1-D dataset")
    p_target = float(dataset.attrs.get("p_target", np.nan))
    if not 0 < p_target < 1:
        raise BitSourceError(f"{where} needs an attribute p_target strictly between 0 and 1")
    data = dataset[()]
    if data.dtype == np.uint8:
        if data.size and data.max() > 1:
            raise BitSourceError(f"{where}: uint8 bits must be 0 or 1")
        return p_target, pack_bits(data), int(data.size)
    if data.dtype == np.uint64:
        length = int(dataset.attrs.get("n_bits", -1))
        if not 0 <= length <= 64 * data.size or length <= 64 * (data.size - 1):
            raise BitSourceError(f"{where}: n_bits {length} does not fit {data.size} words")
        data[-1:] &= tail_mask(length)
        return p_target, data, length
    raise BitSourceError(f"{where}: dtype {data.dtype}; want uint8 bits or packed uint64")


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
    return read_bitpools(spec)
