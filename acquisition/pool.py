"""Bit pools: one per probability level, refilled live, cut into independent L-bit segments.

A `BitPool` keeps the most recent `capacity_bits` bits of one level, packed LSB-first in
uint64 words (smtjlab.acquisition.packing), in a circular store: acquisition appends, and the
oldest bits make room. A `BitBank` holds one pool per level and is the bit source the SC
engine draws from (the `draw` protocol of smtjlab.inference.bitsource):

    bank.draw(p, count, length, rng) -> uint64 (count, words_for(length)), bits past length 0

A draw cuts `count` segments at random offsets, in rounds: each round takes a random phase
φ < length and up to ⌊(n_bits − φ)/length⌋ distinct slots φ + k·length, so the segments of one
round never overlap. `groups` (segment counts in draw order, for example per image) are kept
whole within a round, so one group's segments never overlap unless the group alone needs more
than a round's slots; `stats()` counts the segments that overlap another of their own group
(the overlap rate) and the reuse (bits drawn per bit acquired). Segments of different groups
may share bits at different offsets, which keeps bits at equal clock positions independent.

Bit-pool files (HDF5): file attributes `format = "smtjlab.bitpools"`, `version = 1`; group
`levels` with one dataset per level named `p0.250000`, packed uint64 words (or uint8 0/1
bits) with attributes `p_target` and `n_bits` (and, when known, `bias_v` and `p_measured`).
"""

from __future__ import annotations

import io
import logging
import math
import os
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import h5py
import numba
import numpy as np
from smtjlab.acquisition.bitstream import autocorrelation, effective_bits
from smtjlab.acquisition.calibration import TOLERANCE
from smtjlab.acquisition.packing import pack_bits, unpack_bits, words_for

from smtjlab.errors import SmtjlabError

POOL_FORMAT = "smtjlab.bitpools"
POOL_VERSION = 1
LEVEL_TOLERANCE = 1e-6  # a pool serves p when |p − p_target| <= this
DEFAULT_CAPACITY = 1 << 22  # bits per level: 512 KiB packed
# A pool's measured P(1) may be off its target by the calibration tolerance (the level was
# accepted within it) plus sampling noise: binomial σ over the effective bit count (lag-1
# inflation). Past REFUSE_SIGMA σ beyond the tolerance it is wrong (a chance of ~3e-7);
# past WARN_SIGMA (~1e-3) it is a doubt worth a warning.
REFUSE_SIGMA = 5.0
WARN_SIGMA = 3.0

log = logging.getLogger(__name__)


class BitPoolError(SmtjlabError):
    """A pool that cannot serve a request, or a bad bit-pool file."""


def tail_mask(length: int) -> np.uint64:
    """The mask of a stream's valid bits in its last word."""
    rest = length % 64
    return np.uint64(0xFFFF_FFFF_FFFF_FFFF if rest == 0 else (1 << rest) - 1)


