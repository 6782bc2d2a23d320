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

import os
from dataclasses import dataclass

import numba
import numpy as np
from numba import prange
from numba.extending import register_jitable
from smtjlab.acquisition.packing import words_for
from smtjlab.acquisition.pool import tail_mask
from smtjlab.inference.bitsource import BitSource, IdealBits
from smtjlab.inference.checkpoint import Checkpoint, Layer
from smtjlab.inference.encoding import Encoding
from smtjlab.inference.lanes import (
    AND,
    LANES,
    XOR,
    lanes_add,
    lanes_get,
    lanes_segment,
    lanes_sub_and,
    lanes_sum,
    lanes_zero,
    popcount_into,
)
from smtjlab.inference.quantize import half_range, pixel_levels

from smtjlab.errors import SmtjlabError

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


GROUP = 8  # neurons per kernel task: they share every input-stream word they load
BLOCK = 32  # images per kernel task: their input streams stay in cache


def span_of(words: int) -> int:
    """Words per weight stream in the kernels' layout: streams shorter than a vector are
    padded to 1, 2, 4 or 8 words, so that a vector holds whole streams of 8/span neurons."""
    if words >= LANES:
        return words
    return 1 << (words - 1).bit_length()


class EngineError(SmtjlabError):
    """A request the engine refuses up front: streams that would not fit in memory."""


