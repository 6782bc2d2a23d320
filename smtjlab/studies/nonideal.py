"""What real devices cost: accuracy under non-ideal bits (`smtjlab study nonideal`, issue 17).

Each non-ideality is a bit bank made on purpose, one pool per device level, from one of two
sources. `synthetic` banks have every other property ideal (independent Bernoulli bits at the
exact level):

- `correlation`: bits sampled every Δt from a two-state Markov process of correlation time
  τc, so the lag-1 autocorrelation is ρ = exp(-Δt/τc) (DESIGN §3); the value is Δt/τc.
- `level_error`: each level lands off its target by the calibration tolerance δ, up or down
  at random (the value is δ).
- `drift`: each level's P(1) drifts linearly by ±d over the recording, up or down at random;
  streams cut at random offsets see every part of it (the value is d).
- `pool_bits`: pools of only this many bits, so streams reuse the same bits many times.

`mock bench` banks come from the mock bench (`smtjlab.bench.mock_bit_bank`: calibrated, then
filled from digitized telegraph records), with one knob turned: the bits' interval Δt/τc
(`correlation`; the bench's default is 2), a calibration off by ±δ (`level_error`), or
`pool_bits` per level. Drift is synthetic only: the mock device has no drifting level (its
`drift_fraction` moves the readout baseline, not the occupancy).

Every bank's measured lag-1 correlation and level error go into its rows. One task is one
(model, source, non-ideality, value, seed): classify the test images on that bank.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

POOL_BITS = 1 << 20  # the table's pool size (docs/accuracy.md)
SWEEPS: dict[str, tuple[float, ...]] = {
    "correlation": (0.25, 0.5, 1.0, 2.0, 4.0),
    "level_error": (0.002, 0.005, 0.01, 0.02, 0.05),
    "drift": (0.002, 0.005, 0.01, 0.02, 0.05),
    "pool_bits": (1 << 8, 1 << 10, 1 << 12, 1 << 14, 1 << 16),
}
BENCH_KINDS = ("correlation", "level_error", "pool_bits")  # the mock bench's knobs
SOURCES = ("synthetic", "mock bench")
IMPROVING = {"correlation", "pool_bits"}  # the larger the value, the better the bits
LABELS = {
    "correlation": "bit interval Δt/τc (lag-1 correlation exp(-Δt/τc))",
    "level_error": "level error δ (calibration tolerance)",
    "drift": "drift ±d of each level over the run",
    "pool_bits": "bits per pool",
}


def markov_bits(p: float, rho: float, count: int, rng: np.random.Generator) -> np.ndarray:
    """`count` bits of a two-state Markov chain with P(1) = p and lag-1 autocorrelation rho.

    The chain leaves 1 with probability (1-p)(1-rho) and 0 with p(1-rho), so its runs are
    geometric; drawing whole runs keeps this vectorized."""
    leave_one, leave_zero = (1 - p) * (1 - rho), p * (1 - rho)
    # enough runs for `count` bits with room to spare: the mean run pair is 1/l1 + 1/l0
    pairs = int(count / (1 / leave_one + 1 / leave_zero) * 1.2) + 16
    ones = rng.geometric(leave_one, pairs)
    zeros = rng.geometric(leave_zero, pairs)
    first = int(rng.random() < p)  # start in the stationary distribution
    runs = np.stack([ones, zeros] if first else [zeros, ones], axis=1).ravel()
    values = np.tile(np.array([first, 1 - first], dtype=np.uint8), pairs)
    bits = np.repeat(values, runs)
    if len(bits) < count:  # vanishingly rare: more runs
        return np.concatenate([bits, markov_bits(p, rho, count - len(bits), rng)])
    return bits[:count]


def level_bits(
    p: float, kind: str, value: float, rng: np.random.Generator, pool_bits: int = POOL_BITS
) -> np.ndarray:
    """The bits of one level's pool (`pool_bits` of them) under one non-ideality."""
    if kind == "correlation":
        return markov_bits(p, math.exp(-value), pool_bits, rng)
    if kind == "pool_bits":
        return (rng.random(int(value)) < p).astype(np.uint8)
    direction = rng.choice((-1.0, 1.0))
    if kind == "level_error":
        actual = np.full(pool_bits, p + direction * value)
    elif kind == "drift":
        actual = p + direction * value * np.linspace(-1.0, 1.0, pool_bits)
    else:
        raise ValueError(f"unknown non-ideality {kind!r}; use one of {', '.join(SWEEPS)}")
    return (rng.random(pool_bits) < np.clip(actual, 0.0, 1.0)).astype(np.uint8)


