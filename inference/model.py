"""The quantized SC-MLP in torch, for training: N-state weights and activations, and the
stochastic-computing sampling noise of either encoding (docs/sc-semantics.md).

A layer computes z = scale ⊙ (x @ wᵀ + noise) + bias. In the SC engine x @ wᵀ is the counter
difference D/L, and scale and bias are digital (they become per-neuron comparator thresholds).
With `sc_length=L` the noise is Gaussian with the exact variance of D/L for independent
streams of length L; without it the forward pass is the deterministic quantized network.
With a `DeviceNoise` (device-aware training, issue 17) every stream carries its level's
*measured* P(1) instead of the ideal one, in the sums as in the noise, and the noise has the
variance of streams whose bits have the measured lag-1 autocorrelation.
The straight-through quantizers onto the grids of quantize.py are here too: this module and
train.py are the only ones that import torch.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
import torch
from smtjlab.acquisition.bitstream import variance_factor
from smtjlab.acquisition.profile import DeviceProfile
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

    def forward(
        self, x: torch.Tensor, sc_length: int | None = None, device: LayerNoise | None = None
    ) -> torch.Tensor:
        """z for input values x (n, in); `device` (with its own L) replaces `sc_length`."""
        w = quantize_weights(self.latent, self.states)
        if device is not None:
            total, variance = device.sums(x, w)
            sc_length = device.length
        else:
            total = x @ w.T
            if sc_length:
                variance = self.encoding.sum_variance(x, w)
        if sc_length:
            noise = torch.sqrt(variance.clamp_min(1e-12) / sc_length)
            total = total + torch.randn_like(total) * noise
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

    def forward(
        self, x: torch.Tensor, sc_length: int | None = None, device: DeviceNoise | None = None
    ) -> torch.Tensor:
        """Class scores for input values x (n, 784) already on the input grid.

        With `device` every layer runs on the measured device at the device's L."""
        noises = [None] * len(self.layers) if device is None else device.layers(len(self.layers))
        for layer, noise in zip(self.layers[:-1], noises, strict=False):
            x = quantize_activations(layer(x, sc_length, noise), self.states, self.encoding)
        return self.layers[-1](x, sc_length, noises[-1])

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


