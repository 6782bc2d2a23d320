"""What real devices cost: accuracy under non-ideal bits (`smtjlab study nonideal`, issue 17).

Each non-ideality is a bit bank made on purpose, one pool per device level, every other
property ideal (independent Bernoulli bits at the exact level):

- `correlation`: bits sampled every Δt from a two-state Markov process of correlation time
  τc, so the lag-1 autocorrelation is ρ = exp(-Δt/τc) (DESIGN §3); the value is Δt/τc.
- `level_error`: each level lands off its target by the calibration tolerance δ, up or down
  at random (the value is δ).
- `drift`: each level's P(1) drifts linearly by ±d over the recording, up or down at random;
  streams cut at random offsets see every part of it (the value is d).
- `pool_bits`: pools of only this many bits, so streams reuse the same bits many times.

One task is one (model, non-ideality, value, seed): build the bank, classify the test images.
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


def level_bits(p: float, kind: str, value: float, rng: np.random.Generator) -> np.ndarray:
    """The bits of one level's pool under one non-ideality."""
    if kind == "correlation":
        return markov_bits(p, math.exp(-value), POOL_BITS, rng)
    if kind == "pool_bits":
        return (rng.random(int(value)) < p).astype(np.uint8)
    direction = rng.choice((-1.0, 1.0))
    if kind == "level_error":
        actual = np.full(POOL_BITS, p + direction * value)
    elif kind == "drift":
        actual = p + direction * value * np.linspace(-1.0, 1.0, POOL_BITS)
    else:
        raise ValueError(f"unknown non-ideality {kind!r}; use one of {', '.join(SWEEPS)}")
    return (rng.random(POOL_BITS) < np.clip(actual, 0.0, 1.0)).astype(np.uint8)


def nonideal_bank(levels: list[float], kind: str, value: float, seed: int):
    """A BitBank with one pool per level, made under the non-ideality (kind, value)."""
    from smtjlab.acquisition.pool import BitBank, BitPool

    rng = np.random.default_rng(seed)
    bank = BitBank()
    for p in levels:
        bits = level_bits(p, kind, value, rng)
        pool = BitPool(p, capacity_bits=len(bits))
        pool.append(bits)
        bank.add(pool)
    return bank


def accuracy_under(config: dict, model: bytes) -> dict:
    """Accuracy of `model` (checkpoint bytes) at config["length"] under one non-ideality.

    config: model (its name), kind ("ideal" or a key of SWEEPS), value, seed, images, length.
    """
    from smtjlab.inference.bitsource import IdealBits
    from smtjlab.inference.checkpoint import checkpoint_from_bytes
    from smtjlab.inference.engine import ScEngine, device_levels
    from smtjlab.inference.mnist import load_mnist

    checkpoint = checkpoint_from_bytes(model, config["model"])
    if config["kind"] == "ideal":
        bits = IdealBits()
    else:
        bits = nonideal_bank(
            device_levels(checkpoint), config["kind"], config["value"], config["seed"]
        )
    images, labels = load_mnist("test")
    images, labels = images[: config["images"]], labels[: config["images"]]
    engine = ScEngine(checkpoint, config["length"], bits=bits, seed=config["seed"])
    correct = int((engine.predict(images) == labels).sum())
    return {**config, "correct": correct, "accuracy": correct / len(images)}


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
