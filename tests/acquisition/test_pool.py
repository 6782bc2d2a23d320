import threading

import h5py
import numpy as np
import pytest
from smtjlab.acquisition.packing import unpack_bits, words_for
from smtjlab.acquisition.pool import (
    BitBank,
    BitPool,
    BitPoolError,
    _cut_segments,
    _offsets,
    tail_mask,
)


def bernoulli(p, n, seed=0):
    return (np.random.default_rng(seed).random(n) < p).astype(np.uint8)


@pytest.mark.parametrize("length", [1, 63, 64, 65, 500])
def test_segments_are_the_bits_at_their_offsets(length):
    bits = bernoulli(0.5, 5000)
    pool = BitPool(0.5, 5000)
    pool.append(bits)
    held = pool.bits()
    offsets = np.array([0, 1, 63, 64, 100, pool.n_bits - length])
    segments = _cut_segments(pool._words, offsets, length, tail_mask(length))
    assert segments.shape == (len(offsets), words_for(length))
    for offset, segment in zip(offsets, segments, strict=True):
        np.testing.assert_array_equal(unpack_bits(segment, length), held[offset : offset + length])
        tail = unpack_bits(segment, 64 * words_for(length))[length:]
        assert not tail.any()  # bits past the stream are zero


def test_one_draw_never_overlaps_when_the_pool_is_big_enough():
    rng = np.random.default_rng(1)
    for _ in range(50):
        offsets, overlapping = _offsets(100_000, 190, 500, rng)
        gaps = np.diff(np.sort(offsets))
        assert overlapping == 0 and gaps.min() >= 500
        assert offsets.min() >= 0 and offsets.max() <= 100_000 - 500


def overlaps_within(offsets, length):
    """Brute force: how many segments overlap another of the same list."""
    near = np.abs(offsets[:, None] - offsets[None, :]) < length
    np.fill_diagonal(near, False)
    return int(near.any(axis=1).sum())


def test_a_group_of_one_image_never_shares_bits_when_it_fits():
    rng = np.random.default_rng(2)
    groups = [30, 12, 39, 5, 25, 33]  # a 4096-bit pool has 39 or 40 slots of 100 bits
    offsets, overlapping = _offsets(4096, sum(groups), 100, rng, groups)
    assert overlapping == 0
    for group in np.split(offsets, np.cumsum(groups)[:-1]):
        assert overlaps_within(group, 100) == 0
    assert offsets.min() >= 0 and offsets.max() <= 4096 - 100


def test_an_oversized_group_spans_rounds_and_counts_its_overlaps():
    offsets, overlapping = _offsets(4096, 100, 100, np.random.default_rng(2))
    assert len(offsets) == 100
    # a round is one phase (offset mod length); consecutive rounds here have different ones
    rounds = np.split(offsets, np.flatnonzero(np.diff(offsets % 100)) + 1)
    assert len(rounds) == 3 and all(overlaps_within(r, 100) == 0 for r in rounds)
    assert overlapping == overlaps_within(offsets, 100) > 0

    pool = BitPool(0.5, 4096)
    pool.append(bernoulli(0.5, 4096))
    pool.draw(100, 100, np.random.default_rng(2))
    stats = pool.stats()
    assert stats["drawn_segments"] == 100 and stats["overlap_rate"] == overlapping / 100
    assert stats["reuse"] == pytest.approx(100 * 100 / 4096)


def test_draws_carry_the_pool_probability():
    pool = BitPool(0.3, 1 << 20)
    pool.append(bernoulli(0.3, 1 << 20))
    streams = pool.draw(1000, 256, np.random.default_rng(3))
    ones = np.unpackbits(streams.view(np.uint8)).sum() / (1000 * 256)
    assert ones == pytest.approx(0.3, abs=0.01)
    assert pool.p_measured == pytest.approx(0.3, abs=0.002)


def test_the_store_keeps_the_newest_whole_words():
    pool = BitPool(0.5, 128)
    bits = bernoulli(0.5, 300, seed=4)
    pool.append(bits[:100])
    pool.append(bits[100:])
    assert pool.n_bits == 128 and pool.appended == 300
    np.testing.assert_array_equal(np.sort(pool.bits()), np.sort(bits[128:256]))
    np.testing.assert_array_equal(pool.bits(), bits[128:256])


