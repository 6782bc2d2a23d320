"""Bias safety through the real PyVISA stack, asserted on the mock SMU and its traffic."""

import itertools
import signal

import pytest
from smtjlab.instruments.keithley import Keithley2400
from smtjlab.instruments.safety import (
    MAX_RAMP_STEPS,
    MAX_SHUTDOWN_RAMP_S,
    BiasLimitError,
    BiasLimits,
    OutputMayBeOnError,
    SourceState,
    final_state_line,
    limits_from_table,
    load_limits,
    signals_held,
)
from smtjlab.instruments.scpi import ConnectionLostError, InstrumentError
from smtjlab.mocks.bench import SimulatedBench
from smtjlab.mocks.visa_library import KEITHLEY_RESOURCE, mock_resource_manager

FAST = BiasLimits(max_abs_v=0.5, compliance_a=1e-4, ramp_step_v=0.05, ramp_rate_v_per_s=1e6)


@pytest.fixture
def bench_smu():
    bench = SimulatedBench()
    rm = mock_resource_manager(bench)
    smu = Keithley2400(rm.open_resource(KEITHLEY_RESOURCE), FAST)
    return bench, smu, rm.visalib


def assert_safe(bench, library):
    mock = library.device(KEITHLEY_RESOURCE)
    assert mock.voltage == 0.0 and not mock.output_on
    assert bench.bias_v == 0.0 and not bench.output_on


def levels_sent(library):
    return [
        float(message.split()[1])
        for message in library.written(KEITHLEY_RESOURCE)
        if message.startswith(":SOURce:VOLTage:LEVel ")
    ]


def test_limits_load_from_toml(tmp_path, monkeypatch):
    path = tmp_path / "limits.toml"
    path.write_text("[bias]\nmax_abs_v = 0.4\ncompliance_a = 5e-5\nramp_step_v = 0.005\n")
    limits = BiasLimits.from_toml(path)
    assert (limits.max_abs_v, limits.compliance_a, limits.ramp_step_v) == (0.4, 5e-5, 0.005)
    assert limits.ramp_rate_v_per_s == BiasLimits().ramp_rate_v_per_s
    monkeypatch.setenv("SMTJLAB_LIMITS", str(path))
    assert load_limits().max_abs_v == 0.4
    monkeypatch.delenv("SMTJLAB_LIMITS")
    assert load_limits() == BiasLimits()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[bias]\nmax_volts = 1\n", r"\[bias\]: unknown key 'max_volts'"),
        ("[bias]\nmax_abs_v = -1\n", r"\[bias\]: max_abs_v = -1 refused: must be a positive"),
        ("[bias]\nramp_step_v = 'fast'\n", r"ramp_step_v = 'fast' refused: must be a number"),
        ("[bias]\nmax_abs_v = true\n", r"max_abs_v = true refused: must be a number, not a bool"),
        ("[bias]\nmax_abs_v = nan\n", r"max_abs_v = nan refused: must be a positive, finite"),
        ("[bias]\nmax_abs_v = -inf\n", r"max_abs_v = -inf refused: must be a positive, finite"),
        (f"[bias]\nmax_abs_v = {10**400}\n", r"max_abs_v = 1000+ refused: must be a positive"),
        ("[bais]\nmax_abs_v = 0.3\n", r"unknown table \[bais\]; a limits file holds one table"),
        ("max_abs_v = 0.3\n", r"unknown key 'max_abs_v'; a limits file"),
        ("bias = 0.3\n", r"bias must be a table"),
        ("[bias]\nmax_abs_v = 1000\n", r"max_abs_v = 1000 refused: the ceiling is 2 V \(an MgO"),
        ("[bias]\ncompliance_a = 1\n", r"compliance_a = 1 refused: the ceiling is 0.01 A"),
        ("[bias]\nramp_step_v = 10\n", r"ramp_step_v = 10 refused: at most max_abs_v / 2"),
        ("[bias]\nramp_step_v = 1e-12\n", r"more than 10000 steps; the smallest step is 0.0001"),
        ("[bias]\nramp_rate_v_per_s = 1e-9\n", r"more than 10 s; the slowest rate is 0.05 V/s"),
        ("[bias\n", "not valid TOML"),
    ],
)
def test_bad_limits_files_are_refused(tmp_path, text, message):
    path = tmp_path / "limits.toml"
    path.write_text(text)
    with pytest.raises(BiasLimitError, match=message):
        BiasLimits.from_toml(path)


def test_a_binary_limits_file_is_refused(tmp_path):
    path = tmp_path / "limits.toml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    with pytest.raises(BiasLimitError, match="not UTF-8 text"):
        BiasLimits.from_toml(path)


