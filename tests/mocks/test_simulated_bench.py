"""The shared simulated bench, alone and seen through the SMU and the scope."""

import re

import numpy as np
import pytest
from smtjlab.acquisition.tracefile import TraceFileError, TraceWriter, read_traces
from smtjlab.instruments.infiniivision import InfiniiVision
from smtjlab.instruments.keithley import Keithley2400
from smtjlab.instruments.safety import BiasLimits
from smtjlab.mocks.bench import (
    ReplayError,
    SimulatedBench,
    replay_step,
    servable,
    shipped_recording,
)
from smtjlab.mocks.smtj import sigmoid
from smtjlab.mocks.visa_library import KEITHLEY_RESOURCE, SCOPE_RESOURCE, mock_resource_manager

FAST = BiasLimits(ramp_step_v=0.05, ramp_rate_v_per_s=1e6)


def biased(bench, volts):
    bench.source_voltage, bench.output_on = volts, True
    return bench


@pytest.mark.parametrize("source", ["model", "replay"])
def test_a_bias_sweep_on_the_smu_moves_the_scope_occupancy_along_the_sigmoid(source):
    bench = SimulatedBench(source)
    rm = mock_resource_manager(bench)
    scope = InfiniiVision(rm.open_resource(SCOPE_RESOURCE))
    scope.channel(1).scale = 0.025
    scope.channel(1).offset = 0.15
    scope.configure_record(100_000, 1e6)
    params = bench.devices[0].params
    measured, expected = [], []
    with Keithley2400(rm.open_resource(KEITHLEY_RESOURCE), FAST) as smu:
        for bias in np.linspace(0.22, 0.38, 7):
            smu.set_bias(bias)
            scope.digitize(1)
            volts = scope.fetch(1, points=100_000).volts
            low, high = bench.devices[0].levels(bias)
            measured.append(float(np.mean(volts > (low + high) / 2)))
            expected.append(bench.p_high(0))
    assert np.all(np.diff(measured) > 0)
    assert measured[0] < 0.1 and measured[-1] > 0.9
    np.testing.assert_allclose(measured, expected, atol=0.03)
    curve = sigmoid((np.linspace(0.22, 0.38, 7) - params.v50) / params.width)
    np.testing.assert_allclose(measured, curve, atol=0.08)  # replay: nearest recorded bias


def test_model_is_seeded_continuous_and_per_channel():
    first = biased(SimulatedBench(channels=2, seed=3), 0.3)
    again = biased(SimulatedBench(channels=2, seed=3), 0.3)
    a, a_states = first.sample(0, 5000, 10e6)
    np.testing.assert_array_equal(a, again.sample(0, 5000, 10e6)[0])
    assert a.dtype == np.float32 and a_states.dtype == np.uint8
    assert not np.array_equal(a, first.sample(1, 5000, 10e6)[0])
    assert first.p_high(0) == pytest.approx(0.5)


def test_output_off_means_no_bias():
    bench = SimulatedBench()
    bench.source_voltage = 0.3
    assert bench.bias_v == 0.0
    volts, _ = bench.sample(0, 1000, 1e6)
    assert np.all(volts == 0)


def shipped_trace_at(bias_v):
    traces = read_traces(shipped_recording())
    return min(traces, key=lambda trace: abs(trace.bias_voltage - bias_v))


def test_replay_serves_the_nearest_trace_looping_sample_by_sample():
    bench = biased(SimulatedBench("replay"), 0.301)
    assert bench.recording == shipped_recording()
    assert len(bench.recorded_biases()) >= 15
    twice = SimulatedBench("replay")
    biased(twice, 0.301)
    length = len(shipped_trace_at(0.301).data)
    whole_volts, whole_states = twice.sample(0, 2 * length + 10, 10e6)  # loops past the end
    first = bench.sample(0, length, 10e6)
    second = bench.sample(0, length + 10, 10e6)
    np.testing.assert_array_equal(np.concatenate([first[0], second[0]]), whole_volts)
    np.testing.assert_array_equal(whole_states[:length], whole_states[length : 2 * length])
    assert bench.p_high(0) == pytest.approx(0.5, abs=0.02)


def test_replay_at_a_lower_rate_takes_every_kth_sample():
    fast = biased(SimulatedBench("replay"), 0.3)
    slow = biased(SimulatedBench("replay"), 0.3)
    np.testing.assert_array_equal(slow.sample(0, 1000, 5e6)[0], fast.sample(0, 2000, 10e6)[0][::2])


