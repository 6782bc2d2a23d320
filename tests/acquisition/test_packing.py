import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from smtjlab.acquisition.packing import pack_bits, unpack_bits, words_for


@given(
    arrays(np.uint8, st.tuples(st.integers(1, 4), st.integers(1, 300)), elements=st.integers(0, 1))
)
def test_round_trip_and_popcount(bits):
    words = pack_bits(bits)
    assert words.dtype == np.uint64
    assert words.shape == (bits.shape[0], words_for(bits.shape[1]))
    np.testing.assert_array_equal(unpack_bits(words, bits.shape[1]), bits)
    popcounts = np.array([sum(bin(int(w)).count("1") for w in row) for row in words])
    np.testing.assert_array_equal(popcounts, bits.sum(axis=1))


def test_bit_order_is_lsb_first():
    bits = np.zeros(70, dtype=np.uint8)
    bits[[0, 63, 64]] = 1
    words = pack_bits(bits)
    assert words.tolist() == [1 | (1 << 63), 1]
