"""Headless recording on the mock bench: the file, the safety, and replay of what was recorded."""

from datetime import datetime

import numpy as np
import pytest
from smtjlab.acquisition.record import record
from smtjlab.acquisition.tracefile import read_traces
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
