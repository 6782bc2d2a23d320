import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from smtjlab.acquisition.packing import unpack_bits
from smtjlab.inference.bitsource import PoolBits
from smtjlab.inference.checkpoint import Checkpoint, Layer
from smtjlab.inference.encoding import Encoding
from smtjlab.inference.engine import ScEngine
from smtjlab.inference.quantize import pixel_levels

ENCODINGS = list(Encoding)


def random_checkpoint(rng, states, encoding, hidden, input_8bit):
    h = (states - 1) // 2
    widths = [784, *hidden, 10]
    layers = []
    for n_in, n_out in itertools.pairwise(widths):
        weights = rng.integers(-h, h + 1, size=(n_out, n_in)).astype(np.int8)
        # scales around the spread of the sums, so activations land on every level
        scale = np.exp(rng.normal(0, 0.5, n_out)) * 2 / np.sqrt(n_in)
        bias = rng.normal(0.3, 0.3, n_out)
        layers.append(Layer(weights, scale, bias))
    return Checkpoint(states, encoding, tuple(layers), input_8bit=input_8bit)


def random_images(rng, count):
    """Mostly black, some saturated and some grey pixels, like MNIST."""
    kind = rng.choice(3, size=(count, 784), p=[0.7, 0.15, 0.15])
    grey = rng.integers(1, 255, size=(count, 784))
    return np.where(kind == 0, 0, np.where(kind == 1, 255, grey)).astype(np.uint8)


def reference_forward(checkpoint, length, weight_streams, recorded):
    """The semantics of docs/sc-semantics.md on unpacked bits, one neuron at a time."""
    steps = checkpoint.states - 1
    floor = 0.0 if checkpoint.encoding == "sign-magnitude" else -1.0
    centres = [floor + (1 - floor) * (2 * t - 1) / (2 * steps) for t in range(1, steps + 1)]
    levels = recorded.levels[0]
    for index, layer in enumerate(checkpoint.layers):
        denominator = recorded.denominators[index]
        assert np.array_equal(levels, recorded.levels[index])
        x_bits = unpack_bits(recorded.streams[index], length)  # (B, in, L)
        w_bits = unpack_bits(weight_streams[index], length)  # (out, in, L)
        assert np.all(x_bits[levels == 0] == 0) and np.all(x_bits[levels == denominator] == 1)
        n_out, n_in = layer.weights.shape
        sums = np.zeros((len(levels), n_out), dtype=np.int64)
        for b in range(len(levels)):
            for j in range(n_out):
                if checkpoint.encoding == "sign-magnitude":
                    products = (x_bits[b] & w_bits[j]).sum(axis=1)
                    positive = int(products[layer.weights[j] > 0].sum())
                    negative = int(products[layer.weights[j] < 0].sum())
                    sums[b, j] = positive - negative
                else:
                    ones = int((1 - (x_bits[b] ^ w_bits[j])).sum())
                    sums[b, j] = 2 * ones - n_in * length
        assert np.array_equal(sums, recorded.sums[index])
        value = layer.scale * sums / length + layer.bias
        if index == len(checkpoint.layers) - 1:
            return np.argmax(value, axis=1)
        levels = sum((value >= centre).astype(np.int16) for centre in centres)


