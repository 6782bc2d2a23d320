"""Quantization-aware training of the SC-MLP, with or without SC sampling noise.

Without SC the forward pass is the deterministic quantized network (straight-through
estimators for every rounding). With SC (`sc_length=L`) every layer's sum also carries the
Gaussian sampling noise of the encoding at length L, with its exact variance (model.py).
`fine_tune` trains on from a checkpoint, for example on a measured device (DeviceNoise).
Everything runs on the CPU with 2 threads and fixed seeds, so a run is reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import numpy as np
import torch
from smtjlab.inference.checkpoint import Checkpoint, Layer
from smtjlab.inference.model import DeviceNoise, ScMlp
from smtjlab.inference.quantize import half_range, pixel_levels
from smtjlab.inference.train_config import TrainConfig

from smtjlab.errors import SmtjlabError

THREADS = 2


class TrainError(SmtjlabError):
    """A fine-tuning that does not fit the checkpoint it starts from."""


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
    return _fit(model, config, images, labels, generator, progress)


def fine_tune(
    checkpoint: Checkpoint,
    config: TrainConfig,
    images: np.ndarray,
    labels: np.ndarray,
    device: DeviceNoise | None = None,
    progress: Callable[[Iterable, str, int], Iterable] | None = None,
    threads: int = THREADS,
) -> ScMlp:
    """Train on from `checkpoint`'s weights by `config` (a few epochs, a lower lr).

    With `device` the forward pass is the measured device's (DeviceNoise at its L);
    without it, `config.sc_length`'s ideal SC noise or none. `config` must describe the
    checkpoint's network (hidden widths, states, encoding, input grid)."""
    wanted = (checkpoint.hidden, checkpoint.states, checkpoint.encoding, checkpoint.input_8bit)
    if (tuple(config.hidden), config.states, config.encoding, config.input_8bit) != wanted:
        raise TrainError(
            f"the fine-tuning configuration's network {config.hidden}, {config.states} states, "
            f"{config.encoding} is not the checkpoint's {checkpoint.hidden}, "
            f"{checkpoint.states} states, {checkpoint.encoding}"
        )
    if device is not None and (device.states, device.encoding) != (
        checkpoint.states,
        checkpoint.encoding,
    ):
        raise TrainError("the device noise model was built for another network")
    torch.set_num_threads(threads)
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    model = model_from_checkpoint(checkpoint)
    return _fit(model, config, images, labels, generator, progress, device)


def model_from_checkpoint(checkpoint: Checkpoint) -> ScMlp:
    """An ScMlp whose quantized weights, scales and biases are the checkpoint's.

    Latent weights start on their grid points k/h, which round back to k."""
    model = ScMlp(checkpoint.hidden, checkpoint.states, checkpoint.encoding)
    h = half_range(checkpoint.states)
    with torch.no_grad():
        for layer, saved in zip(model.layers, checkpoint.layers, strict=True):
            layer.latent.copy_(torch.from_numpy(saved.weights.astype(np.float32) / h))
            layer.log_scale.copy_(torch.from_numpy(np.log(saved.scale)))
            layer.bias.copy_(torch.from_numpy(saved.bias))
    return model


def _fit(
    model: ScMlp,
    config: TrainConfig,
    images: np.ndarray,
    labels: np.ndarray,
    generator: torch.Generator,
    progress: Callable[[Iterable, str, int], Iterable] | None = None,
    device: DeviceNoise | None = None,
) -> ScMlp:
    """Adam with a cosine lr over `config.epochs` epochs of shuffled batches."""
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
            scores = model(x_all[batch], config.sc_length, device)
            loss = loss_fn(scores, y_all[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            model.clip_latent()
    model.eval()
    return model


def to_checkpoint(
    model: ScMlp,
    config: TrainConfig,
    test_accuracy: float,
    command: str = "",
    device: DeviceNoise | None = None,
) -> Checkpoint:
    """Package a trained model and its provenance as a Checkpoint.

    A model trained (or fine-tuned) on a `device` is "device-aware", at the device's L, and
    carries the device's profile."""
    if device is not None:
        mode, length, profile = "device-aware", device.length, device.profile.to_json()
    else:
        mode, length, profile = ("sc" if config.sc_length else "plain"), config.sc_length, ""
    return Checkpoint(
        states=config.states,
        encoding=config.encoding,
        layers=tuple(Layer(*arrays) for arrays in model.export()),
        input_8bit=config.input_8bit,
        train_mode=mode,
        train_sc_length=int(length or 0),
        device_profile=profile,
        train_epochs=config.epochs,
        train_seed=config.seed,
        train_command=command,
        test_accuracy=float(test_accuracy),
    )
