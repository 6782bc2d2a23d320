"""Device-aware training on a deliberately poor mock device (`smtjlab study device-aware`).

Issue 17: fine-tune a model against what a calibrated bench measured (each level's P(1) and
the lag-1 autocorrelation of its bits, smtjlab.acquisition.profile), not the ideal values, and
say how much of the non-ideal loss that wins back.

The poor device is the mock bench (its bits are labelled synthetic) run badly on purpose:

- levels off target: each level k is calibrated for p_k ± δ instead of p_k, with a loose
  tolerance on few bits, and its pool is then served as level p_k. With `level_signs =
  "common"` every level is off by the same +δ or −δ (the sign random per seed), as when the
  device's V50 has moved since it was calibrated; with "random" each level has its own sign
  (the errors then partly cancel in the sums);
- correlated bits: the bench takes its bits every `spacing`·τc (0.5: lag-1 ρ ≈ e^-0.5 ≈ 0.6)
  instead of 2τc.

One task is one (model, seed). Seed s makes the mock world, the level signs, the fine-tuning
(its batch order and noise) and the engine's streams. The task reports the accuracy at L of

- the shipped model on ideal bits and on the poor device's bits;
- `device-aware`: the shipped model fine-tuned for `epochs` epochs (lower lr) with the noise
  model fed with the poor device's profile (DeviceNoise), on the poor device's bits and on
  ideal ones;
- `ideal-aware` (the control): the same fine-tuning with the ideal SC noise model, on the poor
  device's bits: what more training alone wins back;

and the win-back share (tuned − poor)/(ideal − poor) of each fine-tuned model.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from smtjlab.studies.sc_training import mean_sd

TUNED = ("device-aware", "ideal-aware")  # the two fine-tunings, device-aware first
DEFAULTS = {
    "length": 100,
    "epochs": 3,
    "lr": 3e-3,
    "batch_size": 200,
    "level_error": 0.01,
    "level_signs": "common",
    "spacing": 0.5,
    "tolerance": 0.02,
    "verify_bits": 5000,
    "sweep_bits": 5000,
    "bits_per_level": 1 << 20,
}
# what makes the poor device (the rest of DEFAULTS is the fine-tuning's)
LEVEL_SIGNS = ("common", "random")
DEVICE_KEYS = (
    "level_error",
    "level_signs",
    "spacing",
    "tolerance",
    "verify_bits",
    "sweep_bits",
    "bits_per_level",
)


def poor_bank(levels: list[float], config: dict, limits=None):
    """The poor mock device's BitBank, one pool per level (module docstring).

    config: seed and DEVICE_KEYS; `limits` are the mock station's bias limits (the default
    ones ramp at 0.5 V/s, which is most of the time a bank takes)."""
    from smtjlab.bench import mock_bit_bank

    return mock_bit_bank(
        levels,
        bits_per_level=config["bits_per_level"],
        seed=config["seed"],
        spacing=config["spacing"],
        level_error=config["level_error"],
        level_signs=config["level_signs"],
        limits=limits,
        tolerance=config["tolerance"],
        verify_bits=config["verify_bits"],
        sweep_bits=config["sweep_bits"],
    )


def run_seed(config: dict, model: bytes) -> dict:
    """One (model, seed): the poor device, its profile, both fine-tunings and every accuracy.

    config: model (its name), seed, length, images, train_images (None: all), threads, and
    the keys of DEFAULTS. `model` is the shipped checkpoint's bytes. The result holds `row`
    (the CSV row), `profile` (the device's, as a dict) and `checkpoint` (the device-aware
    model, a Checkpoint).
    """
    from smtjlab.acquisition.profile import measure_profile
    from smtjlab.inference.bitsource import IdealBits
    from smtjlab.inference.checkpoint import checkpoint_from_bytes
    from smtjlab.inference.engine import device_levels
    from smtjlab.inference.mnist import load_mnist
    from smtjlab.inference.model import DeviceNoise
    from smtjlab.inference.train import fine_tune

    shipped = checkpoint_from_bytes(model, config["model"])
    bank = poor_bank(device_levels(shipped), config)
    profile = measure_profile(
        bank,
        source="synthetic",
        meta={key: config[key] for key in ("seed", *DEVICE_KEYS)},
    )
    all_images, all_labels = load_mnist("test")  # all 10k for deterministic accuracies
    test_images, test_labels = all_images[: config["images"]], all_labels[: config["images"]]
    train_images, train_labels = load_mnist("train")
    count = config["train_images"] or len(train_images)

    def accuracy(checkpoint, bits) -> float:
        from smtjlab.inference.engine import ScEngine

        engine = ScEngine(checkpoint, config["length"], bits=bits, seed=config["seed"])
        return float((engine.predict(test_images) == test_labels).mean())

    row = {
        "model": config["model"],
        "encoding": shipped.encoding.value,
        "hidden": "-".join(map(str, shipped.hidden)),
        "seed": config["seed"],
        "length": config["length"],
        "images": len(test_images),
        "ideal": accuracy(shipped, IdealBits()),
        "poor": accuracy(shipped, bank),
    }
    device = DeviceNoise(
        profile, shipped.encoding, shipped.states, config["length"], shipped.input_8bit
    )
    tuned = {}
    for mode in TUNED:
        train = _train_config(shipped, config)
        net = fine_tune(
            shipped,
            train,
            train_images[:count],
            train_labels[:count],
            device if mode == "device-aware" else None,
            threads=config["threads"],
        )
        tuned[mode] = _checkpoint(
            net, train, device if mode == "device-aware" else None, config, all_images, all_labels
        )
        row[f"{mode}_poor"] = accuracy(tuned[mode], bank)
        if mode == "device-aware":
            row[f"{mode}_ideal"] = accuracy(tuned[mode], IdealBits())
    for mode in TUNED:
        row[f"{mode}_winback"] = winback(row["ideal"], row["poor"], row[f"{mode}_poor"])
    for level in profile.levels:
        row[f"p{level.p_target:g}_measured"] = level.p_measured
        row[f"p{level.p_target:g}_lag1"] = level.lag1
    return {
        "row": row,
        "profile": {
            "levels": [vars(level) for level in profile.levels],
            "source": profile.source,
        },
        "checkpoint": tuned["device-aware"],
    }


def _train_config(shipped, config: dict):
    from smtjlab.inference.train_config import TrainConfig

    return TrainConfig(
        hidden=shipped.hidden,
        states=shipped.states,
        encoding=shipped.encoding,
        sc_length=config["length"],
        epochs=config["epochs"],
        seed=config["seed"],
        batch_size=config["batch_size"],
        lr=config["lr"],
        input_8bit=shipped.input_8bit,
    )


def _checkpoint(net, train, device, config: dict, images, labels):
    """The fine-tuned model as a checkpoint, its deterministic accuracy on `images` (all 10k)."""
    from smtjlab.inference.engine import deterministic_scores
    from smtjlab.inference.train import to_checkpoint

    draft = to_checkpoint(net, train, math.nan, device=device)
    exact = float((np.argmax(deterministic_scores(draft, images), axis=1) == labels).mean())
    mode = "device-aware" if device is not None else "ideal-aware"
    command = (
        f"smtjlab study device-aware: {mode} fine-tuning of {config['model']} for "
        f"{train.epochs} epochs at lr {train.lr:g}, seed {train.seed}, L = {train.sc_length}"
    )
    return replace(draft, test_accuracy=exact, train_command=command)


def winback(ideal: float, poor: float, tuned: float) -> float:
    """The share of the non-ideal loss a tuned model wins back: (tuned − poor)/(ideal − poor);
    NaN when the poor device lost nothing."""
    loss = ideal - poor
    return (tuned - poor) / loss if loss > 0 else math.nan


def summarize(rows: list[dict]) -> list[dict]:
    """Per model: mean and sd over seeds of every accuracy and win-back."""
    keys = ["ideal", "poor", *(f"{mode}_poor" for mode in TUNED), "device-aware_ideal"]
    keys += [f"{mode}_winback" for mode in TUNED]
    summary = []
    for model in dict.fromkeys(row["model"] for row in rows):
        mine = [row for row in rows if row["model"] == model]
        stats = {}
        for key in keys:
            values = [float(row[key]) for row in mine]
            stats[key] = {**mean_sd(values), "values": values}
        summary.append({"model": model, "seeds": [row["seed"] for row in mine], **stats})
    return summary
