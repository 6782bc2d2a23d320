"""Headless recording on the mock bench: the file, the safety, and replay of what was recorded."""

import json
from dataclasses import asdict
from datetime import datetime

import numpy as np
import pytest
from smtjlab.acquisition.record import LiveRecording, record
from smtjlab.acquisition.tracefile import Trace, read_traces
from smtjlab.instruments.infiniivision import InfiniiVision
from smtjlab.instruments.keithley import Keithley2400
from smtjlab.instruments.safety import BiasLimitError, BiasLimits
from smtjlab.mocks.bench import SimulatedBench
from smtjlab.mocks.visa_library import KEITHLEY_RESOURCE, SCOPE_RESOURCE, mock_resource_manager

FAST = BiasLimits(ramp_step_v=0.1, ramp_rate_v_per_s=1e6)


def rig(bench):
    rm = mock_resource_manager(bench)
    smu = Keithley2400(rm.open_resource(KEITHLEY_RESOURCE), FAST)
    scope = InfiniiVision(rm.open_resource(SCOPE_RESOURCE))
    for channel in range(1, bench.channels + 1):
        scope.channel(channel).scale = 0.025
        scope.channel(channel).offset = 0.15
    return rm, smu, scope


def assert_safe(bench):
    assert bench.bias_v == 0.0 and not bench.output_on


def test_record_writes_codes_with_their_scale_and_metadata(tmp_path):
    bench = SimulatedBench(channels=2)
    _, smu, scope = rig(bench)
    path = tmp_path / "run.h5"
    summary = record(
        smu,
        scope,
        path,
        [0.25, 0.35],
        0.05,
        channels=(1, 2),
        record_points=20_000,
        source="synthetic",
    )
    traces = {trace.name: trace for trace in read_traces(path)}
    assert sorted(traces) == [
        "ch1_bias_+0.2500V",
        "ch1_bias_+0.3500V",
        "ch2_bias_+0.2500V",
        "ch2_bias_+0.3500V",
    ]
    assert [entry["samples"] for entry in summary.traces] == [50_000] * 4
    low, high = traces["ch1_bias_+0.2500V"], traces["ch1_bias_+0.3500V"]
    for trace in traces.values():
        assert len(trace.data) == 50_000 and trace.data.dtype == np.int16 and trace.is_codes
        assert trace.sample_rate == pytest.approx(1e6)
        assert trace.source == "synthetic" and trace.attrs["instrument"].startswith("KEYSIGHT")
        datetime.fromisoformat(trace.attrs["started_at"])
        assert json.loads(trace.attrs["limits"]) == asdict(FAST)
        # 50 000 samples in records of 20 000: three records, each with its start time.
        assert [start for start, _ in trace.records] == [0, 20_000, 40_000]
        times = [datetime.fromisoformat(when) for _, when in trace.records]
        assert times == sorted(times) and all(t.utcoffset().total_seconds() == 0 for t in times)
    assert "smu" not in low.attrs  # not given: not invented
    assert low.bias_voltage == 0.25 and low.attrs["channel"] == 1
    assert low.volts.mean() < high.volts.mean()  # more bias, more readout voltage
    assert_safe(bench)


def test_out_of_limit_biases_are_refused_before_anything_moves(tmp_path):
    bench = SimulatedBench()
    rm, smu, scope = rig(bench)
    before = rm.visalib.written(KEITHLEY_RESOURCE)
    with pytest.raises(BiasLimitError):
        record(smu, scope, tmp_path / "run.h5", [0.2, 0.7], 0.01)
    assert rm.visalib.written(KEITHLEY_RESOURCE) == before
    assert not (tmp_path / "run.h5").exists()


def test_ctrl_c_mid_recording_keeps_the_file_and_leaves_the_smu_safe(tmp_path):
    bench = SimulatedBench()
    _, smu, scope = rig(bench)

    def interrupt_at_third(steps, description, total):
        for number, step in enumerate(steps):
            if number == 2:
                raise KeyboardInterrupt
            yield step

    path = tmp_path / "run.h5"
    with pytest.raises(KeyboardInterrupt):
        record(smu, scope, path, [0.3], 1.0, record_points=10_000, progress=interrupt_at_third)
    (trace,) = read_traces(path)
    assert len(trace.data) == 20_000
    assert_safe(bench)