def test_a_station_limits_table_is_checked_by_the_same_rules():
    where = "station.toml [limits]"
    limits = limits_from_table({"max_abs_v": 0.45, "ramp_step_v": 0.005}, where)
    assert (limits.max_abs_v, limits.ramp_step_v, limits.source) == (0.45, 0.005, where)
    with pytest.raises(BiasLimitError, match=r"^station.toml \[limits\]: unknown key 'max_v'"):
        limits_from_table({"max_v": 0.45}, where)
    with pytest.raises(BiasLimitError, match=r"^station.toml \[limits\]: ramp_step_v = 10"):
        limits_from_table({"ramp_step_v": 10}, where)


def test_limits_at_the_bounds_are_accepted():
    # The smallest step and the slowest rate the messages name are themselves allowed.
    BiasLimits(ramp_step_v=2 * 0.5 / MAX_RAMP_STEPS, ramp_rate_v_per_s=0.5 / MAX_SHUTDOWN_RAMP_S)
    BiasLimits(max_abs_v=2.0, compliance_a=10e-3, ramp_step_v=1.0, ramp_rate_v_per_s=0.2)


def test_missing_limits_file(tmp_path):
    with pytest.raises(BiasLimitError, match="cannot read limits file"):
        BiasLimits.from_toml(tmp_path / "none.toml")


def test_ramps_step_on_a_grid_and_end_on_the_target():
    limits = BiasLimits(ramp_step_v=0.1)
    assert limits.ramp(0.0, 0.25) == [0.1, 0.2, 0.25]
    assert limits.ramp(0.3, 0.1) == [0.2, 0.1]
    assert limits.ramp(0.2, 0.2) == []


@pytest.mark.parametrize("volts", [0.51, -0.6, float("nan"), float("inf")])
def test_an_out_of_limit_bias_sends_no_command_at_all(bench_smu, volts):
    bench, smu, library = bench_smu
    before = library.written(KEITHLEY_RESOURCE)
    with pytest.raises(BiasLimitError, match="refused"):
        smu.set_bias(volts)
    with pytest.raises(BiasLimitError, match="refused"):
        smu.set_compliance(1e-3)
    assert library.written(KEITHLEY_RESOURCE) == before
    assert_safe(bench, library)


def test_every_bias_change_ramps(bench_smu):
    bench, smu, library = bench_smu
    smu.set_bias(0.3)
    assert bench.bias_v == pytest.approx(0.3) and bench.output_on
    smu.set_bias(-0.2)
    levels = [0.0, *levels_sent(library)]
    assert max(abs(b - a) for a, b in itertools.pairwise(levels)) <= 0.05 + 1e-12
    assert levels[-1] == pytest.approx(-0.2)


def test_the_ramp_follows_the_rate(bench_smu, mocker):
    _bench, smu, _library = bench_smu
    sleep = mocker.patch("smtjlab.instruments.safety.time.sleep")
    smu.set_bias(0.2)
    assert sleep.call_count == 3  # between the four steps 0.05 … 0.2
    assert sleep.call_args.args[0] == pytest.approx(FAST.step_delay_s)


def test_an_exception_leaves_the_smu_at_zero_with_the_output_off(bench_smu):
    bench, smu, library = bench_smu
    with pytest.raises(RuntimeError), smu:
        smu.set_bias(0.3)
        raise RuntimeError("analysis failed")
    assert_safe(bench, library)
    assert levels_sent(library)[-2:] == [0.05, 0.0]


def test_ctrl_c_leaves_the_smu_at_zero_with_the_output_off(bench_smu):
    bench, smu, library = bench_smu
    with pytest.raises(KeyboardInterrupt), smu:
        smu.set_bias(0.3)
        raise KeyboardInterrupt
    assert_safe(bench, library)


def test_ctrl_c_in_the_middle_of_a_ramp_ramps_back_down(bench_smu, mocker):
    bench, smu, library = bench_smu
    mocker.patch(
        "smtjlab.instruments.safety.time.sleep", side_effect=[None, KeyboardInterrupt, None]
    )
    with pytest.raises(KeyboardInterrupt), smu:
        smu.set_bias(0.4)
    assert_safe(bench, library)
    # Interrupted on the way up at 0.1 V, then stepped back down from there.
    assert levels_sent(library) == [0.0, 0.05, 0.1, 0.05, 0.0]


def test_close_leaves_the_smu_at_zero_with_the_output_off(bench_smu):
    bench, smu, library = bench_smu
    smu.set_bias(-0.25)
    smu.close()
    assert_safe(bench, library)


def test_a_second_ctrl_c_is_held_until_the_block_ends():
    finished = []
    with pytest.raises(KeyboardInterrupt), signals_held():
        signal.raise_signal(signal.SIGINT)
        finished.append(True)
    assert finished == [True]


# -- shutdown under faults ---------------------------------------------------------------------