def test_bank_routes_by_level_and_serves_constants():
    bank = BitBank([BitPool(p, 4096) for p in (0.25, 0.75)])
    for pool in bank.pools:
        pool.append(bernoulli(pool.p_target, 4096))
    rng = np.random.default_rng(5)
    assert bank.draw(0.25, 3, 100, rng).shape == (3, 2)
    ones = bank.draw(1.0, 2, 100, rng)
    assert unpack_bits(ones, 128)[:, :100].all() and not unpack_bits(ones, 128)[:, 100:].any()
    assert not bank.draw(0.0, 2, 100, rng).any()
    with pytest.raises(BitPoolError, match=r"no bit pool for p = 0\.5 \(pools: 0\.25, 0\.75\)"):
        bank.draw(0.5, 1, 10, rng)
    with pytest.raises(BitPoolError, match="fewer than one stream"):
        BitBank([BitPool(0.5, 64)]).draw(0.5, 1, 10, rng)
    with pytest.raises(BitPoolError, match="already has a pool"):
        bank.add(BitPool(0.25))


def test_a_copy_draws_the_same_bits_and_counts_its_own_draws():
    bank = BitBank([BitPool(p, 4096, bias_v=0.3) for p in (0.25, 0.75)])
    for pool in bank.pools:
        pool.append(bernoulli(pool.p_target, 4000))
    twin = bank.copy()
    assert twin.levels == bank.levels and twin.pool(0.25).bias_v == 0.3
    drawn = twin.draw(0.25, 5, 100, np.random.default_rng(2))
    np.testing.assert_array_equal(drawn, bank.draw(0.25, 5, 100, np.random.default_rng(2)))
    twin.draw(0.75, 3, 100, np.random.default_rng(2))
    assert twin.pool(0.75).stats()["drawn_segments"] == 3
    assert bank.pool(0.75).stats()["drawn_segments"] == 0
    twin.pool(0.25).append(bernoulli(0.25, 640, seed=1))  # a refill of the copy only
    assert twin.pool(0.25).stats()["appended_bits"] == 4640
    assert bank.pool(0.25).stats()["appended_bits"] == 4000


def test_save_and_load_round_trip(tmp_path):
    bank = BitBank([BitPool(0.1, 1000, bias_v=0.245), BitPool(0.9, 640)])
    bank.pool(0.1).append(bernoulli(0.1, 1000))
    bank.pool(0.9).append(bernoulli(0.9, 640))
    path = bank.save(tmp_path / "pools.h5", device="synthetic")
    loaded = BitBank.load(path)
    assert loaded.levels == [0.1, 0.9]
    np.testing.assert_array_equal(loaded.pool(0.1).bits(), bank.pool(0.1).bits())
    assert loaded.pool(0.1).bias_v == 0.245 and loaded.pool(0.9).bias_v is None
    with h5py.File(path) as handle:
        assert handle.attrs["format"] == "smtjlab.bitpools" and handle.attrs["version"] == 1
        assert handle["levels/p0.100000"].attrs["p_target"] == 0.1


def test_bytes_round_trip_as_the_file_would(tmp_path):
    bank = BitBank([BitPool(0.25, 640, bias_v=0.29)])
    bank.pool(0.25).append(bernoulli(0.25, 640))
    data = bank.to_bytes()
    loaded = BitBank.from_bytes(data, "sent.h5")
    np.testing.assert_array_equal(loaded.pool(0.25).bits(), bank.pool(0.25).bits())
    assert loaded.pool(0.25).bias_v == 0.29
    (tmp_path / "pools.h5").write_bytes(data)
    assert BitBank.load(tmp_path / "pools.h5").levels == [0.25]
    with pytest.raises(BitPoolError, match=r"sent\.h5: cannot read bit-pool file"):
        BitBank.from_bytes(b"not hdf5 at all", "sent.h5")


def write_file(path, format="smtjlab.bitpools", version=1, data=None, **attrs):
    with h5py.File(path, "w") as handle:
        handle.attrs["format"] = format
        handle.attrs["version"] = version
        if data is not None:
            dataset = handle.create_group("levels").create_dataset("p0.5", data=data)
            dataset.attrs.update(attrs)
    return path


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"format": "smtjlab.traces"}, "not a bit-pool file"),
        ({"version": 2}, "unsupported bit-pool version"),
        ({}, "no 'levels' group"),
        ({"data": np.zeros(100, np.uint8)}, "p_target"),
        ({"data": np.full(100, 2, np.uint8), "p_target": 0.5}, "must be 0 or 1"),
        ({"data": np.zeros(4, np.uint64), "p_target": 0.5, "n_bits": 999}, "does not fit"),
        ({"data": np.zeros(4, np.float32), "p_target": 0.5}, "dtype float32"),
    ],
)
def test_bad_pool_files_name_the_problem(tmp_path, kwargs, message):
    path = write_file(tmp_path / "bad.h5", **kwargs)
    with pytest.raises(BitPoolError, match=message):
        BitBank.load(path)


def test_not_hdf5_or_missing(tmp_path):
    (tmp_path / "x.h5").write_bytes(b"not hdf5")
    with pytest.raises(BitPoolError, match="cannot read"):
        BitBank.load(tmp_path / "x.h5")
    with pytest.raises(BitPoolError, match="no such"):
        BitBank.load(tmp_path / "missing.h5")