def test_a_lab_recording_replays_unchanged(tmp_path):
    path = tmp_path / "lab.h5"
    with TraceWriter(path) as writer:
        for channel, bias, level in ((1, 0.2, 0.05), (1, 0.4, 0.15), (2, 0.3, -0.1)):
            name = f"ch{channel}_{bias}"
            writer.create(
                name, sample_rate=1e6, bias_voltage=bias, channel=channel, source="measured"
            )
            writer.append(name, np.full(100, level, np.float32))
    bench = SimulatedBench("replay", channels=2, recording=path)
    biased(bench, 0.35)
    volts, states = bench.sample(0, 10, 1e6)
    assert np.all(volts == np.float32(0.15)) and not states.any()
    assert np.all(bench.sample(1, 10, 1e6)[0] == np.float32(-0.1))
    assert bench.recorded_biases(0) == [0.2, 0.4]
    assert np.isnan(bench.p_high(0))


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="source must be"):
        SimulatedBench("live")
    with pytest.raises(ValueError, match="channel 2 does not exist"):
        SimulatedBench(channels=2).sample(2, 10, 1e6)
    empty = tmp_path / "empty.h5"
    TraceWriter(empty).close()
    with pytest.raises(TraceFileError, match="no traces"):
        SimulatedBench("replay", recording=empty)
    with pytest.raises(TraceFileError, match="no such file"):
        SimulatedBench("replay", recording=tmp_path / "missing.h5")


def test_replay_reads_flat_zero_with_the_output_off():
    bench = SimulatedBench("replay")
    bench.source_voltage, bench.output_on = 0.3, False
    volts, states = bench.sample(0, 1000, 10e6)
    assert not volts.any() and not states.any()


@pytest.mark.parametrize("rate", [20e6, 3e6, 7e6, 10e6 * (1 + 1e-6)])
def test_a_replay_at_a_rate_it_cannot_serve_is_refused_not_sped_up(rate):
    bench = biased(SimulatedBench("replay"), 0.3)  # the shipped recording: 10 MS/s
    with pytest.raises(
        ReplayError, match=re.escape(f"made at 1e+07 Sa/s cannot be replayed at {rate:.7g} Sa/s")
    ):
        bench.sample(0, 100, rate)


def test_replay_steps_are_integer_fractions_of_the_recorded_rate():
    assert replay_step(10e6, 10e6) == 1 and replay_step(10e6, 2e6) == 5
    assert replay_step(10e6, 10e6 / 3) == 3  # a ratio off an integer by float rounding only
    assert servable(1e6, 1e6) and not servable(1e6, 10e6) and not servable(10e6, 4e6)


def test_the_replay_rate_is_the_recordings_while_the_output_is_on():
    bench = SimulatedBench("replay")
    assert bench.replay_rate() is None  # output off: the scope reads a flat 0 V at any rate
    assert biased(bench, 0.3).replay_rate() == 10e6
    assert biased(SimulatedBench("model"), 0.3).replay_rate() is None


def test_a_slow_recording_on_a_fast_bench_keeps_its_time_scale(tmp_path):
    """A 1 MS/s recording fetched by a scope set up for 10 MS/s: the scope samples at 1 MS/s,
    and the record's dwell times are the recording's, not ten times shorter."""
    path = tmp_path / "slow.h5"
    rng = np.random.default_rng(0)
    states = np.repeat(rng.integers(0, 2, 2000).astype(np.uint8), 50)  # 50 µs dwells at 1 MS/s
    with TraceWriter(path) as writer:
        writer.create("t", sample_rate=1e6, bias_voltage=0.3, source="synthetic")
        writer.append("t", 0.1 + 0.05 * states.astype(np.float32))
    rm = mock_resource_manager(SimulatedBench("replay", recording=path))
    scope = InfiniiVision(rm.open_resource(SCOPE_RESOURCE))
    with Keithley2400(rm.open_resource(KEITHLEY_RESOURCE), FAST) as smu:
        smu.set_bias(0.3)
        scope.configure_record(10_000, 10e6)
        scope.digitize(1)
        wave = scope.fetch(1)
    assert wave.sample_rate == 1e6 and len(wave.volts) == 1000
    edges = np.flatnonzero(np.diff((wave.volts > 0.125).astype(np.int8))) + 1
    runs = np.diff(edges)  # whole dwells, between the first and the last edge
    assert len(runs) > 3 and np.all(runs % 50 == 0)  # 50 µs each, as recorded