class BitPool:
    """The bits of one probability level: a circular store of packed words, thread-safe."""

    def __init__(
        self,
        p_target: float,
        capacity_bits: int = DEFAULT_CAPACITY,
        *,
        bias_v: float | None = None,
    ) -> None:
        if not 0 < p_target < 1:
            raise BitPoolError(f"a pool's p_target must lie strictly between 0 and 1: {p_target}")
        if capacity_bits < 64:
            raise BitPoolError(f"pool for p = {p_target:g}: capacity must be at least 64 bits")
        self.p_target = float(p_target)
        self.bias_v = bias_v
        self.capacity_bits = words_for(capacity_bits) * 64
        # One zero word past the end lets a segment read word q+1 unconditionally.
        self._words = np.zeros(self.capacity_bits // 64 + 1, dtype=np.uint64)
        self._cursor = 0  # next word to write
        self._filled = 0  # words holding bits
        self._pending = np.zeros(0, dtype=np.uint8)  # < 64 bits waiting for a whole word
        self._lock = threading.Lock()
        self.appended = 0
        self.drawn_segments = 0
        self.drawn_bits = 0
        self.overlapping_segments = 0

    @property
    def n_bits(self) -> int:
        """Bits available to draws (whole words only; up to 63 more wait in a buffer)."""
        return self._filled * 64

    def append(self, bits: np.ndarray) -> None:
        """Add 0/1 bits (uint8); once full, the oldest bits make room."""
        bits = np.asarray(bits, dtype=np.uint8).ravel()
        with self._lock:
            self.appended += len(bits)
            if len(self._pending):
                bits = np.concatenate([self._pending, bits])
            whole = len(bits) // 64 * 64
            self._pending = bits[whole:].copy()
            words = pack_bits(bits[:whole])[-(len(self._words) - 1) :]
            capacity = len(self._words) - 1
            first = min(len(words), capacity - self._cursor)
            self._words[self._cursor : self._cursor + first] = words[:first]
            self._words[: len(words) - first] = words[first:]
            self._cursor = (self._cursor + len(words)) % capacity
            self._filled = min(capacity, self._filled + len(words))

    def bits(self) -> np.ndarray:
        """A copy of the held bits as uint8 0/1 (oldest first once the store has wrapped)."""
        with self._lock:
            words = self._held_words()
        return unpack_bits(words, 64 * len(words))

    @property
    def p_measured(self) -> float:
        """Fraction of ones among the held bits."""
        with self._lock:
            words = self._held_words()
        if not len(words):
            return math.nan
        return float(np.unpackbits(words.view(np.uint8)).sum()) / (64 * len(words))

    def draw(
        self,
        count: int,
        length: int,
        rng: np.random.Generator,
        groups: Sequence[int] | None = None,
    ) -> np.ndarray:
        """`count` segments of `length` bits at random offsets, disjoint within each group
        (`groups`: segment counts in draw order, summing to `count`; default one group)."""
        if count < 0 or length < 1:
            raise BitPoolError(f"need count >= 0 and length >= 1, got {count} and {length}")
        with self._lock:
            available = self.n_bits
            if available < length:
                raise BitPoolError(
                    f"the pool for p = {self.p_target:g} holds {available} bits, fewer than "
                    f"one stream of {length}"
                )
            offsets, overlapping = _offsets(available, count, length, rng, groups)
            segments = _cut_segments(self._words, offsets, length, tail_mask(length))
            self.drawn_segments += count
            self.drawn_bits += count * length
            self.overlapping_segments += overlapping
        return segments

    def check(self, where: str = "") -> None:
        """Refuse a pool whose measured P(1) is off its target beyond chance (see
        REFUSE_SIGMA: constant pools, swapped levels); warn on a milder doubt."""
        bits = self.bits()
        where = where or f"the pool for p = {self.p_target:g}"
        ones = int(np.count_nonzero(bits))
        if ones in (0, len(bits)):
            raise BitPoolError(
                f"{where}: all {len(bits)} bits are {int(ones > 0)}, not a stream with "
                f"P(1) = {self.p_target:g}"
            )
        p = ones / len(bits)
        n_eff = effective_bits(len(bits), autocorrelation(bits, 1))
        sigma = math.sqrt(self.p_target * (1 - self.p_target) / n_eff)
        excess = (abs(p - self.p_target) - TOLERANCE) / sigma
        figure = (
            f"{where}: measured P(1) = {p:.4f} over {len(bits)} bits, target "
            f"{self.p_target:g} ± {TOLERANCE:g} (σ = {sigma:.2g} with the lag-1 correlation)"
        )
        if excess > REFUSE_SIGMA:
            raise BitPoolError(f"{figure}: off by {excess:.0f} σ beyond the tolerance")
        if excess > WARN_SIGMA:
            log.warning("%s: off by %.1f σ beyond the tolerance", figure, excess)

    def stats(self) -> dict[str, float | int | None]:
        """Size, fill, measured p, overlap rate and reuse of this pool."""
        drawn = self.drawn_segments
        return {
            "p_target": self.p_target,
            "bias_v": self.bias_v,
            "n_bits": self.n_bits,
            "capacity_bits": self.capacity_bits,
            "fill": self.n_bits / self.capacity_bits,
            "appended_bits": self.appended,
            "p_measured": self.p_measured,
            "drawn_segments": drawn,
            "overlap_rate": self.overlapping_segments / drawn if drawn else 0.0,
            "reuse": self.drawn_bits / self.appended if self.appended else math.nan,
        }

    def copy(self) -> BitPool:
        """An independent pool with the same bits and counters."""
        with self._lock:
            twin = BitPool(self.p_target, 64, bias_v=self.bias_v)
            state = {key: value for key, value in vars(self).items() if key != "_lock"}
            vars(twin).update(state, _words=self._words.copy(), _pending=self._pending.copy())
        return twin

    def _held_words(self) -> np.ndarray:
        capacity = len(self._words) - 1
        if self._filled < capacity:
            return self._words[: self._filled].copy()
        return np.concatenate([self._words[self._cursor : capacity], self._words[: self._cursor]])


def _offsets(available: int, count: int, length: int, rng: np.random.Generator, groups=None):
    """Segment offsets, whole groups per round of disjoint slots; segments overlapping another
    of their own group (only a group bigger than one round has any)."""
    whole = np.array([count] if groups is None else groups, dtype=np.int64)
    if whole.sum() != count or (whole < 0).any():
        raise BitPoolError(f"groups of {whole.sum()} segments for a draw of {count}")
    sizes = whole.copy()  # what is still to draw of each group
    offsets = np.empty(count, dtype=np.int64)
    overlapping = drawn = group = 0
    split_from = None  # where the group being drawn over several rounds began
    while group < len(sizes):
        phase = int(rng.integers(0, min(length, available - length + 1)))
        slots = (available - phase) // length
        if sizes[group] > slots:  # an oversized group: one round's worth of it
            split_from = drawn if split_from is None else split_from
            size, sizes[group] = slots, sizes[group] - slots
            fits = 0
        else:  # as many whole (remaining) groups as the round has slots
            fits = int(np.searchsorted(np.cumsum(sizes[group:]), slots, side="right"))
            size = int(sizes[group : group + fits].sum())
        offsets[drawn : drawn + size] = phase + length * rng.choice(slots, size, replace=False)
        drawn += size
        if fits and split_from is not None:
            end = split_from + int(whole[group])
            overlapping += _overlapping(offsets[split_from:end], length)
            split_from = None
        group += fits
    return offsets, overlapping


def _overlapping(offsets: np.ndarray, length: int) -> int:
    """How many of these segments overlap another one."""
    ordered = np.sort(offsets)
    close = np.diff(ordered) < length
    hit = np.zeros(len(ordered), dtype=bool)
    hit[:-1] |= close
    hit[1:] |= close
    return int(hit.sum())


@numba.njit(cache=True, nogil=True, parallel=True)
def _cut_segments(pool: np.ndarray, offsets: np.ndarray, length: int, mask: np.uint64):
    words = (length + 63) // 64
    out = np.empty((offsets.size, words), dtype=np.uint64)
    for s in numba.prange(offsets.size):
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


class BitBank:
    """One `BitPool` per probability level; the SC engine's bit source."""

    name = "pool"

    def __init__(self, pools: Iterable[BitPool] = ()) -> None:
        self._pools: list[BitPool] = []
        for pool in pools:
            self.add(pool)

    def add(self, pool: BitPool) -> None:
        if self._find(pool.p_target) is not None:
            raise BitPoolError(f"the bank already has a pool for p = {pool.p_target:g}")
        self._pools.append(pool)
        self._pools.sort(key=lambda item: item.p_target)

    @property
    def levels(self) -> list[float]:
        return [pool.p_target for pool in self._pools]

    @property
    def pools(self) -> list[BitPool]:
        return list(self._pools)

    def pool(self, p: float) -> BitPool:
        """The pool serving probability `p`."""
        found = self._find(p)
        if found is None:
            have = ", ".join(f"{level:.6g}" for level in self.levels) or "none"
            raise BitPoolError(f"no bit pool for p = {p:.6g} (pools: {have})")
        return found

    def draw(
        self,
        p: float,
        count: int,
        length: int,
        rng: np.random.Generator,
        groups: Sequence[int] | None = None,
    ) -> np.ndarray:
        """`count` independent `length`-bit streams with P(1) = p, packed into uint64 words:
        shape (count, words_for(length)), trailing bits zero. p = 0 and 1 are constants.
        Streams of one group (for example one image's) never share bits when they fit the pool."""
        if p == 0 or p == 1:
            fill = np.uint64(0xFFFF_FFFF_FFFF_FFFF if p == 1 else 0)
            out = np.full((count, words_for(length)), fill, dtype=np.uint64)
            if count:
                out[:, -1] &= tail_mask(length)
            return out
        return self.pool(p).draw(count, length, rng, groups)

    def stats(self) -> list[dict]:
        return [pool.stats() for pool in self._pools]

    def copy(self) -> BitBank:
        """An independent bank with the same pools (bits and counters)."""
        twin = BitBank(pool.copy() for pool in self._pools)
        twin.name = self.name
        return twin

    def save(self, path: str | os.PathLike, **attrs: str | float) -> Path:
        """Write every pool to a bit-pool file (module docstring); extra file attributes."""
        path = Path(path)
        self._write(path, path, attrs)
        return path

    def to_bytes(self) -> bytes:
        """The bytes of the bit-pool file `save` would write (for tasks that run elsewhere)."""
        buffer = io.BytesIO()
        self._write(buffer, "bit pools", {})
        return buffer.getvalue()

    def _write(self, target: Path | io.BytesIO, where: str | os.PathLike, attrs: dict) -> None:
        try:
            with h5py.File(target, "w") as handle:
                handle.attrs["format"] = POOL_FORMAT
                handle.attrs["version"] = POOL_VERSION
                handle.attrs.update(attrs)
                group = handle.create_group("levels")
                for pool in self._pools:
                    bits = pool.bits()
                    dataset = group.create_dataset(f"p{pool.p_target:.6f}", data=pack_bits(bits))
                    dataset.attrs["p_target"] = pool.p_target
                    dataset.attrs["n_bits"] = len(bits)
                    dataset.attrs["p_measured"] = float(bits.mean()) if len(bits) else math.nan
                    if pool.bias_v is not None:
                        dataset.attrs["bias_v"] = pool.bias_v
        except OSError as error:
            raise BitPoolError(f"{where}: cannot write bit-pool file ({error})") from None

    @classmethod
    def load(cls, path: str | os.PathLike) -> BitBank:
        """Read a bit-pool file; any violation of the format is a BitPoolError naming it."""
        path = Path(path)
        if not path.is_file():
            raise BitPoolError(f"{path}: no such bit-pool file")
        return cls._read(path, path)

    @classmethod
    def from_bytes(cls, data: bytes, where: str | os.PathLike, *, check: bool = True) -> BitBank:
        """Read the bytes of a bit-pool file (`where` names it in errors). `check=False`
        skips each pool's level check (`BitPool.check`), for banks made off their levels on
        purpose; the format is checked as ever."""
        return cls._read(io.BytesIO(data), where, check)

    @classmethod
    def _read(
        cls, source: Path | io.BytesIO, path: str | os.PathLike, check: bool = True
    ) -> BitBank:
        bank = cls()
        try:
            with h5py.File(source, "r", locking=False) as handle:
                if _attr_text(handle, "format") != POOL_FORMAT:
                    raise BitPoolError(f"{path}: not a bit-pool file (format != {POOL_FORMAT!r})")
                if _attr_number(handle, "version") != POOL_VERSION:
                    raise BitPoolError(f"{path}: unsupported bit-pool version")
                group = handle.get("levels")
                if not isinstance(group, h5py.Group) or len(group) == 0:
                    raise BitPoolError(f"{path}: no 'levels' group with bit pools")
                for name, dataset in group.items():
                    bank.add(_read_level(f"{path}: levels/{name}", dataset, check))
        except OSError as error:
            raise BitPoolError(f"{path}: cannot read bit-pool file ({error})") from None
        return bank

    def _find(self, p: float) -> BitPool | None:
        for pool in self._pools:
            if abs(pool.p_target - p) <= LEVEL_TOLERANCE:
                return pool
        return None


def _read_level(where: str, dataset, check: bool = True) -> BitPool:
    if not isinstance(dataset, h5py.Dataset) or dataset.ndim != 1:
        raise BitPoolError(f"{where} is not a 1-D dataset")
    p_target = _attr_number(dataset, "p_target")
    if not 0 < p_target < 1:
        raise BitPoolError(f"{where} needs an attribute p_target strictly between 0 and 1")
    data = dataset[()]
    if data.dtype == np.uint8:
        if data.size and data.max() > 1:
            raise BitPoolError(f"{where}: uint8 bits must be 0 or 1")
        bits = data
    elif data.dtype == np.uint64:
        length = _attr_number(dataset, "n_bits")
        if (
            not math.isfinite(length)
            or length != int(length)
            or not 64 * (data.size - 1) < length <= 64 * data.size
        ):
            raise BitPoolError(f"{where}: n_bits {length:g} does not fit {data.size} words")
        bits = unpack_bits(data, int(length))
    else:
        raise BitPoolError(f"{where}: dtype {data.dtype}; want uint8 bits or packed uint64")
    if len(bits) < 64:
        raise BitPoolError(f"{where}: {len(bits)} bits are too few for a pool")
    bias = _attr_number(dataset, "bias_v") if "bias_v" in dataset.attrs else None
    if bias is not None and not math.isfinite(bias):
        raise BitPoolError(f"{where}: bias_v {bias} is not finite")
    pool = BitPool(p_target, len(bits), bias_v=bias)
    pool.append(bits)
    if check:
        pool.check(where)
    return pool


def _attr_text(node, key: str) -> str | None:
    """A text attribute, None when missing or not text."""
    value = node.attrs.get(key)
    if isinstance(value, bytes):
        value = value.decode(errors="replace")
    return value if isinstance(value, str) else None


def _attr_number(node, key: str) -> float:
    """A numeric attribute, NaN when missing or not a real number (so the caller's range
    check names it)."""
    value = node.attrs.get(key)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, int | float):
        return math.nan
    return float(value)
