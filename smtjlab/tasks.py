"""Pure tasks (DESIGN §5.6): (configuration, seed) -> result rows, every input named in the row.

A task receives the files it reads as bytes (a checkpoint, a bit-pool file), never a pickled
engine, and names them in its rows by SHA-256; MNIST comes from the worker's own installation
(the first `images` test images, the first `train_images` training images). So a task gives the
same rows in this process, on a local cluster and on a remote worker.

- `evaluate`: one model at one length and seed -> one row (a cell of `smtjlab table`).
- `train_and_evaluate`: train one configuration, then evaluate it at every length -> one row
  per length (a point of `smtjlab sweep`).
"""

from __future__ import annotations

import functools
import hashlib
import os
from typing import Any

BATCH = 500


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def weights_sha256(checkpoint: Any) -> str:
    """SHA-256 of what a model computes with: each layer's weights, scale and bias, in order.

    A checkpoint file's own bytes also hold a zip timestamp, so they differ between two saves
    of the same model; this digest does not."""
    digest = hashlib.sha256(f"{checkpoint.states} {checkpoint.encoding.value}".encode())
    for layer in checkpoint.layers:
        for array in (layer.weights, layer.scale, layer.bias):
            digest.update(array.tobytes())
    return digest.hexdigest()


def evaluate(config: dict, model: bytes, pool: bytes | None = None) -> dict:
    """Accuracy of `model` (checkpoint bytes) on the SC engine.

    config: model (its name), length, seed, images, bits ("ideal", or the name of the
    bit-pool file whose bytes are `pool`). The row adds model_sha256, weights_sha256, what the
    checkpoint says of itself (hidden, states, encoding, training, sc_length, epochs),
    bits_sha256, correct, accuracy and pool_stats (the draws from each pool, [] for ideal)."""
    checkpoint = _checkpoint(model, config["model"])
    row = _evaluate(checkpoint, config, config["length"], pool)
    return {
        **config,
        "model_sha256": sha256(model),
        "weights_sha256": weights_sha256(checkpoint),
        "hidden": list(checkpoint.hidden),
        "states": checkpoint.states,
        "encoding": checkpoint.encoding.value,
        "training": checkpoint.train_mode,
        "sc_length": checkpoint.train_sc_length,
        "epochs": checkpoint.train_epochs,
        **row,
    }


def train_and_evaluate(config: dict, pool: bytes | None = None) -> list[dict]:
    """Train a model from `config`, then evaluate it at each of `config["lengths"]`.

    config: hidden (widths), states, encoding, training ("plain" or "sc"), sc_length (the L
    SC training runs at), epochs, seed (of training and of stream placement), train_images,
    images, lengths, bits. Each row is the config with one length, plus weights_sha256, the
    deterministic (L = ∞) accuracy, correct and accuracy."""
    from smtjlab.inference.engine import deterministic_scores
    from smtjlab.inference.mnist import load_mnist
    from smtjlab.inference.train import to_checkpoint, train_model
    from smtjlab.inference.train_config import TrainConfig

    train = TrainConfig(
        hidden=tuple(config["hidden"]),
        states=config["states"],
        encoding=config["encoding"],
        sc_length=config["sc_length"] if config["training"] == "sc" else None,
        epochs=config["epochs"],
        seed=config["seed"],
    )
    images, labels = load_mnist("train")
    model = train_model(train, images[: config["train_images"]], labels[: config["train_images"]])
    test_images, test_labels = _test_images(config["images"])
    checkpoint = to_checkpoint(model, train, float("nan"))
    deterministic = float(
        (deterministic_scores(checkpoint, test_images).argmax(1) == test_labels).mean()
    )
    common = {key: value for key, value in config.items() if key != "lengths"}
    rows = []
    for length in config["lengths"]:
        row = _evaluate(checkpoint, config, length, pool)
        del row["pool_stats"]
        rows.append(
            {
                **common,
                "length": length,
                "weights_sha256": weights_sha256(checkpoint),
                "deterministic_accuracy": deterministic,
                **row,
            }
        )
    return rows


def _evaluate(checkpoint: Any, config: dict, length: int, pool: bytes | None) -> dict:
    from smtjlab.inference.bitsource import IdealBits
    from smtjlab.inference.engine import ScEngine

    images, labels = _test_images(config["images"])
    # each task draws from its own copy, so its pool statistics are its own
    bits = IdealBits() if pool is None else _bank(pool, config["bits"]).copy()
    engine = ScEngine(checkpoint, length, bits=bits, seed=config["seed"])
    correct = int((engine.predict(images, batch_size=BATCH) == labels).sum())
    return {
        "bits_sha256": "" if pool is None else sha256(pool),
        "correct": correct,
        "accuracy": correct / len(images),
        "pool_stats": bits.stats() if pool is not None else [],
    }


# A worker runs many tasks on the same files: each is read and checked once per process. The
# cached objects are only read (the engine copies what it keeps; a bank is copied per task).


@functools.lru_cache(maxsize=16)
def _checkpoint(model: bytes, name: str) -> Any:
    from smtjlab.inference.checkpoint import checkpoint_from_bytes

    return checkpoint_from_bytes(model, name)


@functools.lru_cache(maxsize=4)
def _bank(pool: bytes, name: str) -> Any:
    from smtjlab.acquisition.pool import BitBank

    return BitBank.from_bytes(pool, name)


@functools.lru_cache(maxsize=2)
def _test_set(folder: str | None):
    from smtjlab.inference.mnist import load_mnist

    return load_mnist("test", folder)


def _test_images(count: int):
    from smtjlab.inference.mnist import ENV_FOLDER

    images, labels = _test_set(os.environ.get(ENV_FOLDER) or None)
    return images[:count], labels[:count]
