"""The packed-bit stochastic-computing engine (semantics: docs/sc-semantics.md).

Every stream is `length` bits packed LSB-first in uint64 words. A layer's neuron j sums
one-bit products of its input streams with its weight streams into an integer D_j:

- sign-magnitude: AND products, counted into c+ (positive weights) and c- (negative ones),
  D = c+ - c-;
- bipolar: XNOR products, counted into one counter C, D = 2C - n_in·L.

D/L estimates Σ_i w_ji x_i. The digital scale s_j and bias b_j act on D through per-neuron
integer comparator thresholds θ_jt = ceil(L·(c_t - b_j)/s_j): the activation level is the
number of thresholds D reaches. The output layer's scores are s_j·D_j/L + b_j and the
prediction is their argmax (the lowest index wins a tie).

Weight streams are drawn once, when the engine is built; input and activation streams are
drawn fresh for every image. Probabilities 0 and 1 are constant streams.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from numba import prange
from smtjlab.acquisition.packing import words_for
from smtjlab.acquisition.pool import tail_mask
from smtjlab.inference.bitsource import BitSource, IdealBits
from smtjlab.inference.checkpoint import Checkpoint, Layer
from smtjlab.inference.quantize import activation_floor, half_range, level_values, pixel_levels

_M1 = np.uint64(0x5555_5555_5555_5555)
_M2 = np.uint64(0x3333_3333_3333_3333)
_M4 = np.uint64(0x0F0F_0F0F_0F0F_0F0F)
_H01 = np.uint64(0x0101_0101_0101_0101)


@numba.njit(inline="always")
def popcount64(x: np.uint64) -> np.uint64:
    """Branch-free SWAR popcount (LLVM turns it into the popcnt instruction)."""
    x = x - ((x >> np.uint64(1)) & _M1)
    x = (x & _M2) + ((x >> np.uint64(2)) & _M2)
    x = (x + (x >> np.uint64(4))) & _M4
    return (x * _H01) >> np.uint64(56)


def thresholds(layer: Layer, states: int, length: int, floor: float) -> np.ndarray:
    """Integer comparator thresholds θ (out, N-1): level = #{t : D >= θ_t}.

    c_t = floor + (1 - floor)·(2t - 1)/(2(N - 1)) is the value halfway between levels t-1
    and t, so the level is round-half-up of the clipped pre-activation s·D/L + b.
    """
    steps = states - 1
    centres = floor + (1.0 - floor) * (2.0 * np.arange(1, steps + 1) - 1.0) / (2.0 * steps)
    theta = np.ceil(length * (centres[None, :] - layer.bias[:, None]) / layer.scale[:, None])
    limit = 2.0**52  # beyond any |D| <= n_in·L; keeps the cast exact
    return np.clip(theta, -limit, limit).astype(np.int64)


@dataclass
class Forward:
    """One batch through the engine. `streams` and `sums` are filled when recording.

    predictions (B,), scores (B, 10) float64; per layer l: sums[l] = D (B, out) int64,
    levels[l] = the input levels of layer l (B, in) over denominators[l], and
    streams[l] = every input stream of layer l, constants included, (B, in, words).
    """

    predictions: np.ndarray
    scores: np.ndarray
    levels: list[np.ndarray]
    denominators: list[int]
    sums: list[np.ndarray]
    streams: list[np.ndarray] | None = None


class ScEngine:
    """A checkpoint programmed onto streams of one length, ready to classify images.

    `bits` serves every device level (default: ideal PRNG bits); `seed` seeds the one
    generator that places weight streams and then every image's input and activation streams.
    """

    def __init__(
        self,
        checkpoint: Checkpoint,
        length: int,
        bits: BitSource | None = None,
        seed: int = 0,
    ) -> None:
        if length < 1:
            raise ValueError(f"stream length must be >= 1, got {length}")
        self.checkpoint = checkpoint
        self.length = int(length)
        self.bits = bits if bits is not None else IdealBits()
        self.rng = np.random.default_rng(seed)
        self.words = words_for(self.length)
        states = checkpoint.states
        self._floor = activation_floor(checkpoint.encoding)
        self._bipolar = checkpoint.encoding == "bipolar"
        self._layers = [self._program(layer) for layer in checkpoint.layers]
        self._thresholds = [
            thresholds(layer, states, self.length, self._floor) for layer in checkpoint.layers[:-1]
        ]

    @property
    def weight_streams(self) -> list[np.ndarray]:
        """The programmed weight streams, (out, in, words) per layer (read-only views)."""
        views = [streams.view() for streams, *_ in self._layers]
        for view in views:
            view.flags.writeable = False
        return views

    @property
    def levels(self) -> list[float]:
        """The device levels (0 < p < 1) this model can ask the bit source for."""
        return device_levels(self.checkpoint)

    def _program(self, layer: Layer) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Draw the weight streams once: (streams, w > 0, weight popcounts, bipolar base)."""
        h = half_range(self.checkpoint.states)
        levels = layer.weights.astype(np.int64)
        # P(1) = |w| (sign-magnitude) or (w+1)/2 (bipolar), both on the grid k/(2h)
        numerator = levels + h if self._bipolar else 2 * np.abs(levels)
        streams = self.draw_levels(numerator, 2 * h)
        popcounts = _popcounts(streams)
        base = (self.length - popcounts).sum(axis=1) if self._bipolar else np.zeros(len(levels))
        return streams, (levels > 0).astype(np.int64), popcounts, base.astype(np.int64)

    def draw_levels(self, numerator: np.ndarray, denominator: int) -> np.ndarray:
        """Streams (…, words) with P(1) = numerator/denominator: constants for 0 and 1."""
        flat = numerator.ravel()
        out = np.zeros((flat.size, self.words), dtype=np.uint64)
        out[flat == denominator] = _ones(self.length)
        fractional = np.flatnonzero((flat > 0) & (flat < denominator))
        self._fill(out, fractional, flat[fractional], denominator)
        return out.reshape(*numerator.shape, self.words)

    def _fill(self, out: np.ndarray, rows: np.ndarray, numerators, denominator: int) -> None:
        """Draw out[rows] from the bit source, grouped by level (ascending), in row order."""
        if len(rows) == 0:
            return
        order = np.argsort(numerators, kind="stable")
        values, starts = np.unique(numerators[order], return_index=True)
        ends = np.append(starts[1:], len(order))
        for value, start, end in zip(values, starts, ends, strict=True):
            targets = rows[order[start:end]]
            out[targets] = self.bits.draw(value / denominator, len(targets), self.length, self.rng)

    def forward(self, images: np.ndarray, record: bool = False) -> Forward:
        """Classify a batch of uint8 images (B, 28, 28) or (B, 784)."""
        checkpoint = self.checkpoint
        levels, denominator = pixel_levels(
            images, None if checkpoint.input_8bit else checkpoint.states
        )
        result = Forward(
            predictions=np.empty(0, np.int64),
            scores=np.empty((0, 0)),
            levels=[],
            denominators=[],
            sums=[],
            streams=[] if record else None,
        )
        for index, (streams, positive, popcounts, base) in enumerate(self._layers):
            result.levels.append(levels)
            result.denominators.append(denominator)
            pointers, inputs, rows, x = self._input_streams(levels, denominator)
            n_out = len(streams)
            last = index == len(self._layers) - 1
            theta = np.zeros((n_out, 0), np.int64) if last else self._thresholds[index]
            sums = np.empty((len(levels), n_out), dtype=np.int64)
            out_levels = np.empty((len(levels), n_out), dtype=np.int16)
            if self._bipolar:
                _bipolar_layer(
                    pointers,
                    inputs,
                    rows,
                    x,
                    streams,
                    popcounts,
                    base,
                    theta,
                    self.length,
                    sums,
                    out_levels,
                )
            else:
                _sign_magnitude_layer(
                    pointers, inputs, rows, x, streams, positive, theta, sums, out_levels
                )
            result.sums.append(sums)
            if record:
                dense = np.zeros((*levels.shape, self.words), dtype=np.uint64)
                dense[np.nonzero(levels)] = x[rows]
                result.streams.append(dense)
            levels, denominator = out_levels, checkpoint.states - 1
        output = checkpoint.layers[-1]
        result.scores = output.scale * result.sums[-1] / self.length + output.bias
        result.predictions = np.argmax(result.scores, axis=1)
        return result

    def _input_streams(self, levels: np.ndarray, denominator: int):
        """Each image's non-constant-0 inputs as a CSR list, and their streams.

        Returns pointers (B+1,), input index and stream row per entry, and the stream rows x:
        row 0 is the constant-1 stream that every input at level `denominator` shares, and
        every fractional input gets a freshly drawn row of its own.
        """
        batch, inputs = np.nonzero(levels)
        pointers = np.zeros(len(levels) + 1, dtype=np.int64)
        np.cumsum(np.bincount(batch, minlength=len(levels)), out=pointers[1:])
        values = levels[batch, inputs].astype(np.int64)
        fractional = values < denominator
        rows = np.where(fractional, np.cumsum(fractional), 0)
        x = np.empty((1 + int(fractional.sum()), self.words), dtype=np.uint64)
        x[0] = _ones(self.length)
        self._fill(x, rows[fractional], values[fractional], denominator)
        return pointers, inputs.astype(np.int64), rows, x

    def predict(self, images: np.ndarray, batch_size: int = 1000) -> np.ndarray:
        """Predicted labels for any number of images, in batches."""
        predictions = [np.empty(0, np.int64)]
        for start in range(0, len(images), batch_size):
            predictions.append(self.forward(images[start : start + batch_size]).predictions)
        return np.concatenate(predictions)


