import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view
from smtjlab.acquisition.packing import unpack_bits, words_for
from smtjlab.inference.bitsource import BitSourceError, IdealBits, PoolBits


@settings(max_examples=25, deadline=None)
@given(
    p=st.sampled_from([0.5, 0.25, 0.75, 0.1, 0.3, 0.9, 1 / 255, 0.6]),
    count=st.integers(1, 40),
    length=st.integers(1, 300),
)
def test_ideal_bits_are_packed_with_zero_tails(p, count, length):
    words = IdealBits().draw(p, count, length, np.random.default_rng(0))
    assert words.dtype == np.uint64 and words.shape == (count, words_for(length))
    assert np.all(unpack_bits(words, 64 * words.shape[1])[:, length:] == 0)


@pytest.mark.parametrize("p", [0.5, 0.25, 0.75, 0.1, 0.3, 0.9, 1 / 255])
def test_ideal_bits_have_the_right_mean_and_no_lag_correlation(p):
    bits = unpack_bits(IdealBits().draw(p, 200, 1000, np.random.default_rng(1)), 1000)
    n = bits.size
    assert abs(bits.mean() - p) < 5 * np.sqrt(p * (1 - p) / n)
    centred = bits.astype(float) - p
    lag1 = (centred[:, 1:] * centred[:, :-1]).mean() / (p * (1 - p))
    assert abs(lag1) < 5 / np.sqrt(n)
    # streams are independent of each other too
    across = (centred[1:] * centred[:-1]).mean() / (p * (1 - p))
    assert abs(across) < 5 / np.sqrt(n)


@pytest.mark.parametrize("p", [0.0, 1.0, -0.1, 1e-12])
def test_ideal_bits_refuse_constant_probabilities(p):
    with pytest.raises(BitSourceError):
        IdealBits().draw(p, 1, 10, np.random.default_rng(0))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), length=st.integers(1, 200), count=st.integers(1, 20))
def test_pool_segments_are_windows_of_the_pool(seed, length, count):
    rng = np.random.default_rng(seed)
    bits = (rng.random(1000) < 0.3).astype(np.uint8)
    drawn = PoolBits({0.3: bits}).draw(0.3 + 1e-9, count, length, rng)
    assert drawn.shape == (count, words_for(length))
    assert np.all(unpack_bits(drawn, 64 * drawn.shape[1])[:, length:] == 0)
    windows = sliding_window_view(bits[: len(bits) // 64 * 64], length)
    for segment in unpack_bits(drawn, length):
        assert (windows == segment).all(axis=1).any()