class LayerNoise:
    """One layer's sums on a measured device: its input grid's and the weights' tables.

    Per stream level: the actual value m it carries (from the measured P(1); a weight's sign
    stays digital), the variance b of one product term per bit (bipolar ±1 terms: 1 − m²;
    sign-magnitude 0/1 terms: m − m², so constants cost nothing) and the factor f(ρ) by which
    the level's correlated bits inflate an L-bit mean. For streams x and w independent of
    each other, each a Markov chain, one product term's L-bit mean has L times the variance
        m_x²·b_w·f(ρ_w) + m_w²·b_x·f(ρ_x) + b_x·b_w·f(ρ_x·ρ_w),
    which is `Encoding.sum_variance`'s term when every m is nominal and every ρ is 0.
    """

    def __init__(
        self, inputs: _Grid, weights: _Grid, pair: torch.Tensor, encoding: Encoding, length: int
    ) -> None:
        self.inputs, self.weights = inputs, weights
        self.pair = pair  # f(ρ_x·ρ_w) for (input level, weight level)
        self.encoding = encoding
        self.length = length
        # the weight levels whose streams vary (the cross term is a sum over them)
        self.varying = [int(k) for k in torch.nonzero(weights.fraction).ravel()]

    def sums(self, x: torch.Tensor, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(Σ m_x·m_w, L·Var) for nominal input values x (n, in) and weights w (out, in).

        The actual values replace the nominal ones in the forward pass only: the gradient is
        the nominal one (straight through), as for every rounding of the network.
        """
        kx, kw = self.inputs.index(x), self.weights.index(w)
        mx = x + (self.inputs.value[kx] - x).detach()
        mw = w + (self.weights.value[kw] - w).detach()
        bx, bw = self._bit_variance(mx), self._bit_variance(mw)
        variance = (mx * mx) @ (bw * self.weights.factor[kw]).T
        variance = variance + (bx * self.inputs.factor[kx]) @ (mw * mw).T
        for level in self.varying:
            chosen = torch.where(kw == level, bw, torch.zeros_like(bw))
            variance = variance + (bx * self.pair[kx, level]) @ chosen.T
        return mx @ mw.T, variance

    def _bit_variance(self, m: torch.Tensor) -> torch.Tensor:
        if self.encoding is Encoding.BIPOLAR:
            return 1.0 - m * m
        return m.abs() - m * m


class _Grid:
    """The streams of one grid of levels k = 0 .. d (P(1) = k/d nominally) on the device.

    `index` maps nominal values to k; value, factor and fraction are per k: the actual value
    carried, f(ρ) at the device's L, and whether the stream varies (0 < P < 1).
    """

    def __init__(self, value_of, probabilities: np.ndarray, to_index, profile, length) -> None:
        actual, rho = [], []
        for p in probabilities:
            if 0.0 < p < 1.0:
                level = profile.level(float(p))
                actual.append(level.p_measured)
                rho.append(level.lag1)
            else:  # constant streams need no device: exact and uncorrelated
                actual.append(float(p))
                rho.append(0.0)
        self.rho = np.array(rho)
        self.value = torch.tensor(value_of(np.array(actual)), dtype=torch.float32)
        self.factor = torch.tensor(variance_factor(self.rho, length), dtype=torch.float32)
        self.fraction = torch.tensor([0.0 < p < 1.0 for p in probabilities])
        self._to_index = to_index

    def index(self, values: torch.Tensor) -> torch.Tensor:
        return self._to_index(values.detach()).long().clamp(0, len(self.value) - 1)


class DeviceNoise:
    """The SC noise model of training fed with a measured device (acquisition.profile).

    Every stream of nominal level P = k/d carries the profile's p_measured of that level, and
    its bits have the profile's lag-1 autocorrelation; L is the stream length. A model of
    `states` states reads inputs on the N-state grid, or at 8 bits with `input_8bit`.
    """

    def __init__(
        self,
        profile: DeviceProfile,
        encoding: Encoding,
        states: int,
        length: int,
        input_8bit: bool = False,
    ) -> None:
        self.profile = profile
        self.encoding = Encoding(encoding)
        self.states = check_states(states)
        self.length = int(length)
        steps, h = self.states - 1, half_range(self.states)
        k = np.arange(-h, h + 1)
        numerators = self.encoding.weight_numerators(k, h)
        # sign-magnitude keeps a weight's sign digital; a bipolar stream carries it
        sign = np.where((k < 0) & self.encoding.signed_counters, -1.0, 1.0)
        self._weights = _Grid(
            lambda p: sign * self.encoding.values(p, 1),
            numerators / (2 * h),
            lambda w: torch.floor(w * h + 0.5) + h,
            profile,
            self.length,
        )
        self._grids = {d: self._activations(d) for d in {steps, 255 if input_8bit else steps}}
        self.input_denominator = 255 if input_8bit else steps
        self._layers = {d: self._layer(self._grids[d]) for d in self._grids}

    def _activations(self, denominator: int) -> _Grid:
        floor = self.encoding.floor
        return _Grid(
            lambda p: self.encoding.values(p, 1),
            np.arange(denominator + 1) / denominator,
            lambda x: torch.floor((x - floor) / (1.0 - floor) * denominator + 0.5),
            self.profile,
            self.length,
        )

    def _layer(self, inputs: _Grid) -> LayerNoise:
        pair = variance_factor(np.outer(inputs.rho, self._weights.rho), self.length)
        return LayerNoise(
            inputs,
            self._weights,
            torch.tensor(pair, dtype=torch.float32),
            self.encoding,
            self.length,
        )

    def layers(self, count: int) -> list[LayerNoise]:
        """The noise of each of `count` layers: the first reads the inputs' grid."""
        hidden = self._layers[self.states - 1]
        return [self._layers[self.input_denominator]] + [hidden] * (count - 1)