def biased_to(smu, library, volts=0.3):
    smu.set_bias(volts)
    smu.resource.timeout = 50  # ms: an injected timeout costs this much real time
    return library.faults(KEITHLEY_RESOURCE)


@pytest.mark.parametrize("fault", ["scpi_error", "timeout", "garbled", "disconnect"])
def test_one_fault_at_shutdown_still_ends_with_the_output_off(bench_smu, fault):
    bench, smu, library = bench_smu
    biased_to(smu, library).inject(fault)
    smu.shutdown()
    assert_safe(bench, library)
    assert library.faults(KEITHLEY_RESOURCE).fired[fault] == 1


def test_a_refused_output_off_is_sent_again(bench_smu, mocker):
    bench, smu, library = bench_smu
    faults = biased_to(smu, library)
    real_write = smu._write_output

    def refuse_the_first_off(on):
        if not on and not faults.fired["scpi_error"]:
            faults.inject("scpi_error")
        real_write(on)

    mocker.patch.object(smu, "_write_output", side_effect=refuse_the_first_off)
    smu.shutdown()
    assert_safe(bench, library)
    offs = [m for m in library.written(KEITHLEY_RESOURCE) if m.startswith(":OUTPut:STATe OFF")]
    assert len(offs) == 2


def test_a_link_dropped_mid_ramp_is_reopened_and_the_ramp_resumed(bench_smu, mocker):
    bench, smu, library = bench_smu
    faults = biased_to(smu, library)
    before = len(levels_sent(library))
    # The link drops after the second step down (0.3 -> 0.25 -> 0.2).
    sleeps = iter(range(100))

    def sleep(_):
        if next(sleeps) == 1:
            faults.inject("disconnect")

    mocker.patch("smtjlab.instruments.safety.time.sleep", side_effect=sleep)
    smu.shutdown()
    assert_safe(bench, library)
    assert faults.fired["disconnect"] == 1
    down = [0.3, *levels_sent(library)[before:]]
    # Resumed from where the link dropped: no step larger than the ramp step, ending at 0.
    assert max(abs(b - a) for a, b in itertools.pairwise(down)) <= FAST.ramp_step_v + 1e-12
    assert down[-1] == 0.0


@pytest.mark.parametrize("fault", ["scpi_error", "disconnect"])
def test_a_permanent_fault_says_the_output_may_still_be_on(bench_smu, fault):
    bench, smu, library = bench_smu
    biased_to(smu, library).set_rate(fault, 1.0)
    with pytest.raises(OutputMayBeOnError, match=r"the output may still be ON at 0\.30 V") as info:
        smu.shutdown()
    assert isinstance(info.value.__cause__, InstrumentError)
    assert bench.output_on  # and it really is: the message is not crying wolf
    if fault == "disconnect":
        assert isinstance(info.value.__cause__, ConnectionLostError)
    sent = len(library.written(KEITHLEY_RESOURCE))
    with pytest.raises(OutputMayBeOnError) as again:
        smu.close()  # says it again at once, without another round of faults
    assert again.value is info.value
    assert len(library.written(KEITHLEY_RESOURCE)) == sent


def test_a_signal_during_shutdown_is_held_until_the_output_is_off(bench_smu, mocker):
    bench, smu, library = bench_smu
    smu.set_bias(0.3)
    mocker.patch(
        "smtjlab.instruments.safety.time.sleep",
        side_effect=lambda _: signal.raise_signal(signal.SIGTERM),
    )
    received = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: received.append(signum))
    try:
        smu.shutdown()
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert_safe(bench, library)
    assert received == [signal.SIGTERM]  # delivered once, after the ramp


# -- the final-state line ----------------------------------------------------------------------


def test_the_final_state_line_reads_the_instrument(bench_smu):
    _bench, smu, library = bench_smu
    smu.set_bias(0.3)
    assert final_state_line("smu", smu) == "smu: 0.300 V, output on"
    assert smu.read_state() == SourceState(0.3, True)
    smu.shutdown()
    assert final_state_line("smu", smu) == "smu: 0.000 V, output off"
    # Read back, not remembered: a change behind the driver's back shows.
    library.device(KEITHLEY_RESOURCE).write(b":OUTPut:STATe ON\n")
    assert final_state_line("smu", smu) == "smu: 0.000 V, output on"


def test_the_final_state_line_says_when_the_state_cannot_be_read(bench_smu):
    _bench, smu, library = bench_smu
    library.faults(KEITHLEY_RESOURCE).set_rate("disconnect", 1.0)
    line = final_state_line("smu", smu)
    assert line.startswith("smu: state unknown, the output may still be ON (")
    assert "connection lost" in line


def test_a_limits_file_without_a_bias_table_is_refused(tmp_path):
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    with pytest.raises(BiasLimitError, match=r"no \[bias\] table"):
        load_limits(empty)
