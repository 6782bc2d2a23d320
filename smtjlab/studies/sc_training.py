"""Does training with SC beat training without it? (`smtjlab study sc-training`, issue 17)

For each paper configuration (1 or 3 hidden layers of 256, 5 or 11 states) and encoding, a
model is trained with SC noise at L and one without, for each training seed; each is evaluated
at L on ideal bits with several stream seeds. The comparison is paired by training seed: the
difference of the two models' accuracies (each the mean over stream seeds) for one seed is
one sample, and a one-sided paired t-test asks whether with-SC is better.

One task is one (configuration, encoding, training seed, mode): train (or take the model it
is given), then evaluate. The model's file travels as bytes both ways, so a task runs the same
in this process and on a Dask worker (smtjlab/tasks.py).
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from smtjlab.tasks import evaluate, sha256, weights_sha256

MODES = ("sc", "plain")


def train_config(config: dict):
    """The TrainConfig of a task's config (torch is not needed to build it)."""
    from smtjlab.inference.train_config import TrainConfig

    return TrainConfig(
        hidden=tuple(config["hidden"]),
        states=config["states"],
        encoding=config["encoding"],
        sc_length=config["length"] if config["training"] == "sc" else None,
        epochs=config["epochs"],
        seed=config["train_seed"],
        batch_size=config["batch_size"],
        lr=config["lr"],
    )


def recipe(config: dict) -> str:
    """The `smtjlab train` command of a task's model, without its -o: two models trained by
    the same recipe are the same model (training is deterministic, docs/accuracy.md)."""
    from smtjlab.commands.train import command_line

    words = command_line(train_config(config), "-", config["threads"]).removesuffix(" -o -")
    if config["train_images"] is not None:  # no option of `smtjlab train --method sc`
        words += f" (on the first {config['train_images']} training images)"
    return words


def train_and_score(config: dict, model: bytes | None = None) -> dict:
    """Train the task's model (unless `model`, a checkpoint's bytes, is given), then its
    deterministic accuracy and its accuracy at each evaluation length for each stream seed.

    config: hidden, states, encoding, training ("sc" | "plain"), length (of SC training, and
    of evaluation unless `lengths` lists others), epochs, train_seed, batch_size, lr,
    train_images (None: all), threads (torch's), images, stream_seeds. The result holds the
    config, the model's bytes (`checkpoint`, when trained here), its digests, and one row per
    (length, stream seed)."""
    from smtjlab.inference.checkpoint import checkpoint_from_bytes
    from smtjlab.inference.engine import deterministic_scores
    from smtjlab.inference.mnist import load_mnist

    trained = model is None
    if trained:
        model = _train(config)
    checkpoint = checkpoint_from_bytes(model, "study model")
    images, labels = load_mnist("test")
    images, labels = images[: config["images"]], labels[: config["images"]]
    deterministic = float((deterministic_scores(checkpoint, images).argmax(1) == labels).mean())
    rows = []
    for length in config.get("lengths", [config["length"]]):
        for seed in config["stream_seeds"]:
            cell = {
                "model": "study model",
                "length": length,
                "seed": seed,
                "images": config["images"],
                "bits": "ideal",
            }
            scored = evaluate(cell, model)
            rows.append(
                {
                    "length": length,
                    "stream_seed": seed,
                    "correct": scored["correct"],
                    "accuracy": scored["accuracy"],
                }
            )
    return {
        "config": config,
        "checkpoint": model if trained else None,
        "model_sha256": sha256(model),
        "weights_sha256": weights_sha256(checkpoint),
        "deterministic_accuracy": deterministic,
        "rows": rows,
    }


def _train(config: dict) -> bytes:
    from smtjlab.inference.checkpoint import save_checkpoint
    from smtjlab.inference.mnist import load_mnist
    from smtjlab.inference.train import to_checkpoint, train_model

    train = train_config(config)
    images, labels = load_mnist("train")
    count = config["train_images"] or len(images)
    model = train_model(train, images[:count], labels[:count], threads=config["threads"])
    checkpoint = to_checkpoint(model, train, float("nan"), recipe(config))
    with tempfile.TemporaryDirectory() as folder:  # np.savez writes to a path
        return save_checkpoint(checkpoint, Path(folder) / "model.npz").read_bytes()


def paired_one_sided(with_sc: list[float], without_sc: list[float]) -> dict[str, Any]:
    """Paired comparison of two lists (one value per training seed): the differences' mean
    and sample standard deviation, and the one-sided paired t-test of "with > without"."""
    from scipy import stats

    differences = np.asarray(with_sc, float) - np.asarray(without_sc, float)
    n = len(differences)
    sd = float(np.std(differences, ddof=1)) if n > 1 else math.nan
    if n > 1 and sd > 0:
        test = stats.ttest_rel(with_sc, without_sc, alternative="greater")
        t, p = float(test.statistic), float(test.pvalue)
    else:  # no spread: the t statistic is undefined, and so is its p-value
        t = p = math.nan
    return {"n": n, "mean": float(differences.mean()), "sd": sd, "t": t, "p": p}


def summarize(results: list[dict]) -> list[dict]:
    """One row per (encoding, hidden, states): with and without SC over the training seeds."""
    groups: dict[tuple, dict[str, dict[int, dict]]] = {}
    for result in results:
        config = result["config"]
        key = (config["encoding"], tuple(config["hidden"]), config["states"])
        mean = float(np.mean([row["accuracy"] for row in result["rows"]]))
        groups.setdefault(key, {mode: {} for mode in MODES})[config["training"]][
            config["train_seed"]
        ] = {"accuracy": mean, "deterministic": result["deterministic_accuracy"]}
    summary = []
    for (encoding, hidden, states), by_mode in groups.items():
        seeds = sorted(set(by_mode["sc"]) & set(by_mode["plain"]))  # the pairs
        sc = [100 * by_mode["sc"][seed]["accuracy"] for seed in seeds]
        plain = [100 * by_mode["plain"][seed]["accuracy"] for seed in seeds]
        noise = [
            100 * (by_mode["plain"][seed]["deterministic"] - by_mode["plain"][seed]["accuracy"])
            for seed in seeds
        ]
        summary.append(
            {
                "encoding": encoding,
                "hidden": list(hidden),
                "states": states,
                "train_seeds": seeds,
                "with_sc": mean_sd(sc),
                "without_sc": mean_sd(plain),
                "difference": paired_one_sided(sc, plain),
                "plain_noise_cost": mean_sd(noise),
            }
        )
    return summary


def mean_sd(values: list[float]) -> dict[str, float]:
    """The mean and the sample standard deviation (NaN for fewer than two values)."""
    return {
        "mean": float(np.mean(values)) if values else math.nan,
        "sd": float(np.std(values, ddof=1)) if len(values) > 1 else math.nan,
    }
