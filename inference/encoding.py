"""The two stochastic-computing encodings, one object that every layer consults.

Semantics (docs/sc-semantics.md, DESIGN §4):

- sign-magnitude: inputs and activations are unipolar in [0, 1]; a weight keeps its sign
  digitally and its magnitude |w| on a stream. A product is the AND of two streams, counted
  into c+ or c- by the weight's sign: D = c+ - c-. A zero weight costs nothing.
- bipolar: a value v in [-1, 1] is a stream with P(1) = (v+1)/2. A product is the XNOR of two
  streams, counted into one counter C: D = 2C - n_in·L. A zero weight still adds variance.

Checkpoints, the command line and reports carry the name (the member's value, a str), and
`Encoding(name)` parses it. The methods below work on numpy arrays and torch tensors alike,
so training and the engine share one definition without this module importing torch.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np

from smtjlab.errors import SmtjlabError


class EncodingError(SmtjlabError):
    """A name that is not one of the known encodings."""


class Encoding(StrEnum):
    SIGN_MAGNITUDE = "sign-magnitude"
    BIPOLAR = "bipolar"

    @classmethod
    def _missing_(cls, value: object) -> Encoding:
        # Encoding("...") with an unknown name: one clear line instead of a bare ValueError.
        raise EncodingError(f"unknown encoding {value!r}; use one of {', '.join(cls)}")

    @property
    def floor(self) -> float:
        """The lowest activation (and input) value: 0 for sign-magnitude, -1 for bipolar."""
        return -1.0 if self is Encoding.BIPOLAR else 0.0

    @property
    def signed_counters(self) -> bool:
        """Whether products of negative weights are counted apart and subtracted (c+ - c-)."""
        return self is Encoding.SIGN_MAGNITUDE

    def values(self, levels, denominator: int):
        """The values that levels k over `denominator` d carry: k/d, or 2k/d - 1 for bipolar."""
        fraction = levels / denominator
        return 2.0 * fraction - 1.0 if self is Encoding.BIPOLAR else fraction

    def weight_numerators(self, levels, half_range: int):
        """P(1) of the streams of weight levels k in {-h..h}, as numerators over 2h.

        sign-magnitude carries |w| = |k|/h, so 2|k|; bipolar carries (w+1)/2, so k + h.
        """
        return levels + half_range if self is Encoding.BIPOLAR else 2 * abs(levels)

    def sum_variance(self, x, w):
        """Var(D/L)·L: the variance of one neuron's one-bit products summed over its inputs.

        x (n, in) are input values, w (out, in) weight values; the result is (n, out).
        sign-magnitude: the AND of streams with P = x and P = |w| is 1 with p = x|w|, so the
        variance is Σ p(1-p) = x@|w|ᵀ - x²@(w²)ᵀ. bipolar: the XNOR has P = (1+wx)/2 and the
        term 2·bit-1 has variance 1-(wx)², so it is n_in - x²@(w²)ᵀ (a zero weight costs 1).
        """
        squares = (x * x) @ (w * w).T
        if self is Encoding.BIPOLAR:
            return x.shape[1] - squares
        return x @ abs(w).T - squares

    def counter_steps(self, x, w, sign):
        """D's increment at every clock cycle, (out, L) int64, from unpacked bits.

        x (in, L) and w (out, in, L) are bool bits of the input and weight streams, sign
        (out, in) the digital weight signs (used by sign-magnitude only).
        """
        if self is Encoding.BIPOLAR:
            agree = ~(x[None, :, :] ^ w)
            return 2 * agree.sum(axis=1, dtype=np.int64) - x.shape[0]
        products = (x[None, :, :] & w).astype(np.int64)
        return np.einsum("ji,jit->jt", sign.astype(np.int64), products)