def test_a_recording_replays_through_the_mocks_unchanged(tmp_path):
    path = tmp_path / "lab.h5"
    bench = SimulatedBench(seed=4)
    _, smu, scope = rig(bench)
    record(smu, scope, path, [0.22, 0.38], 0.02, record_points=20_000)
    recorded = {trace.bias_voltage: trace for trace in read_traces(path)}
    assert all(trace.source == "measured" for trace in recorded.values())

    replay = SimulatedBench("replay", recording=path)
    replay.source_voltage, replay.output_on = 0.37, True
    volts, states = replay.sample(0, 20_000, 1e6)
    np.testing.assert_array_equal(volts, recorded[0.38].volts)
    assert not states.any()  # a lab recording has no true states

    _, smu, scope = rig(replay)
    with smu:
        smu.set_bias(0.23)
        scope.configure_record(20_000, 1e6)
        scope.digitize(1)
        seen = scope.fetch(1, points=20_000).volts
    assert seen.mean() == pytest.approx(recorded[0.22].volts.mean(), abs=0.002)


def timeout_at(faults, mocker, n):
    """Make the scope's `n`-th read (0-based) time out, once; returns the reads counted."""
    reads = []

    def drawing(fault: str) -> bool:
        if fault != "timeout":
            return False
        reads.append(fault)
        return len(reads) == n + 1

    mocker.patch.object(faults, "draw", side_effect=drawing)
    return reads


@pytest.mark.parametrize("n", range(16))
def test_one_scope_timeout_anywhere_does_not_abort_a_recording(tmp_path, mocker, n):
    bench = SimulatedBench()
    rm, smu, scope = rig(bench)
    scope.resource.timeout = 20  # ms of real waiting per injected timeout
    faults = rm.visalib.faults(SCOPE_RESOURCE)
    reads = timeout_at(faults, mocker, n)
    path = tmp_path / "t.h5"
    record(smu, scope, path, [0.3], 0.003, record_points=1000)  # 3 records
    assert len(reads) > n  # the timeout fired
    (trace,) = read_traces(path)
    assert len(trace.data) == 3000
    assert_safe(bench)


def codes_record(bias, n=1000, rate=1e6):
    data = np.random.default_rng(0).integers(-100, 100, n).astype(np.int8)
    return Trace("r", data, rate, bias, 1e-3, 0.0, attrs={"source": "synthetic", "channel": 1})


def test_a_live_recording_carries_idns_limits_calibration_and_each_records_start(tmp_path):
    limits = BiasLimits(max_abs_v=0.4, source="lab.toml")
    recording = LiveRecording(
        tmp_path / "live.h5", instrument="KEYSIGHT,DSO-X", smu="KEITHLEY,2400", limits=limits
    )
    sizes = [recording.size_bytes]
    for bias in (0.30, 0.30, 0.30):
        recording.add(codes_record(bias))
        sizes.append(recording.size_bytes)
    calibration = {"fit": {"v50": 0.3, "width": 0.025}, "warnings": [], "timestamp": "now"}
    recording.set_calibration(calibration)
    recording.add(codes_record(0.32, n=500))
    assert recording.seconds == pytest.approx(3.5e-3)
    recording.close()
    assert sizes == sorted(sizes) and sizes[-1] > sizes[0]  # it grows as records come
    first, second = read_traces(tmp_path / "live.h5")
    assert first.attrs["smu"] == "KEITHLEY,2400" and first.attrs["instrument"] == "KEYSIGHT,DSO-X"
    assert json.loads(first.attrs["limits"]) == asdict(limits)
    assert "calibration" not in first.attrs  # none was in force when it began
    assert json.loads(second.attrs["calibration"]) == calibration
    assert [start for start, _ in first.records] == [0, 1000, 2000]
    assert [start for start, _ in second.records] == [0]
    times = [datetime.fromisoformat(when) for _, when in first.records + second.records]
    assert times == sorted(times)
    assert datetime.fromisoformat(first.attrs["started_at"]) == times[0]
