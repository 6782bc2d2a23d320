"""The quantized SC-MLP in torch, for training: N-state weights and activations, and the
stochastic-computing sampling noise of either encoding (docs/sc-semantics.md).

A layer computes z = scale ⊙ (x @ wᵀ + noise) + bias. In the SC engine x @ wᵀ is the counter
difference D/L, and scale and bias are digital (they become per-neuron comparator thresholds).
With `sc_length=L` the noise is Gaussian with the exact variance of D/L for independent
streams of length L; without it the forward pass is the deterministic quantized network.
The straight-through quantizers onto the grids of quantize.py are here too: this module and
train.py are the only ones that import torch.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
import torch
from smtjlab.inference.encoding import Encoding
from smtjlab.inference.mnist import N_CLASSES, N_INPUTS
from smtjlab.inference.quantize import check_states, half_range
from torch import nn


class _RoundHalfUp(torch.autograd.Function):
    """floor(x + 1/2) forward, identity backward: the straight-through estimator."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        return torch.floor(x + 0.5)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return grad


def round_ste(x: torch.Tensor) -> torch.Tensor:
    """Round half-up with a straight-through gradient."""
    return _RoundHalfUp.apply(x)


def quantize_weights(latent: torch.Tensor, states: int) -> torch.Tensor:
    """Latent weights clipped to [-1, 1] and rounded to the grid k/h (STE inside the clip)."""
    h = half_range(states)
    return round_ste(latent.clamp(-1.0, 1.0) * h) / h


def weight_levels(latent: torch.Tensor, states: int) -> np.ndarray:
    """Integer weight levels k in {-h..h} (int8) of latent weights, as `quantize_weights`."""
    h = half_range(states)
    with torch.no_grad():
        levels = torch.floor(latent.detach().clamp(-1.0, 1.0) * h + 0.5)
    return levels.to(torch.int8).cpu().numpy()


def quantize_activations(z: torch.Tensor, states: int, encoding: Encoding) -> torch.Tensor:
    """Clip pre-activations to the activation range and round to the N-state grid (STE).

    The gradient is 1 inside the range and 0 outside it, as for a clipped ReLU.
    """
    steps = check_states(states) - 1
    low = encoding.floor
    return encoding.values(round_ste((z.clamp(low, 1.0) - low) * (steps / (1.0 - low))), steps)


class ScLinear(nn.Module):
    """One layer: latent weights in [-1, 1], a positive per-neuron scale and a bias."""

    def __init__(self, n_in: int, n_out: int, states: int, encoding: Encoding) -> None:
        super().__init__()
        self.states = states
        self.encoding = encoding
        # Latent weights spread over the whole grid, so no level starts out unused.
        self.latent = nn.Parameter(torch.empty(n_out, n_in).uniform_(-1.0, 1.0))
        # Σwx has a spread of about sqrt(n_in/2) for such weights and inputs in [0, 1].
        self.log_scale = nn.Parameter(torch.full((n_out,), math.log(2.0 / math.sqrt(n_in))))
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x: torch.Tensor, sc_length: int | None = None) -> torch.Tensor:
        w = quantize_weights(self.latent, self.states)
        total = x @ w.T
        if sc_length:
            variance = self.encoding.sum_variance(x, w).clamp_min(1e-12)
            total = total + torch.randn_like(total) * torch.sqrt(variance / sc_length)
        return torch.exp(self.log_scale) * total + self.bias

    def clip_latent(self) -> None:
        """Keep latent weights in [-1, 1] (their gradient is zero outside, BinaryConnect-style)."""
        with torch.no_grad():
            self.latent.clamp_(-1.0, 1.0)


class ScMlp(nn.Module):
    """784 inputs, `hidden` layers of quantized activations, 10 output scores."""

    def __init__(
        self, hidden: Sequence[int], states: int, encoding: Encoding = Encoding.SIGN_MAGNITUDE
    ) -> None:
        super().__init__()
        self.hidden = [int(width) for width in hidden]
        self.states = check_states(states)
        self.encoding = Encoding(encoding)
        widths = [N_INPUTS, *self.hidden, N_CLASSES]
        self.layers = nn.ModuleList(
            ScLinear(n_in, n_out, self.states, self.encoding)
            for n_in, n_out in itertools.pairwise(widths)
        )

    def forward(self, x: torch.Tensor, sc_length: int | None = None) -> torch.Tensor:
        """Class scores for input values x (n, 784) already on the input grid."""
        for layer in self.layers[:-1]:
            x = quantize_activations(layer(x, sc_length), self.states, self.encoding)
        return self.layers[-1](x, sc_length)

    def clip_latent(self) -> None:
        for layer in self.layers:
            layer.clip_latent()

    def export(self) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """(weight levels int8 (out, in), scale float64 (out,), bias float64 (out,)) per layer."""
        exported = []
        for layer in self.layers:
            scale = torch.exp(layer.log_scale.detach()).double().numpy()
            exported.append(
                (
                    weight_levels(layer.latent, self.states),
                    scale,
                    layer.bias.detach().double().numpy(),
                )
            )
        return exported
