"""What a bench's bits really carry, level by level: the device profile (issue 17).

Device-aware training (smtjlab.inference.model.DeviceNoise) is fed with what the bits measured,
not with the ideal values. For each level of a `BitBank` the profile holds:

- `p_measured`: the fraction of ones in the level's pool, the mean of every stream cut from
  it, so the level the network really gets instead of its target `p_target`;
- `lag1`: the lag-1 autocorrelation ρ of the pool's bits. Bits of a telegraph process sampled
  every Δt form a Markov chain (lag k has ρ^k, DESIGN §3), so the variance of an L-bit mean is
  the independent one times `variance_factor(ρ, L)` (smtjlab.acquisition.bitstream).

Profile files (JSON): `format = "smtjlab.device-profile"`, `version = 1`, `source`
("measured", "synthetic" or ""), `levels`: a list of `{p_target, p_measured, lag1, n_bits}`,
and `meta` (free-form: the bench, its settings).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from smtjlab.acquisition.bitstream import autocorrelation
from smtjlab.acquisition.calibration import versioned_json
from smtjlab.acquisition.pool import LEVEL_TOLERANCE, BitBank

from smtjlab.errors import SmtjlabError

PROFILE_FORMAT = "smtjlab.device-profile"
PROFILE_VERSION = 1


class ProfileError(SmtjlabError):
    """A profile that cannot be measured, a level it lacks, or a bad profile file."""


@dataclass(frozen=True)
class LevelProfile:
    p_target: float
    p_measured: float
    lag1: float
    n_bits: int


@dataclass(frozen=True)
class DeviceProfile:
    levels: tuple[LevelProfile, ...]
    source: str = ""
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        for level in self.levels:
            _check_level(level, "device profile")

    @classmethod
    def ideal(cls, levels: Iterable[float]) -> DeviceProfile:
        """Every level exactly at its target with independent bits (the ideal noise model)."""
        return cls(tuple(LevelProfile(float(p), float(p), 0.0, 0) for p in sorted(levels)))

    def level(self, p: float) -> LevelProfile:
        """The measured figures of level `p` (within LEVEL_TOLERANCE of its target)."""
        for level in self.levels:
            if abs(level.p_target - p) <= LEVEL_TOLERANCE:
                return level
        have = ", ".join(f"{level.p_target:.6g}" for level in self.levels) or "none"
        raise ProfileError(f"the device profile has no level p = {p:.6g} (levels: {have})")

    def to_json(self) -> str:
        document = {
            "format": PROFILE_FORMAT,
            "version": PROFILE_VERSION,
            "source": self.source,
            "levels": [asdict(level) for level in self.levels],
            "meta": self.meta,
        }
        return json.dumps(document, indent=1)

    @classmethod
    def from_json(cls, text: str, where: str = "device profile") -> DeviceProfile:
        """Parse `to_json`'s text; anything else is a ProfileError naming `where`."""
        document = versioned_json(
            text, where, PROFILE_FORMAT, PROFILE_VERSION, "device profile", ProfileError
        )
        try:
            levels = tuple(
                LevelProfile(
                    float(item["p_target"]),
                    float(item["p_measured"]),
                    float(item["lag1"]),
                    int(item["n_bits"]),
                )
                for item in document["levels"]
            )
            source, meta = str(document.get("source", "")), dict(document.get("meta", {}))
        except (KeyError, TypeError, ValueError) as error:
            raise ProfileError(f"{where}: malformed device profile ({error!r})") from None
        for level in levels:
            _check_level(level, where)
        return cls(levels, source, meta)

    def save(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        path.write_text(self.to_json() + "\n")
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> DeviceProfile:
        path = Path(path)
        try:
            text = path.read_text()
        except OSError as error:
            raise ProfileError(f"{path}: cannot read device profile ({error.strerror})") from None
        return cls.from_json(text, str(path))


def measure_profile(bank: BitBank, source: str = "", meta: dict | None = None) -> DeviceProfile:
    """Every pool's measured P(1) and lag-1 autocorrelation, over all the bits it holds."""
    levels = []
    for pool in bank.pools:
        bits = pool.bits()
        ones = int(np.count_nonzero(bits))
        if ones in (0, len(bits)):
            raise ProfileError(
                f"the pool for p = {pool.p_target:g}: all {len(bits)} bits are {int(ones > 0)}; "
                "no correlation to measure"
            )
        levels.append(
            LevelProfile(pool.p_target, ones / len(bits), autocorrelation(bits, 1), len(bits))
        )
    if not levels:
        raise ProfileError("the bit bank has no pools to profile")
    return DeviceProfile(tuple(levels), source, dict(meta or {}))


def _check_level(level: LevelProfile, where: str) -> None:
    """Levels strictly inside (0, 1) and a correlation strictly inside (−1, 1)."""
    figures = (level.p_target, level.p_measured, level.lag1)
    if not all(math.isfinite(value) for value in figures) or not (
        0 < level.p_target < 1 and 0 < level.p_measured < 1 and abs(level.lag1) < 1
    ):
        raise ProfileError(
            f"{where}: level p = {level.p_target:g} has p_measured {level.p_measured:g} and "
            f"lag1 {level.lag1:g}; want levels inside (0, 1) and |lag1| < 1"
        )
