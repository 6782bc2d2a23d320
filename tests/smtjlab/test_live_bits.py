import numpy as np
from smtjlab.inference.decisions import DecisionCounter

from smtjlab.bench import Bench
from smtjlab.live_bits import LiveBenchBits
from smtjlab.station import Station

PROBABILITIES = np.array([0.0, 0.02, 0.25, 0.5, 0.8, 1.0])


def test_decisions_from_the_mock_bench_are_exact_and_never_reuse_a_bit():
    with Bench.open(Station.mock(seed=5)) as bench:
        bits = LiveBenchBits(bench, chunk_bits=1 << 16)
        counter = DecisionCounter(bits)
        decisions = counter.bernoulli(np.tile(PROBABILITIES, (8_000, 1)))
        assert abs(bits.stats()["p_measured"] - 0.5) < 0.01
        assert bits.consumed <= bits.stats()["recorded_bits"]  # every bit handed out once
    frequency = decisions.mean(axis=0)
    bound = 5 * np.sqrt(PROBABILITIES * (1 - PROBABILITIES) / 8_000) + 1e-9
    assert np.all(np.abs(frequency - PROBABILITIES) <= bound), frequency
    assert 1.9 < counter.stats()["bits_per_decision"] * 6 / 4 < 2.1  # p = 0, 1 cost nothing
