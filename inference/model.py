"""The quantized SC-MLP in torch, for training: N-state weights and activations, and the
stochastic-computing sampling noise of either encoding (docs/sc-semantics.md).

A layer computes z = scale ⊙ (x @ wᵀ + noise) + bias. In the SC engine x @ wᵀ is the counter
difference D/L, and scale and bias are digital (they become per-neuron comparator thresholds).
With `sc_length=L` the noise is Gaussian with the exact variance of D/L for independent
streams of length L; without it the forward pass is the deterministic quantized network.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
import torch
from smtjlab.inference.quantize import (
    Encoding,
    check_encoding,
    check_states,
    quantize_activations,
    quantize_weights,
    weight_levels,
)
from torch import nn

N_INPUTS = 28 * 28
N_CLASSES = 10


def sc_variance(x: torch.Tensor, w: torch.Tensor, encoding: Encoding) -> torch.Tensor:
    """Var(D/L)·L: the per-neuron variance of one-bit products summed over the inputs.

    sign-magnitude: the AND of streams with P = x and P = |w| is 1 with p = x|w|,
    so the variance is Σ p(1-p) = x@|w|ᵀ - x²@(w²)ᵀ.
    bipolar: the XNOR has P = (1+wx)/2 and the term 2·bit-1 has variance 1-(wx)²,
    so the variance is n_in - x²@(w²)ᵀ (a zero weight still costs 1).
    """
    squares = (x * x) @ (w * w).T
    if encoding == "sign-magnitude":
        return x @ w.abs().T - squares
    return x.shape[1] - squares


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
            variance = sc_variance(x, w, self.encoding).clamp_min(1e-12)
            total = total + torch.randn_like(total) * torch.sqrt(variance / sc_length)
        return torch.exp(self.log_scale) * total + self.bias

    def clip_latent(self) -> None:
        """Keep latent weights in [-1, 1] (their gradient is zero outside, BinaryConnect-style)."""
        with torch.no_grad():
            self.latent.clamp_(-1.0, 1.0)


class ScMlp(nn.Module):
    """784 inputs, `hidden` layers of quantized activations, 10 output scores."""

    def __init__(
        self, hidden: Sequence[int], states: int, encoding: Encoding = "sign-magnitude"
    ) -> None:
        super().__init__()
        self.hidden = [int(width) for width in hidden]
        self.states = check_states(states)
        self.encoding = check_encoding(encoding)
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
