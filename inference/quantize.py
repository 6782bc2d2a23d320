"""N-state quantizers (odd N >= 3) and their straight-through estimators.

Every quantity the stochastic-computing engine carries is an integer *level* k on a grid
whose stream probability is k / denominator (docs/sc-semantics.md):

- weights: k in {-h, ..., h} with h = (N-1)/2, value w = k / h (step 2/(N-1));
- activations: k in {0, ..., N-1}, value k/(N-1) (sign-magnitude) or 2k/(N-1) - 1 (bipolar);
- inputs: the same as activations, from pixels/255, or the raw pixel k/255 in 8-bit mode.

Rounding is round-half-up, floor(x + 1/2), everywhere.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch

from smtjlab.errors import SmtjlabError

Encoding = Literal["sign-magnitude", "bipolar"]
ENCODINGS: tuple[str, ...] = ("sign-magnitude", "bipolar")
DEFAULT_ENCODING: Encoding = "sign-magnitude"


class QuantizeError(SmtjlabError):
    """An impossible number of states or an unknown encoding."""


def check_states(states: int) -> int:
    """Return `states` if it is an odd integer >= 3, else raise QuantizeError."""
    if int(states) != states or states < 3 or states % 2 == 0:
        raise QuantizeError(f"number of states must be an odd integer >= 3, got {states}")
    return int(states)


def check_encoding(encoding: str) -> Encoding:
    if encoding not in ENCODINGS:
        raise QuantizeError(f"unknown encoding {encoding!r}; use one of {', '.join(ENCODINGS)}")
    return encoding  # type: ignore[return-value]


def half_range(states: int) -> int:
    """h = (N-1)/2: weight levels run from -h to h."""
    return (check_states(states) - 1) // 2


def activation_floor(encoding: Encoding) -> float:
    """The lowest activation value: 0 for sign-magnitude, -1 for bipolar."""
    return 0.0 if check_encoding(encoding) == "sign-magnitude" else -1.0


def pixel_levels(images: np.ndarray, states: int | None) -> tuple[np.ndarray, int]:
    """Input levels of uint8 images and their denominator.

    With `states` the pixels/255 are rounded half-up to the N-state grid, in exact integer
    arithmetic: k = floor((2·pixel·(N-1) + 255) / 510). With `states=None` (8-bit mode) the
    level is the pixel itself over 255.
    """
    pixels = np.asarray(images).reshape(len(images), -1)
    if states is None:
        return pixels.astype(np.int16), 255
    steps = check_states(states) - 1
    # one lookup per pixel instead of int64 arithmetic on the whole batch
    table = ((2 * np.arange(256) * steps + 255) // 510).astype(np.int16)
    return table[pixels], steps


def level_values(levels: np.ndarray, denominator: int, encoding: Encoding) -> np.ndarray:
    """Values carried by activation/input levels: k/d (sign-magnitude) or 2k/d - 1 (bipolar)."""
    fraction = np.asarray(levels, dtype=np.float64) / denominator
    return fraction if check_encoding(encoding) == "sign-magnitude" else 2.0 * fraction - 1.0


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
    if check_encoding(encoding) == "sign-magnitude":
        return round_ste(z.clamp(0.0, 1.0) * steps) / steps
    return round_ste((z.clamp(-1.0, 1.0) + 1.0) * (steps / 2)) * (2 / steps) - 1.0
