"""Every injected fault ends in a successful retry or one clear error, never a hang or bad file."""

import time
from contextlib import contextmanager

import numpy as np
import pytest
from smtjlab.acquisition.record import record
from smtjlab.acquisition.tracefile import read_traces
from smtjlab.instruments.infiniivision import InfiniiVision
from smtjlab.instruments.keithley import Keithley2400
from smtjlab.instruments.safety import BiasLimits
from smtjlab.instruments.scpi import InstrumentError
from smtjlab.mocks.bench import SimulatedBench
from smtjlab.mocks.faults import FaultInjector
from smtjlab.mocks.visa_library import KEITHLEY_RESOURCE, SCOPE_RESOURCE, mock_resource_manager

FAST = BiasLimits(ramp_step_v=0.1, ramp_rate_v_per_s=1e6)
# The rig's session timeout is 30 ms; every attempt and error-queue read may use it up once.
# Anything near the 2 s default (or the mock's 60 s cap on a hang) means a wait went unbounded.
BOUND_S = 1.0


@contextmanager
def bounded():
    """Fail if the block takes longer than a few session timeouts."""
    start = time.monotonic()
    yield
    elapsed = time.monotonic() - start
    assert elapsed < BOUND_S, f"took {elapsed:.2f} s with a 30 ms timeout"


@pytest.fixture
def rig():
    rm = mock_resource_manager(SimulatedBench())
    scope = InfiniiVision(rm.open_resource(SCOPE_RESOURCE), timeout_ms=30)
    scope.channel(1).scale = 0.025
    scope.configure_record(5000, 1e6)
    scope.digitize(1)
    return rm, scope, rm.visalib.faults(SCOPE_RESOURCE)


def test_fault_injector_arms_rates_and_counts():
    faults = FaultInjector(seed=1)
    faults.inject("garbled", times=2)
    assert [faults.draw("garbled") for _ in range(3)] == [True, True, False]
    faults.set_rate("timeout", 0.5)
    hits = sum(faults.draw("timeout") for _ in range(1000))
    assert 400 < hits < 600 and faults.fired["timeout"] == hits
    faults.clear()
    assert not faults.draw("timeout")
    with pytest.raises(ValueError, match="unknown fault"):
        faults.inject("fire")
    with pytest.raises(ValueError, match="probability"):
        faults.set_rate("timeout", 2)


def test_a_timeout_is_retried(rig):
    _, scope, faults = rig
    faults.inject("timeout")
    assert scope.idn.startswith("KEYSIGHT")
    assert faults.fired["timeout"] == 1


def test_persistent_timeouts_give_one_clear_error(rig):
    _, scope, faults = rig
    faults.set_rate("timeout", 1.0)
    with (
        bounded(),
        pytest.raises(InstrumentError, match=r"no reply within 30 ms to '\*IDN\?', nor"),
    ):
        scope.idn  # noqa: B018


def test_a_dropped_connection_is_one_clear_error_until_reopened(rig):
    rm, scope, faults = rig
    faults.inject("disconnect")
    with (
        bounded(),
        pytest.raises(
            InstrumentError, match=r"connection lost while sending ':TIMebase:SCALe 0\.001'"
        ),
    ):
        scope.timebase_scale = 1e-3
    with pytest.raises(InstrumentError, match="connection lost"):
        scope.idn  # noqa: B018
    assert InfiniiVision(rm.open_resource(SCOPE_RESOURCE)).idn.startswith("KEYSIGHT")


@pytest.mark.parametrize("fault", ["garbled", "short_block"])
def test_a_bad_block_is_fetched_again(rig, fault):
    _, scope, faults = rig
    clean = scope.fetch(1, points=5000)
    faults.inject(fault)
    with bounded():
        again = scope.fetch(1, points=5000)
    assert faults.fired[fault] == 1
    np.testing.assert_array_equal(again.volts, clean.volts)


@pytest.mark.parametrize("fault", ["garbled", "short_block"])
def test_bad_blocks_every_time_give_one_clear_error(rig, fault):
    _, scope, faults = rig
    faults.set_rate(fault, 1.0)
    with (
        bounded(),
        pytest.raises(InstrumentError, match=r"(garbled reply|no reply within 30 ms) to '?:"),
    ):
        scope.fetch(1, points=5000)


def test_an_scpi_error_names_the_command(rig):
    _, scope, faults = rig
    faults.inject("scpi_error")
    with bounded(), pytest.raises(InstrumentError, match=r"':CHANnel1:OFFSet 0.1'.*-200"):
        scope.channel(1).offset = 0.1


def test_random_faults_at_a_rate_are_ridden_out_by_retries(rig):
    _, scope, faults = rig
    scope.retries = 4
    faults.set_rate("garbled", 0.1)
    faults.set_rate("timeout", 0.05)
    for _ in range(40):
        assert scope.idn.startswith("KEYSIGHT")
    assert faults.fired["garbled"] + faults.fired["timeout"] > 0


def test_a_fault_mid_recording_leaves_a_readable_file_and_a_safe_smu(tmp_path):
    bench = SimulatedBench()
    rm = mock_resource_manager(bench)
    smu = Keithley2400(rm.open_resource(KEITHLEY_RESOURCE), FAST)
    scope = InfiniiVision(rm.open_resource(SCOPE_RESOURCE), timeout_ms=30)

    def drop_after_two(steps, description, total):
        for number, step in enumerate(steps):
            if number == 2:
                rm.visalib.faults(SCOPE_RESOURCE).inject("disconnect")
            yield step

    path = tmp_path / "run.h5"
    with pytest.raises(InstrumentError, match="connection lost"):
        record(smu, scope, path, [0.3], 0.05, record_points=10_000, progress=drop_after_two)
    (trace,) = read_traces(path)
    assert len(trace.data) == 20_000  # the two records that arrived, intact
    assert not bench.output_on and bench.bias_v == 0.0
