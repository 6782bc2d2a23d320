import sys

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view
from smtjlab.acquisition.packing import unpack_bits, words_for
from smtjlab.inference.bitsource import (
    BitSourceError,
    IdealBits,
    PoolBits,
    open_bit_source,
    read_bitpools,
    write_bitpools,
)


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
@given(seed=st.integers(0, 2**32 - 1), length=st.integers(1, 200), packed=st.booleans())
def test_pool_segments_are_windows_of_the_pool(seed, length, packed):
    rng = np.random.default_rng(seed)
    bits = (rng.random(1000) < 0.3).astype(np.uint8)
    pool = (
        PoolBits({0.3: bits})
        if not packed
        else PoolBits(
            {
                0.3: np.packbits(np.append(bits, np.zeros(24, np.uint8)), bitorder="little")
                .view("<u8")
                .astype(np.uint64)
            },
            {0.3: 1000},
        )
    )
    drawn = pool.draw(0.3 + 1e-9, 5, length, rng)
    assert drawn.shape == (5, words_for(length))
    assert np.all(unpack_bits(drawn, 64 * drawn.shape[1])[:, length:] == 0)
    windows = sliding_window_view(bits, length)
    for segment in unpack_bits(drawn, length):
        assert (windows == segment).all(axis=1).any()


def test_pools_name_missing_levels_and_short_pools():
    pool = PoolBits({0.25: np.ones(50, np.uint8), 0.5: np.ones(500, np.uint8)}, name="bench")
    with pytest.raises(BitSourceError, match=r"bench: no bit pool for p = 0\.75 \(pools: 0\.25"):
        pool.draw(0.75, 1, 10, np.random.default_rng(0))
    with pytest.raises(BitSourceError, match="holds 50 bits"):
        pool.draw(0.25, 1, 100, np.random.default_rng(0))


def test_bitpool_file_round_trip(tmp_path):
    rng = np.random.default_rng(2)
    pools = {p: (rng.random(777) < p).astype(np.uint8) for p in (0.25, 0.5, 0.75)}
    path = write_bitpools(tmp_path / "pools.h5", pools, source="synthetic")
    loaded = read_bitpools(path)
    assert loaded.levels == [0.25, 0.5, 0.75]
    whole = unpack_bits(loaded.draw(0.5, 1, 777, rng), 777)[0]
    assert np.array_equal(whole, pools[0.5])
    # the uint8 layout is read as well as the packed one
    with h5py.File(path, "a") as handle:
        del handle["levels/p0.500000"]
        handle["levels/half"] = pools[0.5]
        handle["levels/half"].attrs["p_target"] = 0.5
    assert np.array_equal(
        unpack_bits(read_bitpools(path).draw(0.5, 1, 777, rng), 777)[0], pools[0.5]
    )


def corrupt(path, how):
    with h5py.File(path, "a") as handle:
        level = handle["levels/p0.500000"]
        if how == "format":
            handle.attrs["format"] = "smtjlab.traces"
        elif how == "p_target":
            level.attrs["p_target"] = 1.5
        elif how == "n_bits":
            level.attrs["n_bits"] = 10_000
        elif how == "dtype":
            del handle["levels/p0.500000"]
            handle["levels/p0.500000"] = np.zeros(10, np.float32)
            handle["levels/p0.500000"].attrs["p_target"] = 0.5
        elif how == "values":
            del handle["levels/p0.500000"]
            handle["levels/p0.500000"] = np.full(10, 2, np.uint8)
            handle["levels/p0.500000"].attrs["p_target"] = 0.5
        elif how == "duplicate":
            handle["levels/again"] = np.zeros(10, np.uint8)
            handle["levels/again"].attrs["p_target"] = 0.5


@pytest.mark.parametrize("how", ["format", "p_target", "n_bits", "dtype", "values", "duplicate"])
def test_bad_bitpool_files_give_one_clear_error(tmp_path, how):
    path = write_bitpools(tmp_path / "pools.h5", {0.5: np.ones(100, np.uint8)})
    corrupt(path, how)
    with pytest.raises(BitSourceError) as raised:
        read_bitpools(path)
    assert str(path) in str(raised.value) and "\n" not in str(raised.value)


def test_not_hdf5_and_missing_files(tmp_path):
    path = tmp_path / "pools.h5"
    path.write_bytes(b"not hdf5")
    with pytest.raises(BitSourceError, match="cannot read"):
        read_bitpools(path)
    with pytest.raises(BitSourceError, match="no such bit-pool file"):
        open_bit_source(str(tmp_path / "absent.h5"), [0.5])


def test_mock_bits_without_the_bench_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "smtjlab.bench", None)
    with pytest.raises(BitSourceError, match="mock_bit_bank"):
        open_bit_source("mock", [0.25, 0.5, 0.75])
    assert isinstance(open_bit_source("ideal", [0.5]), IdealBits)
