"""The N-state grids (odd N >= 3) that the engine, checkpoints and training share (numpy only).

Every quantity the stochastic-computing engine carries is an integer *level* k on a grid
whose stream probability is k / denominator (docs/sc-semantics.md):

- weights: k in {-h, ..., h} with h = (N-1)/2, value w = k / h (step 2/(N-1));
- activations: k in {0, ..., N-1}, value `Encoding.values(k, N-1)`;
- inputs: the same as activations, from pixels/255, or the raw pixel k/255 in 8-bit mode.

Rounding is round-half-up, floor(x + 1/2), everywhere. The torch quantizers that train onto
these grids (straight-through estimators) are in model.py.
"""

from __future__ import annotations

import numpy as np

from smtjlab.errors import SmtjlabError


class QuantizeError(SmtjlabError):
    """An impossible number of states."""


def check_states(states: int) -> int:
    """Return `states` if it is an odd integer >= 3, else raise QuantizeError."""
    if int(states) != states or states < 3 or states % 2 == 0:
        raise QuantizeError(f"number of states must be an odd integer >= 3, got {states}")
    return int(states)


def half_range(states: int) -> int:
    """h = (N-1)/2: weight levels run from -h to h."""
    return (check_states(states) - 1) // 2


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