def stream_bytes(checkpoint: Checkpoint, length: int, images: int, programmed: bool = False) -> int:
    """The packed stream memory an engine at `length` needs to classify `images` at once.

    Programming draws every weight stream and then lays them out densely (two copies; none
    more once `programmed`); a batch needs a fresh stream for each image's inputs of the
    widest layer.
    """
    weights = sum(
        -(-layer.weights.shape[0] // GROUP) * GROUP * layer.weights.shape[1]
        for layer in checkpoint.layers
    )
    widest = max(layer.weights.shape[1] for layer in checkpoint.layers)
    words = words_for(length)
    # short input streams are tiled to a whole vector for the kernels
    inputs = images * widest * max(words, LANES if words < LANES else words)
    return 8 * (inputs + (0 if programmed else 2 * weights * span_of(words)))


def available_memory() -> int:
    """Bytes of memory the system can give now (MemAvailable; free pages elsewhere)."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def check_memory(
    checkpoint: Checkpoint, length: int, images: int, programmed: bool = False
) -> None:
    """Refuse a length whose streams would not fit in the memory available, saying the limit."""
    needed = stream_bytes(checkpoint, length, images, programmed)
    available = available_memory()
    if needed <= available:
        return
    per_word = stream_bytes(checkpoint, 64, images, programmed)  # per 64 bits of length
    longest = available // per_word * 64
    batch = f" and {images} images at once" if images else ""
    raise EngineError(
        f"L = {length} needs {needed / 2**30:.1f} GiB of packed streams for the "
        f"{'-'.join(map(str, checkpoint.widths))} network{batch}, more than the "
        f"{available / 2**30:.1f} GiB available: the longest L that fits is {longest}"
    )


@dataclass(frozen=True)
class _Programmed:
    """One layer on the engine: weight streams and what the kernels need besides."""

    n_out: int  # real neurons; the arrays below have a multiple of GROUP neurons
    # uint64 (out/GROUP, in, GROUP·span): per task and input, its neurons' streams side by side,
    # each padded to `span` words; a negative weight's stream is stored complemented (see
    # _layer_kernel)
    streams: np.ndarray
    negate: np.ndarray  # int64 (in, out): -1 where the weight is negative, else 0
    constant: np.ndarray  # int64 (in, out): the signed count of each product with a 1 stream
    popcounts: np.ndarray  # int64 (out, in): ones in each weight stream
    base: np.ndarray  # int64 (out,): bipolar count when every input is constant 0
    theta: np.ndarray  # int64 (out, N-1) comparator thresholds; (out, 0) for the output layer


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
            raise EngineError(f"stream length must be >= 1, got {length}")
        check_memory(checkpoint, length, 0)
        self.checkpoint = checkpoint
        self.length = int(length)
        self.bits = bits if bits is not None else IdealBits()
        self.rng = np.random.default_rng(seed)
        self.words = words_for(self.length)
        states = checkpoint.states
        self._span = span_of(self.words)
        self._kernel = _KERNELS[checkpoint.encoding, min(self._span, LANES + 1)]
        last = len(checkpoint.layers) - 1
        self._layers = [
            self._program(layer, None if index == last else states)
            for index, layer in enumerate(checkpoint.layers)
        ]

    @property
    def weight_streams(self) -> list[np.ndarray]:
        """The programmed weight streams, (out, in, words) per layer (read-only copies)."""
        views = []
        for layer in self._layers:
            groups, n_in, _ = layer.streams.shape
            streams = layer.streams.reshape(groups, n_in, GROUP, self._span)[..., : self.words]
            streams = streams.transpose(0, 2, 1, 3).reshape(groups * GROUP, n_in, self.words)
            negative = layer.negate.T[..., None] != 0
            view = np.where(negative, streams ^ _ones(self.length), streams)[: layer.n_out]
            view.flags.writeable = False
            views.append(view)
        return views

    @property
    def levels(self) -> list[float]:
        """The device levels (0 < p < 1) this model can ask the bit source for."""
        return device_levels(self.checkpoint)

    def _program(self, layer: Layer, states: int | None) -> _Programmed:
        """Draw a layer's weight streams once, and fold its scale and bias into thresholds.

        The kernels handle neurons in groups of GROUP, so the arrays are padded with idle
        neurons (zero weights) up to a multiple of it.
        """
        h = half_range(self.checkpoint.states)
        n_out = len(layer.weights)
        padded = -(-n_out // GROUP) * GROUP
        levels = np.zeros((padded, layer.weights.shape[1]), dtype=np.int64)
        levels[:n_out] = layer.weights
        encoding = self.checkpoint.encoding
        streams = self.draw_levels(encoding.weight_numerators(levels, h), 2 * h)
        popcounts = _popcounts(streams)
        base = (self.length - popcounts).sum(axis=1)  # only the bipolar kernel uses it
        theta = np.zeros((padded, 0 if states is None else states - 1), dtype=np.int64)
        if states is not None:
            theta[:n_out] = thresholds(layer, states, self.length, encoding.floor)
        negative = (levels < 0) & encoding.signed_counters
        if encoding.signed_counters:  # AND with a constant-1 stream counts ±popcount(w)
            constant = np.where(negative, -popcounts, popcounts)
        else:  # XOR with it counts the zeros of w
            constant = self.length - popcounts
        return _Programmed(
            n_out,
            _layout(streams, negative, _ones(self.length), self._span),
            -np.ascontiguousarray(negative.T, dtype=np.int64),
            np.ascontiguousarray(constant.T, dtype=np.int64),
            popcounts,
            base.astype(np.int64),
            theta,
        )

    def draw_levels(self, numerator: np.ndarray, denominator: int) -> np.ndarray:
        """Streams (…, words) with P(1) = numerator/denominator: constants for 0 and 1.

        Each slice along the last axis (one neuron's weights) is one owner.
        """
        levels = numerator.reshape(-1, numerator.shape[-1] if numerator.ndim else 1)
        pointers, _, inputs, rows, x = self._input_streams(levels, denominator)
        return _dense(levels.shape, pointers, inputs, rows, x).reshape(*numerator.shape, self.words)

    def forward(self, images: np.ndarray, record: bool = False) -> Forward:
        """Classify a batch of uint8 images (B, 28, 28) or (B, 784)."""
        checkpoint = self.checkpoint
        check_memory(checkpoint, self.length, len(images), programmed=True)
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
        signed = checkpoint.encoding.signed_counters
        for layer in self._layers:
            result.levels.append(levels)
            result.denominators.append(denominator)
            pointers, splits, inputs, rows, x = self._input_streams(levels, denominator)
            padded = layer.streams.shape[0] * GROUP
            sums = np.empty((len(levels), padded), dtype=np.int64)
            out_levels = np.empty((len(levels), padded), dtype=np.int16)
            self._kernel(
                pointers,
                splits,
                inputs,
                rows,
                _tiled(x, self._span),
                _row_popcounts(x) if signed else _NO_COUNTS,
                layer.streams,
                layer.negate,
                layer.constant,
                layer.popcounts,
                layer.base,
                layer.theta,
                self.length,
                sums,
                out_levels,
            )
            sums, out_levels = sums[:, : layer.n_out], out_levels[:, : layer.n_out]
            result.sums.append(sums)
            if record:
                result.streams.append(_dense(levels.shape, pointers, inputs, rows, x))
            levels, denominator = out_levels, checkpoint.states - 1
        output = checkpoint.layers[-1]
        result.scores = output.scale * result.sums[-1] / self.length + output.bias
        result.predictions = np.argmax(result.scores, axis=1)
        return result

    def _input_streams(self, levels: np.ndarray, denominator: int):
        """Each row's (image's) non-constant-0 inputs as a CSR list, and their streams.

        Returns pointers (B+1,) and splits (B,), input index and stream row per entry, and
        the stream rows x. Row b's entries pointers[b]:splits[b] are its constant-1 inputs
        (level `denominator`, all on row 0, the constant-1 stream), and splits[b]:pointers[b+1]
        its fractional inputs, each on a freshly drawn row of its own. Rows are level-major, so
        the bit source writes each level's streams as one contiguous block, and each image's
        streams of a level are one group.
        """
        pointers, splits, inputs, rows, starts, owned = _csr(levels, denominator)
        x = np.empty((starts[-1], self.words), dtype=np.uint64)
        x[0] = _ones(self.length)
        for level in np.flatnonzero(np.diff(starts)):
            groups = owned[level]
            x[starts[level] : starts[level + 1]] = self.bits.draw(
                level / denominator,
                int(starts[level + 1] - starts[level]),
                self.length,
                self.rng,
                groups[groups > 0],
            )
        return pointers, splits, inputs, rows, x

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
    floor = checkpoint.encoding.floor
    h = half_range(checkpoint.states)
    steps = checkpoint.states - 1
    x = checkpoint.encoding.values(levels, denominator)
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


def _dense(shape: tuple[int, int], pointers, inputs, rows, x) -> np.ndarray:
    """Every stream (B, in, words) of a CSR list, constant-0 ones included."""
    dense = np.zeros((*shape, x.shape[1]), dtype=np.uint64)
    _scatter(pointers, inputs, rows, x, dense)
    return dense


@numba.njit(cache=True, nogil=True)
def _scatter(pointers, inputs, rows, x, dense):
    for b in range(pointers.size - 1):
        for k in range(pointers[b], pointers[b + 1]):
            dense[b, inputs[k]] = x[rows[k]]


@numba.njit(cache=True, nogil=True)
def _layout(streams, negative, ones, span):
    """Weight streams (out, in, words) in the kernels' layout (out/GROUP, in, GROUP·span).

    x AND ~w = x - (x AND w): a negative weight's stream is stored complemented (within L),
    which turns the product's subtraction into an addition; the kernel takes popcount(x) off
    once per input for the neurons whose mask is set.
    """
    n_out, n_in, words = streams.shape
    out = np.zeros((n_out // GROUP, n_in, GROUP * span), dtype=np.uint64)
    for j in range(n_out):
        g, q = j // GROUP, j % GROUP
        for i in range(n_in):
            flip = negative[j, i]
            for w in range(words):
                value = streams[j, i, w]
                out[g, i, q * span + w] = (value ^ ones[w]) if flip else value
    return out


_NO_COUNTS = np.zeros(0, dtype=np.int64)  # popcounts of input rows, for kernels without signs


def _tiled(x: np.ndarray, span: int) -> np.ndarray:
    """Input streams as the kernels read them: a stream shorter than a vector is padded to
    `span` words and repeated to fill one, so it lines up with each of the 8/span neurons'
    weight streams that a vector holds."""
    words = x.shape[1]
    if words >= LANES:
        return x
    tiled = np.zeros((len(x), LANES), dtype=np.uint64)
    for first in range(0, LANES, span):
        tiled[:, first : first + words] = x
    return tiled


@numba.njit(parallel=True, cache=True)
def _csr(levels, denominator):
    """The CSR lists of ScEngine._input_streams in two passes over `levels` (B, in), each
    parallel over rows (images): the second knows each row's first stream row per level.

    Also returns starts (denominator+1,): level k's rows are starts[k]:starts[k+1] (empty
    for k = 0), in row-major order within the level, and owned (denominator, B): how many
    of row b's streams are at level k. Levels >= denominator share the constant-1 row 0.
    """
    batch, width = levels.shape
    owned = np.zeros((denominator, batch), dtype=np.int64)
    entries = np.zeros(batch, dtype=np.int64)
    constants = np.zeros(batch, dtype=np.int64)
    for b in prange(batch):
        nonzero = 0
        constant = 0
        for i in range(width):
            level = levels[b, i]
            nonzero += level > 0
            if level >= denominator:
                constant += 1
            elif level > 0:
                owned[level, b] += 1
        entries[b] = nonzero
        constants[b] = constant
    pointers = np.zeros(batch + 1, dtype=np.int64)
    for b in range(batch):
        pointers[b + 1] = pointers[b] + entries[b]
    splits = pointers[:-1] + constants
    starts = np.ones(denominator + 1, dtype=np.int64)
    first = np.zeros((denominator, batch), dtype=np.int64)  # row b's first stream row per level
    for level in range(1, denominator):
        row = starts[level]
        for b in range(batch):
            first[level, b] = row
            row += owned[level, b]
        starts[level + 1] = row
    inputs = np.empty(pointers[batch], dtype=np.int64)
    rows = np.zeros(pointers[batch], dtype=np.int64)
    for b in prange(batch):
        following = first[:, b].copy()  # the next free stream row of each level
        one = pointers[b]  # the next constant-1 entry of this row, then the next drawn one
        drawn = splits[b]
        for i in range(width):
            level = levels[b, i]
            if level >= denominator:
                inputs[one] = i
                one += 1
            elif level > 0:
                inputs[drawn] = i
                rows[drawn] = following[level]
                following[level] += 1
                drawn += 1
    return pointers, splits, inputs, rows, starts, owned


@numba.njit(cache=True, nogil=True)
def _popcounts(streams: np.ndarray) -> np.ndarray:
    # serial: a layer's weights take milliseconds, and a parallel region waits for its slowest
    # thread, which on a loaded machine costs more than it saves
    rows, columns, words = streams.shape
    out = np.empty((rows, columns), dtype=np.int64)
    for j in range(rows):
        for i in range(columns):
            count = np.uint64(0)
            for w in range(words):
                count += popcount64(streams[j, i, w])
            out[j, i] = count
    return out


@numba.njit(cache=True, nogil=True)
def _row_popcounts(x: np.ndarray) -> np.ndarray:
    """Ones in each input stream (rows, words); serial: a batch's rows take well under 1 ms."""
    out = np.empty(x.shape[0], dtype=np.int64)
    for r in range(x.shape[0]):
        count = np.uint64(0)
        for w in range(x.shape[1]):
            count += popcount64(x[r, w])
        out[r] = count
    return out