def nonideal_bank(
    levels: list[float], kind: str, value: float, seed: int, pool_bits: int = POOL_BITS
):
    """A synthetic BitBank with one pool per level, made under the non-ideality (kind, value)."""
    from smtjlab.acquisition.pool import BitBank, BitPool

    rng = np.random.default_rng(seed)
    bank = BitBank()
    for p in levels:
        bits = level_bits(p, kind, value, rng, pool_bits)
        pool = BitPool(p, capacity_bits=len(bits))
        pool.append(bits)
        bank.add(pool)
    return bank


def bench_bank(levels: list[float], kind: str, value: float, seed: int, pool_bits: int = POOL_BITS):
    """A BitBank filled by the mock bench (seeded) with one knob turned to (kind, value)."""
    from smtjlab.bench import mock_bit_bank

    knobs = {
        "correlation": {"spacing": value},
        "level_error": {"level_error": value},
        "pool_bits": {"bits_per_level": int(value)},
    }
    if kind not in knobs:
        raise ValueError(f"the mock bench has no {kind!r} knob; use one of {', '.join(knobs)}")
    return mock_bit_bank(levels, **{"bits_per_level": pool_bits, "seed": seed, **knobs[kind]})


def bank_measures(bank) -> dict[str, float | None]:
    """What a bank's bits are: the mean lag-1 correlation of its pools and the largest
    |P(1) − target| (None for ideal bits, which have no bank)."""
    from smtjlab.acquisition.bitstream import autocorrelation

    if bank is None:
        return {"measured_lag1": None, "measured_level_error": None}
    pools = bank.pools
    return {
        "measured_lag1": float(np.mean([autocorrelation(pool.bits(), 1) for pool in pools])),
        "measured_level_error": max(abs(pool.p_measured - pool.p_target) for pool in pools),
    }


def accuracy_under(config: dict, model: bytes, bank: bytes | None = None) -> dict:
    """Accuracy of `model` (checkpoint bytes) at config["length"] under one non-ideality.

    config: model (its name), bits (a SOURCES name), kind ("ideal" or a key of SWEEPS),
    value, seed, images, length, pool_bits. A mock-bench task gets its bank's bytes
    (bit-pool file bytes, filled once in the parent process); a synthetic one makes its own. The
    row adds the bank's measured lag-1 correlation and level error (`bank_measures`).
    """
    from smtjlab.inference.bitsource import IdealBits
    from smtjlab.inference.checkpoint import checkpoint_from_bytes
    from smtjlab.inference.engine import ScEngine, device_levels
    from smtjlab.inference.mnist import load_mnist

    checkpoint = checkpoint_from_bytes(model, config["model"])
    if config["kind"] == "ideal":
        made = None
    elif bank is not None:
        from smtjlab.acquisition.pool import BitBank

        # off its levels on purpose: the pool check would refuse it
        made = BitBank.from_bytes(bank, "mock bench bank", check=False)
    else:
        made = nonideal_bank(
            device_levels(checkpoint),
            config["kind"],
            config["value"],
            config["seed"],
            config["pool_bits"],
        )
    images, labels = load_mnist("test")
    images, labels = images[: config["images"]], labels[: config["images"]]
    bits = IdealBits() if made is None else made
    engine = ScEngine(checkpoint, config["length"], bits=bits, seed=config["seed"])
    correct = int((engine.predict(images) == labels).sum())
    return {
        **config,
        **bank_measures(made),
        "correct": correct,
        "accuracy": correct / len(images),
    }


def crossing(kind: str, values: list[float], losses: list[float], loss: float) -> float | None:
    """The value at which the model first loses `loss` points as the bits get worse (from
    the ideal end of the grid: the largest value for `correlation` and `pool_bits`, the
    smallest for the others), interpolated in log(value); None if the grid never gets there."""
    pairs = sorted(zip(values, losses, strict=True), reverse=kind in IMPROVING)
    for (v0, l0), (v1, l1) in itertools.pairwise(pairs):
        if l0 < loss <= l1:
            t = (loss - l0) / (l1 - l0)
            return float(math.exp(math.log(v0) + t * (math.log(v1) - math.log(v0))))
    if pairs and pairs[0][1] >= loss:
        return float(pairs[0][0])  # already lost at the grid's best value
    return None