def device_levels(checkpoint: Checkpoint) -> list[float]:
    """Every probability strictly between 0 and 1 that the model's streams can need."""
    steps = checkpoint.states - 1
    levels = {k / steps for k in range(1, steps)}
    if checkpoint.input_8bit:
        levels |= {k / 255 for k in range(1, 255)}
    return sorted(levels)


def deterministic_scores(checkpoint: Checkpoint, images: np.ndarray) -> np.ndarray:
    """Output scores of the quantized network without SC noise (the L -> infinity limit)."""
    levels, denominator = pixel_levels(images, None if checkpoint.input_8bit else checkpoint.states)
    floor = activation_floor(checkpoint.encoding)
    h = half_range(checkpoint.states)
    steps = checkpoint.states - 1
    x = level_values(levels, denominator, checkpoint.encoding)
    for layer in checkpoint.layers[:-1]:
        z = layer.scale * (x @ (layer.weights.T / h)) + layer.bias
        # level = #{t : z >= c_t}, the same comparisons the engine makes on D/L
        level = np.clip(np.floor((z - floor) / (1.0 - floor) * steps + 0.5), 0, steps)
        x = floor + (1.0 - floor) * level / steps
    output = checkpoint.layers[-1]
    return output.scale * (x @ (output.weights.T / h)) + output.bias


