"""GXNOR training: discrete weights and ternary activations, updated by discrete state
transitions whose random decisions come from a bit source (GXNOR.md, DESIGN §9).

Weights are stored on their grid of S states in [−1, 1] (no hidden float copy). Each step the
optimiser (Adam) proposes ΔW for every parameter; biases and batch norm take it as it is, while
every discrete weight moves by whole jumps κ plus one extra jump with probability f(|ν|/Δz)
(`dst_update`). Activations are ternary, φ(x) ∈ {−1, 0, 1} with threshold r, and their
gradient is the window 1 for r − a ≤ |x| ≤ r + a.

Two architectures: the reference MNIST CNN (32C5-MP2-BN-φ-64C5-MP2-BN-φ-512FC-BN-φ-10FC-BN)
and ternary MLPs. An MLP feeds each layer the unipolar activations (φ + 1)/2 ∈ {0, ½, 1} on the
SC input grid, so it exports exactly to the SC checkpoint (N = 3, batch norm folded, `export_sc`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from smtjlab.inference.checkpoint import Checkpoint, Layer
from smtjlab.inference.cnn_checkpoint import CnnCheckpoint
from smtjlab.inference.decisions import DecisionCounter
from smtjlab.inference.encoding import Encoding
from smtjlab.inference.gxnor_config import GxnorConfig
from smtjlab.inference.mnist import N_CLASSES, N_INPUTS
from smtjlab.inference.quantize import check_states, pixel_levels
from smtjlab.inference.switching import SwitchingLaw
from torch import nn
from torch.nn import functional

THRESHOLD = 1.0  # r: φ(x) = ±1 beyond ±r
WINDOW = 0.5  # a: the straight-through window half-width around ±r
BN_EPS = 1e-4


class _Ternary(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return (x > THRESHOLD).to(x.dtype) - (x < -THRESHOLD).to(x.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        distance = (x.abs() - THRESHOLD).abs()
        return grad * (distance <= WINDOW).to(grad.dtype)


def ternary(x: torch.Tensor) -> torch.Tensor:
    """φ(x) ∈ {−1, 0, 1} with the windowed straight-through gradient."""
    return _Ternary.apply(x)


def grid_step(states: int) -> float:
    """Δz = 2/(S − 1) for S states in [−1, 1]."""
    return 2.0 / (check_states(states) - 1)


def snap(weights: torch.Tensor, states: int) -> torch.Tensor:
    """Clip to [−1, 1] and round half-up to the nearest of the S grid states."""
    step = grid_step(states)
    return torch.floor(weights.clamp(-1.0, 1.0) / step + 0.5) * step


class DiscreteWeights(nn.Parameter):
    """A weight tensor that lives on the S-state grid and is updated by DST, not by Adam."""


def _discrete(shape: Sequence[int], states: int) -> DiscreteWeights:
    # uniform in [−1, 1], then snapped (GXNOR.md §2)
    return DiscreteWeights(snap(torch.empty(*shape).uniform_(-1.0, 1.0), states))


def _batch_norm(features: int, conv: bool) -> nn.Module:
    kind = nn.BatchNorm2d if conv else nn.BatchNorm1d
    return kind(features, eps=BN_EPS)


class GxnorCnn(nn.Module):
    """The reference MNIST CNN on inputs 2x − 1, x = pixel/255."""

    def __init__(self, states: int = 3) -> None:
        super().__init__()
        self.states = check_states(states)
        self.conv1 = _discrete((32, 1, 5, 5), states)
        self.conv2 = _discrete((64, 32, 5, 5), states)
        self.fc1 = _discrete((512, 64 * 4 * 4), states)
        self.fc2 = _discrete((N_CLASSES, 512), states)
        self.norms = nn.ModuleList(
            [
                _batch_norm(32, True),
                _batch_norm(64, True),
                _batch_norm(512, False),
                _batch_norm(N_CLASSES, False),
            ]
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.reshape(-1, 1, 28, 28)
        x = ternary(self.norms[0](functional.max_pool2d(functional.conv2d(x, self.conv1), 2)))
        x = ternary(self.norms[1](functional.max_pool2d(functional.conv2d(x, self.conv2), 2)))
        x = ternary(self.norms[2](x.flatten(1) @ self.fc1.T))
        return self.norms[3](x @ self.fc2.T)


class GxnorMlp(nn.Module):
    """784 → hidden ternary layers → 10, each layer's inputs on the unipolar grid {0, ½, 1}.

    With `sc_length=L`, training adds the SC engine's sampling noise at length L to every
    layer's sum (Gaussian with the exact variance, Encoding.sum_variance).
    """

    def __init__(self, hidden: Sequence[int], states: int = 3, sc_length: int | None = None):
        super().__init__()
        self.states = check_states(states)
        self.sc_length = sc_length
        self.hidden = [int(width) for width in hidden]
        widths = [N_INPUTS, *self.hidden, N_CLASSES]
        self.weights = nn.ParameterList(
            _discrete((n_out, n_in), states) for n_in, n_out in itertools.pairwise(widths)
        )
        self.norms = nn.ModuleList(_batch_norm(n_out, False) for n_out in widths[1:])

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        x = inputs
        for weights, norm in zip(self.weights[:-1], self.norms[:-1], strict=False):
            x = (ternary(norm(self._sum(x, weights))) + 1.0) / 2.0
        return self.norms[-1](self._sum(x, self.weights[-1]))

    def _sum(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        total = x @ weights.T
        if self.training and self.sc_length:
            variance = Encoding.SIGN_MAGNITUDE.sum_variance(x, weights).clamp_min(1e-12)
            total = total + torch.randn_like(total) * torch.sqrt(variance / self.sc_length)
        return total

    def export_sc(self) -> list[Layer]:
        """SC layers (N = 3 levels, scale > 0, bias) with batch norm folded in.

        A hidden neuron's batch norm y = g·z + c (z = W·a) becomes the engine's pre-activation
        y/(4r) + ½, which the engine's 3-state rounding cuts at ¼ and ¾, exactly y = ∓r. The
        output layer keeps y itself (argmax). A negative g flips the neuron's weight row.
        """
        layers = []
        last = len(self.weights) - 1
        for index, (weights, norm) in enumerate(zip(self.weights, self.norms, strict=False)):
            gain, offset = _folded(norm)
            levels = np.rint(weights.detach().double().numpy() / grid_step(self.states))
            if index < last:
                gain, offset = gain / (4 * THRESHOLD), offset / (4 * THRESHOLD) + 0.5
            sign = np.where(gain < 0, -1.0, 1.0)
            layers.append(
                Layer((levels * sign[:, None]).astype(np.int8), np.abs(gain), offset.copy())
            )
        return layers


def _folded(norm: nn.Module) -> tuple[np.ndarray, np.ndarray]:
    """(g, c) of an eval-mode batch norm y = g·z + c."""
    variance = norm.running_var.detach().double().numpy()
    gain = norm.weight.detach().double().numpy() / np.sqrt(variance + norm.eps)
    offset = norm.bias.detach().double().numpy() - gain * norm.running_mean.double().numpy()
    # a zero gain would give a zero SC scale; the smallest positive one keeps it valid
    return np.where(gain == 0, np.finfo(np.float64).tiny, gain), offset


def mlp_inputs(images: np.ndarray, states: int = 3) -> torch.Tensor:
    """MLP inputs as the SC engine encodes them: pixels on the unipolar N-state grid."""
    levels, denominator = pixel_levels(images, states)
    return torch.from_numpy(Encoding.SIGN_MAGNITUDE.values(levels, denominator).astype(np.float32))


def cnn_inputs(images: np.ndarray) -> torch.Tensor:
    """CNN inputs 2x − 1, x = pixel/255 (the reference code's)."""
    pixels = np.asarray(images, dtype=np.float32).reshape(len(images), -1)
    return torch.from_numpy(2.0 * pixels / 255.0 - 1.0)


def squared_hinge(scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """mean of max(0, 1 − t·s)² over classes, t = ±1 one-hot targets (the reference loss)."""
    targets = 2.0 * functional.one_hot(labels, N_CLASSES).to(scores.dtype) - 1.0
    return functional.relu(1.0 - targets * scores).square().mean()


@dataclass
class DstStats:
    """What the DST updates did over a run."""

    jumps: int = 0  # whole jumps κ taken
    extra_jumps: int = 0  # extra jumps the decisions granted
    skipped: int = 0  # remainders whose jump could not change a clipped weight
    pulse_energy_j: float = 0.0  # Σ write-pulse energy of the MTJ law (0 for tanh)
    pulses: int = 0


def discrete_parameters(model: nn.Module) -> list[DiscreteWeights]:
    return [p for p in model.parameters() if isinstance(p, DiscreteWeights)]


def decision_bound(model: nn.Module) -> int:
    """At most one decision per discrete weight per step."""
    return sum(p.numel() for p in discrete_parameters(model))


def dst_update(
    weights: torch.Tensor,
    delta: torch.Tensor,
    states: int,
    law: SwitchingLaw,
    decide: Callable[[np.ndarray], np.ndarray],
    stats: DstStats,
) -> None:
    """W ← snap(clip(W + (κ + sign(ν)·b)·Δz)), b ~ Bernoulli(f(|ν|/Δz)) from `decide`, in place.

    A decision is skipped when its extra jump could not change the clipped weight.
    """
    step = grid_step(states)
    w = weights.detach().reshape(-1).double().numpy()
    d = delta.detach().reshape(-1).double().numpy()
    kappa = np.trunc(d / step)
    remainder = d - kappa * step
    base = np.clip(w + kappa * step, -1.0, 1.0)
    direction = np.sign(remainder)
    effective = (direction != 0) & (np.clip(base + direction * step, -1.0, 1.0) != base)
    fraction = np.minimum(np.abs(remainder[effective]) / step, 1.0)
    p = law.probability(fraction)
    granted = decide(p)
    extra = np.zeros_like(w)
    extra[np.flatnonzero(effective)[granted]] = 1.0
    new = np.clip(base + direction * extra * step, -1.0, 1.0)
    stats.jumps += int(np.abs(kappa).sum())
    stats.extra_jumps += int(granted.sum())
    stats.skipped += int(((direction != 0) & ~effective).sum())
    if hasattr(law, "pulse_energy_j"):
        stats.pulse_energy_j += float(law.pulse_energy_j(fraction).sum())
        stats.pulses += int(fraction.size)
    with torch.no_grad():
        weights.copy_(snap(torch.from_numpy(new).reshape(weights.shape).to(weights.dtype), states))


@dataclass
class GxnorResult:
    model: nn.Module
    history: list[dict[str, float]] = field(default_factory=list)
    dst: DstStats = field(default_factory=DstStats)


def build_model(config: GxnorConfig) -> nn.Module:
    if config.architecture == "cnn":
        return GxnorCnn(config.states)
    return GxnorMlp(config.hidden, config.states, config.sc_length)


def model_inputs(config: GxnorConfig, images: np.ndarray) -> torch.Tensor:
    return cnn_inputs(images) if config.architecture == "cnn" else mlp_inputs(images)


def steps_per_run(config: GxnorConfig, n_images: int) -> int:
    return config.epochs * math.ceil(n_images / config.batch_size)


def step_lr(config: GxnorConfig, step: int, total: int) -> float:
    """lr decays geometrically from `lr` at the first step to `lr_final` at the last."""
    if total <= 1:
        return config.lr
    return config.lr * (config.lr_final / config.lr) ** (step / (total - 1))


def train_gxnor(
    config: GxnorConfig,
    law: SwitchingLaw,
    counter: DecisionCounter,
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    epochs: Callable[[Iterable[int]], Iterable[int]] = iter,
    on_epoch: Callable[[dict], None] = lambda row: None,
) -> GxnorResult:
    """Train with Adam proposals and DST updates; test accuracy after every epoch.

    `counter` draws every decision (its bit source decides what they are made of); `epochs`
    wraps the epoch loop (a progress bar); `on_epoch` sees each epoch's history row.
    """
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    model = build_model(config)
    x_train, y_train = model_inputs(config, train[0]), torch.from_numpy(train[1].astype(np.int64))
    discrete = discrete_parameters(model)
    floats = [p for p in model.parameters() if not isinstance(p, DiscreteWeights)]
    optimizer = torch.optim.Adam(
        [{"params": discrete, "scale": 1.0}, {"params": floats, "scale": config.float_lr_scale}]
    )
    result = GxnorResult(model)
    total, step = steps_per_run(config, len(x_train)), 0
    for epoch in epochs(range(config.epochs)):
        model.train()
        order = torch.randperm(len(x_train), generator=generator)
        for start in range(0, len(order), config.batch_size):
            lr = step_lr(config, step, total)
            for group in optimizer.param_groups:
                group["lr"] = lr * group["scale"]
            step += 1
            batch = order[start : start + config.batch_size]
            loss = squared_hinge(model(x_train[batch]), y_train[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            before = [p.detach().clone() for p in discrete]
            optimizer.step()  # biases and batch norm: final; discrete weights: a proposal
            for weights, old in zip(discrete, before, strict=False):
                proposal = weights.detach() - old
                with torch.no_grad():
                    weights.copy_(old)
                dst_update(weights, proposal, config.states, law, counter.bernoulli, result.dst)
        row = {
            "epoch": epoch + 1,
            "lr": lr,  # the epoch's last
            "test_accuracy": accuracy(model, config, *test),
            "decisions": counter.decisions,
            "fair_bits": counter.bits.consumed,
        }
        result.history.append(row)
        on_epoch(row)
    model.eval()
    return result


def accuracy(
    model: nn.Module, config: GxnorConfig, images: np.ndarray, labels: np.ndarray
) -> float:
    """Test accuracy of the deterministic ternary network (eval-mode batch norm)."""
    return float((predict(model, model_inputs(config, images)) == labels).mean())


def predict(model: nn.Module, inputs: torch.Tensor, batch: int = 1000) -> np.ndarray:
    was_training = model.training
    model.eval()
    with torch.no_grad():
        out = np.concatenate(
            [model(inputs[i : i + batch]).argmax(1).numpy() for i in range(0, len(inputs), batch)]
        )
    model.train(was_training)
    return out


def to_sc_checkpoint(
    model: GxnorMlp, config: GxnorConfig, test_accuracy: float, command: str
) -> Checkpoint:
    """The ternary MLP as a standard SC checkpoint (N = 3, sign-magnitude)."""
    return Checkpoint(
        states=3,
        encoding="sign-magnitude",
        layers=tuple(model.export_sc()),
        train_mode="gxnor",
        train_epochs=config.epochs,
        train_seed=config.seed,
        train_command=command,
        test_accuracy=float(test_accuracy),
    )


def _cnn_weights(model: GxnorCnn) -> list[torch.Tensor]:
    return [model.conv1, model.conv2, model.fc1, model.fc2]


def to_cnn_checkpoint(model: GxnorCnn, **metadata: str | int | float) -> CnnCheckpoint:
    """The CNN's weight levels and eval-mode batch norms as a CnnCheckpoint."""
    step = grid_step(model.states)
    levels = tuple(
        np.rint(w.detach().double().numpy() / step).astype(np.int8) for w in _cnn_weights(model)
    )
    norms = tuple(
        {
            "mean": norm.running_mean.detach().numpy().astype(np.float32),
            "var": norm.running_var.detach().numpy().astype(np.float32),
            "gamma": norm.weight.detach().numpy().astype(np.float32),
            "beta": norm.bias.detach().numpy().astype(np.float32),
        }
        for norm in model.norms
    )
    return CnnCheckpoint(model.states, levels, norms, BN_EPS, **metadata)


def cnn_from_checkpoint(checkpoint: CnnCheckpoint) -> GxnorCnn:
    """The deterministic ternary CNN (eval mode) a CnnCheckpoint holds."""
    model = GxnorCnn(checkpoint.states)
    step = grid_step(checkpoint.states)
    with torch.no_grad():
        for weights, levels in zip(_cnn_weights(model), checkpoint.weights, strict=False):
            weights.copy_(torch.from_numpy(levels.astype(np.float32) * step))
        for norm, values in zip(model.norms, checkpoint.norms, strict=False):
            norm.eps = checkpoint.bn_eps
            norm.running_mean.copy_(torch.from_numpy(values["mean"]))
            norm.running_var.copy_(torch.from_numpy(values["var"]))
            norm.weight.copy_(torch.from_numpy(values["gamma"]))
            norm.bias.copy_(torch.from_numpy(values["beta"]))
    return model.eval()
