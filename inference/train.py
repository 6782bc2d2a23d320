"""Quantization-aware training of the SC-MLP, with or without SC sampling noise.

Without SC the forward pass is the deterministic quantized network (straight-through
estimators for every rounding). With SC (`sc_length=L`) every layer's sum also carries the
Gaussian sampling noise of the encoding at length L, with its exact variance (model.py).
Everything runs on the CPU with 2 threads and fixed seeds, so a run is reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import numpy as np
import torch
from smtjlab.inference.checkpoint import Checkpoint, Layer
from smtjlab.inference.model import ScMlp
from smtjlab.inference.quantize import pixel_levels
from smtjlab.inference.train_config import TrainConfig

THREADS = 2


def input_values(images: np.ndarray, config: TrainConfig) -> torch.Tensor:
    """Network input values (n, 784) float32 for uint8 images, as the engine encodes them."""
    levels, denominator = pixel_levels(images, None if config.input_8bit else config.states)
    return torch.from_numpy(config.encoding.values(levels, denominator).astype(np.float32))


def train_model(
    config: TrainConfig,
    images: np.ndarray,
    labels: np.ndarray,
    progress: Callable[[Iterable, str, int], Iterable] | None = None,
    threads: int = THREADS,
) -> ScMlp:
    """Train an ScMlp on uint8 images (n, 28, 28) and labels (n,) with Adam and a cosine lr.

    `threads` torch threads: another count sums floats in another order (other weights)."""
    torch.set_num_threads(threads)
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    model = ScMlp(config.hidden, config.states, config.encoding)
    x_all = input_values(images, config)
    y_all = torch.from_numpy(np.asarray(labels, dtype=np.int64))
    steps_per_epoch = math.ceil(len(x_all) / config.batch_size)
    total_steps = config.epochs * steps_per_epoch
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 0.5 * (1.0 + math.cos(math.pi * step / total_steps))
    )
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()
    epochs = range(config.epochs)
    if progress is not None:
        epochs = progress(epochs, "train", config.epochs)
    for _ in epochs:
        order = torch.randperm(len(x_all), generator=generator)
        for start in range(0, len(order), config.batch_size):
            batch = order[start : start + config.batch_size]
            loss = loss_fn(model(x_all[batch], config.sc_length), y_all[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            model.clip_latent()
    model.eval()
    return model


def to_checkpoint(
    model: ScMlp, config: TrainConfig, test_accuracy: float, command: str = ""
) -> Checkpoint:
    """Package a trained model and its provenance as a Checkpoint."""
    return Checkpoint(
        states=config.states,
        encoding=config.encoding,
        layers=tuple(Layer(*arrays) for arrays in model.export()),
        input_8bit=config.input_8bit,
        train_mode="sc" if config.sc_length else "plain",
        train_sc_length=int(config.sc_length or 0),
        train_epochs=config.epochs,
        train_seed=config.seed,
        train_command=command,
        test_accuracy=float(test_accuracy),
    )
