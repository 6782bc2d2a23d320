"""SC engine benchmarks for `smtjlab bench` (DESIGN §6), each a ratio measured in the same run.

Workload: a 784-128-10 sign-magnitude network with 5-state weights (synthetic: uniformly
drawn levels, a fixed seed) on the first MNIST test images, streams of L = 512 bits, ideal
bits, numba on 2 threads. Three ways to run it:

- the engine (`ScEngine.predict`), stream drawing included;
- a bit-per-element baseline, as SC simulators usually do it: every bit a float32, and per
  clock cycle one matrix product of the batch's input bits with the signed weight bits;
- a roofline: a tight numba loop that ANDs and popcounts exactly as many packed words as the
  engine's kernels multiply for these images (the fractional inputs' words), with none of
  the engine's bookkeeping (no input lists, no stream drawing, no signs, no comparators), on
  contiguous data.
"""

from __future__ import annotations

import itertools

import numba
import numpy as np
from numba import prange

from smtjlab.benchmarks.timing import best_seconds, result_row
from smtjlab.inference.checkpoint import Checkpoint, Layer
from smtjlab.inference.encoding import Encoding
from smtjlab.inference.engine import ScEngine, popcount64
from smtjlab.inference.mnist import load_mnist
from smtjlab.inference.quantize import pixel_levels

WIDTHS = (784, 128, 10)
STATES = 5
LENGTH = 512
THREADS = 2
ENGINE_IMAGES = 2000
BASELINE_IMAGES = 100
BASELINE_TARGET = 50.0
ROOFLINE_TARGET = 0.5


def benchmark_checkpoint(seed: int = 0) -> Checkpoint:
    """Synthetic 784-128-10 weights; scales put about half the hidden neurons above 0."""
    rng = np.random.default_rng(seed)
    h = (STATES - 1) // 2
    layers = []
    for n_in, n_out in itertools.pairwise(WIDTHS):
        weights = rng.integers(-h, h + 1, size=(n_out, n_in)).astype(np.int8)
        layers.append(Layer(weights, np.full(n_out, 2.0 / np.sqrt(n_in)), np.full(n_out, 0.3)))
    return Checkpoint(STATES, Encoding.SIGN_MAGNITUDE, tuple(layers))


def engine_benchmarks() -> list[dict]:
    numba.set_num_threads(min(THREADS, numba.config.NUMBA_NUM_THREADS))
    checkpoint = benchmark_checkpoint()
    images = load_mnist("test")[0][:ENGINE_IMAGES]
    engine = ScEngine(checkpoint, LENGTH, seed=0)
    engine.predict(images[:100])  # compile and warm up
    engine_s = best_seconds(lambda: engine.predict(images, batch_size=500), repeats=3)
    engine_rate = len(images) / engine_s

    baseline = BitPerElement(checkpoint, LENGTH, seed=0)
    baseline.predict(images[:10])
    baseline_s = best_seconds(lambda: baseline.predict(images[:BASELINE_IMAGES]), repeats=2)
    baseline_rate = BASELINE_IMAGES / baseline_s

    words = kernel_words(engine, images)
    roofline_s = _roofline_seconds(words, len(images), engine.words)
    roofline_rate = len(images) / roofline_s
    name = f"SC engine, {'-'.join(map(str, WIDTHS))} network, L = {LENGTH}, {THREADS} threads"
    return [
        result_row(
            name,
            engine_rate,
            "images/s",
            "bit-per-element: a float per bit, a matrix product per clock cycle",
            baseline_rate,
            f">= {BASELINE_TARGET:g} x baseline",
            engine_rate >= BASELINE_TARGET * baseline_rate,
        ),
        result_row(
            name,
            engine_rate,
            "images/s",
            f"packed AND+popcount roofline over the same {words / len(images):.0f} words/image",
            roofline_rate,
            f">= {ROOFLINE_TARGET:g} x roofline",
            engine_rate >= ROOFLINE_TARGET * roofline_rate,
        ),
    ]


def kernel_words(engine: ScEngine, images: np.ndarray) -> int:
    """Packed word pairs the engine's kernels AND and popcount for these images: those of
    the fractional inputs. Constant-0 inputs cost nothing and constant-1 ones add
    precomputed counts, so neither is multiplied (docs/benchmarks.md)."""
    total = 0
    for start in range(0, len(images), 500):
        forward = engine.forward(images[start : start + 500])
        layers = zip(forward.levels, forward.denominators, engine.checkpoint.layers, strict=True)
        for levels, denominator, layer in layers:
            fractional = int(np.count_nonzero((levels > 0) & (levels < denominator)))
            total += fractional * layer.weights.shape[0] * engine.words
    return total


class BitPerElement:
    """The baseline: unpacked float32 bits and one matrix product per clock cycle."""

    def __init__(self, checkpoint: Checkpoint, length: int, seed: int) -> None:
        self.checkpoint = checkpoint
        self.length = length
        self.rng = np.random.default_rng(seed)
        h = (checkpoint.states - 1) // 2
        # weight bits drawn once, signed: (L, in, out) so that one clock is one matmul
        self.weight_bits = []
        for layer in checkpoint.layers:
            p = np.abs(layer.weights.T.astype(np.float32)) / h
            bits = self.rng.random((length, *p.shape), dtype=np.float32) < p
            self.weight_bits.append(bits.astype(np.float32) * np.sign(layer.weights.T))

    def predict(self, images: np.ndarray) -> np.ndarray:
        steps = self.checkpoint.states - 1
        levels, denominator = pixel_levels(images, self.checkpoint.states)
        x = (levels / denominator).astype(np.float32)
        for index, layer in enumerate(self.checkpoint.layers):
            bits = (self.rng.random((self.length, *x.shape), dtype=np.float32) < x).astype(
                np.float32
            )
            counts = np.zeros((len(x), layer.weights.shape[0]), dtype=np.float32)
            for t in range(self.length):  # one clock cycle
                counts += bits[t] @ self.weight_bits[index][t]
            z = layer.scale * counts / self.length + layer.bias
            if index == len(self.checkpoint.layers) - 1:
                return np.argmax(z, axis=1)
            x = np.clip(np.floor(z * steps + 0.5), 0, steps) / steps
        raise AssertionError("unreachable")


def _roofline_seconds(total_words: int, images: int, words: int) -> float:
    """Best time of a tight AND+popcount loop over `total_words` word pairs.

    The same volume as the engine's, laid out at its best: per image, one contiguous `run` of
    words (a whole number of streams) against each of 128 neurons' contiguous weight runs
    (which stay in cache), summed in one reduction per (image, neuron), so LLVM vectorizes
    it end to end.
    """
    neurons = WIDTHS[1]
    run = max(1, round(total_words / (images * neurons * words))) * words
    rng = np.random.default_rng(0)
    x = rng.integers(0, 2**63, size=(images, run), dtype=np.uint64)
    w = rng.integers(0, 2**63, size=(neurons, run), dtype=np.uint64)
    out = np.empty((images, neurons), dtype=np.int64)
    _and_popcount(x[:10], w, out)
    seconds = best_seconds(lambda: _and_popcount(x, w, out), repeats=5)
    return seconds * total_words / (images * neurons * run)


@numba.njit(parallel=True, fastmath=True, cache=True)
def _and_popcount(x, w, out):
    neurons, run = w.shape
    for b in prange(x.shape[0]):
        for j in range(neurons):
            acc = np.uint64(0)
            for k in range(run):
                acc += popcount64(x[b, k] & w[j, k])
            out[b, j] = acc