def _ones(length: int) -> np.ndarray:
    ones = np.full(words_for(length), np.uint64(0xFFFF_FFFF_FFFF_FFFF))
    ones[-1] = tail_mask(length)
    return ones


@numba.njit(parallel=True, cache=True)
def _popcounts(streams: np.ndarray) -> np.ndarray:
    rows, columns, words = streams.shape
    out = np.empty((rows, columns), dtype=np.int64)
    for j in prange(rows):
        for i in range(columns):
            count = np.uint64(0)
            for w in range(words):
                count += popcount64(streams[j, i, w])
            out[j, i] = count
    return out


@numba.njit(parallel=True, fastmath=True, cache=True)
def _sign_magnitude_layer(pointers, inputs, rows, x, streams, positive, theta, sums, out_levels):
    """AND + popcount into two counters per (image, neuron), then the comparator bank.

    Branch-free: a zero weight is a constant-0 stream and simply counts nothing. The
    counter c+ takes the products of positive weights; c- = (all products) - c+.
    """
    n_out, _, words = streams.shape
    batch = pointers.size - 1
    for task in prange(batch * n_out):
        # neuron-major: one neuron's weight row stays in cache across the batch
        j = task // batch
        b = task - j * batch
        total = 0
        plus = 0
        for k in range(pointers[b], pointers[b + 1]):
            i = inputs[k]
            r = rows[k]
            acc = np.uint64(0)
            for w in range(words):
                acc += popcount64(x[r, w] & streams[j, i, w])
            count = np.int64(acc)
            total += count
            plus += count * positive[j, i]
        d = 2 * plus - total  # c+ - c-
        sums[b, j] = d
        level = 0
        for t in range(theta.shape[1]):
            level += d >= theta[j, t]
        out_levels[b, j] = level


@numba.njit(parallel=True, fastmath=True, cache=True)
def _bipolar_layer(
    pointers, inputs, rows, x, streams, popcounts, base, theta, length, sums, out_levels
):
    """XNOR + popcount into one counter C per (image, neuron), then the comparator bank.

    Inputs at level 0 are constant-0 streams, whose XNOR with w is ~w (L - popcount(w)
    ones); `base` holds that sum over all inputs and each other input replaces its term:
    XNOR ones = L - popcount(x ^ w). D = 2C - n_in·L.
    """
    n_out, n_in, words = streams.shape
    batch = pointers.size - 1
    for task in prange(batch * n_out):
        j = task // batch
        b = task - j * batch
        count = base[j]
        for k in range(pointers[b], pointers[b + 1]):
            i = inputs[k]
            r = rows[k]
            acc = np.uint64(0)
            for w in range(words):
                acc += popcount64(x[r, w] ^ streams[j, i, w])
            count += popcounts[j, i] - np.int64(acc)
        d = 2 * count - n_in * length
        sums[b, j] = d
        level = 0
        for t in range(theta.shape[1]):
            level += d >= theta[j, t]
        out_levels[b, j] = level