def test_live_refill_while_drawing():
    pool = BitPool(0.5, 1 << 16)
    pool.append(bernoulli(0.5, 1 << 16))
    stop = threading.Event()

    def refill():
        rng = np.random.default_rng(6)
        while not stop.is_set():
            pool.append((rng.random(10_000) < 0.5).astype(np.uint8))

    thread = threading.Thread(target=refill)
    thread.start()
    rng = np.random.default_rng(7)
    try:
        for _ in range(200):
            streams = pool.draw(50, 300, rng)
            assert not (streams[:, -1] & ~tail_mask(300)).any()
    finally:
        stop.set()
        thread.join()
    assert pool.n_bits == 1 << 16


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"format": np.array([1, 2])}, "not a bit-pool file"),
        ({"version": "1"}, "unsupported bit-pool version"),
        ({"data": np.zeros(100, np.uint8), "p_target": "half"}, "p_target strictly between"),
        ({"data": np.zeros(4, np.uint64), "p_target": 0.5, "n_bits": "many"}, "does not fit"),
        (
            {"data": bernoulli(0.5, 640), "p_target": 0.5, "bias_v": np.array([0.1, 0.2])},
            "bias_v nan is not finite",
        ),
    ],
)
def test_pool_attributes_of_the_wrong_type_name_the_problem(tmp_path, kwargs, message):
    test_bad_pool_files_name_the_problem(tmp_path, kwargs, message)


def bank_file(tmp_path, pools):
    """A bit-pool file holding `pools` {p_target: bits}, written as a bench would."""
    bank = BitBank()
    for p_target, bits in pools.items():
        pool = BitPool(p_target, len(bits))
        pool.append(bits)
        bank.add(pool)
    return bank.save(tmp_path / "pools.h5")


def test_constant_pools_are_refused(tmp_path):
    path = bank_file(tmp_path, {0.5: np.zeros(1 << 16, np.uint8)})
    with pytest.raises(BitPoolError, match="all 65536 bits are 0, not a stream with P"):
        BitBank.load(path)


def test_swapped_quarter_and_three_quarter_pools_are_refused(tmp_path):
    n = 1 << 18
    path = bank_file(tmp_path, {0.25: bernoulli(0.75, n, 1), 0.5: bernoulli(0.5, n, 2)})
    with pytest.raises(BitPoolError, match=r"measured P\(1\) = 0\.7\d+ .* target 0\.25 ± 0\.01"):
        BitBank.load(path)


def test_a_pool_within_the_calibration_tolerance_is_accepted_silently(tmp_path, caplog):
    # calibrated to 0.259 (inside ±0.01 of 0.25): the level is what calibration accepted
    path = bank_file(tmp_path, {0.25: bernoulli(0.259, 1 << 20, 3)})
    assert BitBank.load(path).levels == [0.25]
    assert not caplog.records


def correlated(p, n, rho, seed):
    """A two-state Markov chain with occupancy p and lag-1 correlation rho."""
    rng = np.random.default_rng(seed)
    up, down = p * (1 - rho), (1 - p) * (1 - rho)  # P(0 -> 1), P(1 -> 0)
    bits = np.empty(n, np.uint8)
    state = rng.random() < p
    draws = rng.random(n)
    for i in range(n):
        state = draws[i] >= down if state else draws[i] < up
        bits[i] = state
    return bits


def test_the_tolerance_widens_with_the_lag1_correlation(tmp_path, caplog):
    # p = 0.5 + 0.01 + ~4 binomial σ of independent bits: refused as independent bits,
    # accepted (with a warning at most) once their lag-1 correlation of 0.8 counts
    n = 1 << 14
    independent_sigma = np.sqrt(0.25 / n)
    p = 0.5 + 0.01 + 7 * independent_sigma
    pool = BitPool(0.5, n)
    pool.append(bernoulli(p, n, 4))
    with pytest.raises(BitPoolError, match="σ beyond the tolerance"):
        pool.check()
    slow = BitPool(0.5, n)
    slow.append(correlated(p, n, 0.8, 5))
    slow.check()  # sigma is 3x larger: about 2 σ beyond the tolerance


def test_a_mild_doubt_is_a_warning_naming_the_figure(tmp_path, caplog):
    n = 1 << 16
    pool = BitPool(0.5, n)
    bits = np.zeros(n, np.uint8)
    bits[: round(n * (0.51 + 4 * np.sqrt(0.25 / n)))] = 1  # 4 σ beyond the tolerance
    pool.append(np.random.default_rng(6).permutation(bits))
    with caplog.at_level("WARNING"):
        pool.check()
    assert "measured P(1) = 0.5178 over 65536 bits" in caplog.text and "σ beyond" in caplog.text