@numba.njit(inline="always")
def _levels(d, theta, j):
    level = 0
    for t in range(theta.shape[1]):
        level += d >= theta[j, t]
    return level


@numba.njit(inline="always")
def _fresh_accumulators():
    """GROUP zeroed accumulators, one per neuron of a task."""
    return (
        lanes_zero(),
        lanes_zero(),
        lanes_zero(),
        lanes_zero(),
        lanes_zero(),
        lanes_zero(),
        lanes_zero(),
        lanes_zero(),
    )


@register_jitable(inline="always")
def _counter_difference(count, pointers, inputs, b, j, popcounts, base, n_in, length):
    """sign-magnitude: the accumulator already holds D = c+ - c- (negative weights subtract)."""
    return count


@register_jitable(inline="always")
def _xnor_difference(count, pointers, inputs, b, j, popcounts, base, n_in, length):
    """bipolar: D = 2C - n_in·L from the XOR count of the non-constant-0 inputs.

    Inputs at level 0 are constant-0 streams, whose XNOR with w is ~w (L - popcount(w)
    ones); `base` holds that sum over all inputs and each other input replaces its term:
    XNOR ones = L - popcount(x ^ w).
    """
    ones = base[j] - count
    for k in range(pointers[b], pointers[b + 1]):
        ones += popcounts[j, inputs[k]]
    return 2 * ones - n_in * length