def check_weight_streams(checkpoint, engine):
    h = (checkpoint.states - 1) // 2
    for layer, streams in zip(checkpoint.layers, engine.weight_streams, strict=True):
        bits = unpack_bits(streams, engine.length)
        words = streams.shape[-1]
        assert np.all(unpack_bits(streams, 64 * words)[..., engine.length :] == 0)
        k = layer.weights.astype(int)
        full = h if checkpoint.encoding == "sign-magnitude" else -h
        if checkpoint.encoding == "sign-magnitude":
            assert np.all(bits[k == 0] == 0)
        else:
            assert np.all(bits[k == -h] == 0)
        assert np.all(bits[np.abs(k) == h if full > 0 else k == h] == 1)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    states=st.sampled_from([3, 5, 7, 11]),
    encoding=st.sampled_from(ENCODINGS),
    hidden=st.lists(st.integers(1, 5), min_size=0, max_size=2),
    # up to 17 words: whole 8-word vectors, a masked tail, and both together
    length=st.integers(1, 1100),
    batch=st.integers(1, 3),
    input_8bit=st.booleans(),
)
def test_engine_is_bit_exact_against_the_reference(
    seed, states, encoding, hidden, length, batch, input_8bit
):
    rng = np.random.default_rng(seed)
    checkpoint = random_checkpoint(rng, states, encoding, hidden, input_8bit)
    engine = ScEngine(checkpoint, length, seed=seed)
    check_weight_streams(checkpoint, engine)
    recorded = engine.forward(random_images(rng, batch), record=True)
    expected = reference_forward(checkpoint, length, engine.weight_streams, recorded)
    assert np.array_equal(recorded.predictions, expected)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_hidden_levels_are_exercised(encoding):
    """The random cases above reach every activation level, so the comparators are tested."""
    rng = np.random.default_rng(3)
    checkpoint = random_checkpoint(rng, 5, encoding, [64], False)
    recorded = ScEngine(checkpoint, 64, seed=3).forward(random_images(rng, 20), record=True)
    assert set(np.unique(recorded.levels[1])) == set(range(5))


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_same_seed_same_result_and_batching_does_not_matter_statistically(encoding):
    rng = np.random.default_rng(5)
    checkpoint = random_checkpoint(rng, 5, encoding, [16], False)
    images = random_images(rng, 40)
    first = ScEngine(checkpoint, 100, seed=9).forward(images)
    again = ScEngine(checkpoint, 100, seed=9).forward(images)
    assert np.array_equal(first.sums[-1], again.sums[-1])


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("length", [100, 2000])
def test_sums_scatter_with_the_variance_training_assumes(encoding, length):
    """D/L - Σwx has mean square Σ p(1-p)/L (sign-magnitude) or Σ(1-(wx)²)/L (bipolar).

    Weight streams are frozen per engine, so the average runs over several engines.
    """
    rng = np.random.default_rng(11)
    checkpoint = random_checkpoint(rng, 5, encoding, [300], False)
    images = random_images(rng, 50)
    levels, denominator = pixel_levels(images, 5)
    x = levels / denominator if encoding == "sign-magnitude" else 2 * levels / denominator - 1
    w = checkpoint.layers[0].weights / 2.0
    if encoding == "sign-magnitude":
        variance = (x @ np.abs(w).T - (x * x) @ (w * w).T) / length
    else:
        variance = (784 - (x * x) @ (w * w).T) / length
    squares = [
        np.mean(
            (ScEngine(checkpoint, length, seed=seed).forward(images).sums[0] / length - x @ w.T)
            ** 2
        )
        for seed in range(4)
    ]
    assert 0.9 < np.mean(squares) / np.mean(variance) < 1.1


def test_one_images_streams_never_share_pool_bits():
    # a pool with a unique pattern per 64-bit word shows where every stream was cut
    length = 128
    pool_words = 1 << 12  # 2^18 bits: 2048 slots of 128 bits, ample for one image
    rng = np.random.default_rng(5)
    bits = (rng.random(64 * pool_words) < 0.5).astype(np.uint8)
    bank = PoolBits({0.25: bits, 0.5: bits, 0.75: bits})
    checkpoint = random_checkpoint(rng, 5, "sign-magnitude", [32], False)
    engine = ScEngine(checkpoint, length, bits=bank, seed=3)
    forward = engine.forward(random_images(rng, 200), record=True)
    assert all(pool["overlap_rate"] == 0 for pool in bank.stats())
    streams = forward.streams[0]  # (images, inputs, words)
    levels = forward.levels[0]
    for image in range(len(levels)):
        for level in (1, 2, 3):
            drawn = streams[image][levels[image] == level]
            # equal streams of 128 random bits only come from the same offset
            assert len(np.unique(drawn, axis=0)) == len(drawn)


def test_a_length_whose_streams_would_not_fit_is_refused_saying_the_limit(monkeypatch):
    from smtjlab.inference import engine as engine_module
    from smtjlab.inference.engine import EngineError, stream_bytes

    checkpoint = random_checkpoint(np.random.default_rng(0), 5, "sign-magnitude", (16,), False)
    # 784-16-10: 2 x (16 x 784 + 16 x 16) weight streams and 784 per image, 8 bytes a word
    assert stream_bytes(checkpoint, 64, 0) == 8 * 2 * (16 * 784 + 16 * 16)
    assert stream_bytes(checkpoint, 6400, 10) == 8 * 100 * (2 * (16 * 784 + 16 * 16) + 7840)
    monkeypatch.setattr(engine_module, "available_memory", lambda: stream_bytes(checkpoint, 640, 0))
    ScEngine(checkpoint, 640)  # exactly fits
    with pytest.raises(
        EngineError, match=r"L = 1000000 needs .* GiB .* the longest L that fits is 640"
    ):
        ScEngine(checkpoint, 1_000_000)
    engine = ScEngine(checkpoint, 64)
    with pytest.raises(EngineError, match="and 1000 images at once"):
        engine.forward(random_images(np.random.default_rng(1), 1000))