def _layer_kernel(op: int, difference, span: int):
    """A layer kernel that multiplies streams with `op` (AND or XOR) and turns each neuron's
    popcount into D with `difference`, for weight streams of `span` words (1, 2, 4 or 8: a
    vector holds 8/span neurons' streams; LANES + 1: longer streams, one neuron per vector).

    All three are compile-time constants of the kernel returned (numba freezes closed-over
    values and inlines `difference`), so each encoding and span gets its own machine code from
    this one source, as fast as a hand-written copy. `difference` is a register_jitable
    function, not an njit dispatcher: numba keys its on-disk cache on a pickle of the
    closed-over values, and a dispatcher pickles with a fresh uuid in every process (no cache
    hit), a plain function by its name.
    """
    signed = op == AND
    short = span <= LANES

    @numba.njit(parallel=True, fastmath=True, cache=True)
    def kernel(
        pointers,
        splits,
        inputs,
        rows,
        x,
        x_popcounts,
        streams,
        negate,
        constant,
        popcounts,
        base,
        theta,
        length,
        sums,
        levels,
    ):
        """Products + popcount into D per (image, neuron), then the comparator bank.

        A task is GROUP neurons x BLOCK images; the GROUP neurons share each input word they
        load. A constant-1 input adds its precomputed counts (`constant`) to all GROUP
        neurons in one vector, with no product. Branch-free otherwise: a zero-weight
        sign-magnitude stream is constant 0 and counts nothing, and a negative weight's
        stream is stored complemented, x AND ~w = x - (x AND w), so its count is added and
        popcount(x) is subtracted once, where `negate` is -1.
        """
        groups, n_in, block = streams.shape
        padded = groups * GROUP
        words = x.shape[1]  # LANES for tiled short streams
        full = words - words % LANES
        batch = pointers.size - 1
        blocks = (batch + BLOCK - 1) // BLOCK
        for task in prange(groups * blocks):
            # group-major: a thread's consecutive tasks share one group's weight streams
            g = task // blocks
            first = (task % blocks) * BLOCK
            j = g * GROUP
            for b in range(first, min(batch, first + BLOCK)):
                acc = _fresh_accumulators()
                fixed = lanes_zero()  # one lane per neuron: constant inputs and signs
                for k in range(pointers[b], splits[b]):
                    lanes_add(fixed, constant, inputs[k] * padded + j)
                for k in range(splits[b], pointers[b + 1]):
                    i = inputs[k]
                    xo = rows[k] * words  # flat offsets of the input stream and of w[j, i]
                    wo = (g * n_in + i) * block
                    if short:  # vector v holds neurons v·8/span … of the task
                        for v in range(span):
                            popcount_into(acc[v], op, x, xo, streams, wo + v * LANES, LANES)
                    else:
                        for c in range(0, full, LANES):  # whole vectors: plain loads
                            for q in range(GROUP):
                                popcount_into(
                                    acc[q], op, x, xo + c, streams, wo + q * words + c, LANES
                                )
                        if full < words:
                            n = words - full
                            for q in range(GROUP):
                                popcount_into(
                                    acc[q], op, x, xo + full, streams, wo + q * words + full, n
                                )
                    if signed:
                        lanes_sub_and(fixed, negate, i * padded + j, x_popcounts[rows[k]])
                for q in range(GROUP):
                    if short:
                        count = lanes_segment(acc[q * span // LANES], q * span % LANES, span)
                    else:
                        count = lanes_sum(acc[q])
                    count += lanes_get(fixed, q)
                    d = difference(count, pointers, inputs, b, j + q, popcounts, base, n_in, length)
                    sums[b, j + q] = d
                    levels[b, j + q] = _levels(d, theta, j + q)

    return kernel


# The layer kernel of each encoding and span (1, 2, 4, 8 words, LANES + 1 for longer streams);
# numba compiles each the first time it runs.
_KERNELS = {
    (encoding, span): _layer_kernel(op, difference, span)
    for encoding, op, difference in (
        (Encoding.SIGN_MAGNITUDE, AND, _counter_difference),
        (Encoding.BIPOLAR, XOR, _xnor_difference),
    )
    for span in (1, 2, 4, LANES, LANES + 1)
}
