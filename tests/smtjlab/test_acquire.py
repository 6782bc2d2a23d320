"""`smtjlab acquire`: a valid mock-bench file, one-line errors, a file that survives SIGKILL."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from smtjlab.acquisition.tracefile import TraceWriter, read_traces
from smtjlab.instruments.scpi import InstrumentError

from smtjlab.cli import main


def test_acquire_mock_writes_a_valid_file(tmp_path, capsys):
    out = tmp_path / "x.h5"
    argv = ["acquire", "--mock", "--bias", "0.1", "0.2", "--duration", "2", "-o", str(out)]
    assert main([*argv, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["source"] == "synthetic" and len(result["traces"]) == 2
    traces = read_traces(out)
    assert [trace.bias_voltage for trace in traces] == [0.1, 0.2]
    assert all(len(trace.data) == 2_000_000 and trace.source == "synthetic" for trace in traces)


def test_acquire_replay_source_and_limits_file(tmp_path, capsys):
    limits = tmp_path / "limits.toml"
    limits.write_text("[bias]\nmax_abs_v = 0.3\nramp_rate_v_per_s = 100\n")
    out = tmp_path / "r.h5"
    argv = ["acquire", "--mock", "--source", "replay", "--duration", "0.01", "-o", str(out)]
    assert main([*argv, "--bias", "0.3", "--limits", str(limits)]) == 0
    assert "ch1_bias_+0.3000V: 10000 samples" in capsys.readouterr().out
    recorded = out.read_bytes()
    assert main([*argv, "--bias", "0.35", "--limits", str(limits), "--force"]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "bias 0.35 V refused: the limit is |V| <= 0.3 V" in error
    assert out.read_bytes() == recorded  # the refused run left the recording alone


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--resource", "FOO::bar", "GPIB0::24::INSTR"], "malformed VISA resource 'FOO::bar'"),
        (["--mock", "--bias", "nan"], "bias nan V refused"),
        (["--mock", "--limits", "/no/such.toml"], "cannot read limits file"),
    ],
)
def test_acquire_errors_are_one_line(tmp_path, capsys, extra, message):
    argv = ["acquire", "--duration", "1", "-o", str(tmp_path / "e.h5"), *extra]
    if "--bias" not in extra:
        argv += ["--bias", "0.1"]
    assert main(argv) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and message in error


def test_acquire_usage_errors_exit_2(tmp_path):
    with pytest.raises(SystemExit) as raised:
        main(["acquire", "--mock", "--duration", "1", "-o", str(tmp_path / "u.h5")])
    assert raised.value.code == 2


def test_sigkill_mid_acquisition_leaves_a_readable_file(tmp_path):
    out = tmp_path / "killed.h5"
    command = [
        sys.executable,
        "-m",
        "smtjlab",
        "acquire",
        "--mock",
        "--bias",
        "0.3",
        "--duration",
        "1000",
        "--points",
        "100000",
        "-o",
        str(out),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not (out.exists() and out.stat().st_size > 600_000):
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, "acquire wrote nothing"
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    (trace,) = read_traces(out)
    assert len(trace.data) >= 200_000 and len(trace.data) % 100_000 == 0
    assert trace.source == "synthetic"


def start_acquire(out, *extra):
    command = [sys.executable, "-m", "smtjlab", "acquire", "--mock", "--bias", "0.3"]
    command += ["--duration", "300", "-o", str(out), *extra]  # a signal stops it long before
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_for(process, ready, what):
    deadline = time.monotonic() + 120
    while not ready():
        assert process.poll() is None, process.stderr.read().decode()
        assert time.monotonic() < deadline, f"acquire never got {what}"
        time.sleep(0.02)


def stop_with(process, signum):
    try:
        process.send_signal(signum)
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
        process.wait()
    return process.returncode, err.decode().splitlines()


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_a_signal_mid_record_ramps_down_and_leaves_a_readable_file(tmp_path, signum, code):
    out = tmp_path / "x.h5"
    process = start_acquire(out)
    wait_for(process, lambda: out.exists() and out.stat().st_size > 4_000_000, "a record")
    rc, lines = stop_with(process, signum)
    assert rc == code
    assert lines[-2:] == [
        f"smtjlab acquire: {signal.Signals(signum).name} received, stopping",
        "smu: 0.000 V, output off",
    ]
    (trace,) = read_traces(out)
    assert 1_000_000 <= len(trace.data) < 20_000_000  # stopped mid-record, everything kept


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_a_signal_mid_ramp_ramps_back_down(tmp_path, signum, code):
    # 0.01 V steps at 0.1 V/s: the ramp to 0.3 V takes 3 s, and the file is open before it.
    limits = tmp_path / "slow.toml"
    limits.write_text("[bias]\nramp_step_v = 0.01\nramp_rate_v_per_s = 0.1\n")
    out = tmp_path / "ramp.h5"
    process = start_acquire(out, "--limits", str(limits))
    wait_for(process, out.exists, "its file open")
    time.sleep(0.5)
    rc, lines = stop_with(process, signum)
    assert rc == code
    assert lines[-1] == "smu: 0.000 V, output off"
    assert read_traces(out) == []  # the ramp never reached 0.3 V, so no record was taken


def test_acquire_ends_with_the_state_read_back(tmp_path, capsys):
    argv = [
        "acquire",
        "--mock",
        "--bias",
        "0.3",
        "--duration",
        "0.01",
        "-o",
        str(tmp_path / "s.h5"),
    ]
    assert main(argv) == 0
    assert capsys.readouterr().err == "smu: 0.000 V, output off\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[bais]\nmax_abs_v = 0.3\n", "unknown table [bais]"),
        (
            "[bias]\nmax_abs_v = true\n",
            "[bias]: max_abs_v = true refused: must be a number, not a bool",
        ),
        ("[bias]\nmax_abs_v = 1000\n", "[bias]: max_abs_v = 1000 refused: the ceiling is 2 V"),
        ("[bias]\nramp_step_v = 10\n", "[bias]: ramp_step_v = 10 refused: at most max_abs_v / 2"),
        ("[bias]\nramp_rate_v_per_s = 1e-9\n", "[bias]: ramp_rate_v_per_s = 1e-09 refused"),
        ("[bias]\nramp_step_v = 1e-12\n", "[bias]: ramp_step_v = 1e-12 refused"),
    ],
)
def test_a_bad_limits_file_is_one_line_before_any_instrument(tmp_path, capsys, text, message):
    limits = tmp_path / "lab.toml"
    limits.write_text(text)
    out = tmp_path / "never.h5"
    argv = ["acquire", "--mock", "--bias", "0.3", "--duration", "1", "-o", str(out)]
    assert main([*argv, "--limits", str(limits)]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and f"{limits}" in error and message in error
    assert not out.exists()  # refused before the recording began


def test_an_existing_recording_is_refused_before_the_bench_opens(tmp_path, capsys, monkeypatch):

    def never(*_):
        raise AssertionError("the bench must not open")

    monkeypatch.setattr("smtjlab.bench.Bench.open", never)
    out = tmp_path / "existing.h5"
    out.write_bytes(b"last week's recording")
    assert main(["acquire", "--mock", "--bias", "0.3", "--duration", "0.01", "-o", str(out)]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "existing.h5: exists; pass --force to replace it" in error
    assert out.read_bytes() == b"last week's recording"


def test_acquire_with_force_replaces_a_recording_only_once_it_is_recorded(tmp_path, capsys):
    out = tmp_path / "existing.h5"
    out.write_bytes(b"last week's recording")
    argv = ["acquire", "--mock", "--bias", "0.3", "--duration", "0.01", "-o", str(out), "--force"]
    assert main(argv) == 0
    assert len(read_traces(out)[0].data) == 10_000
    assert sorted(path.name for path in tmp_path.iterdir()) == ["existing.h5"]


def failing_record(samples):
    """`record` that writes `samples` samples, then loses the scope."""

    def record(smu, scope, path, *args, **kwargs):
        with TraceWriter(path) as writer:
            writer.create("ch1_bias_+0.1000V", sample_rate=1e6, bias_voltage=0.1)
            writer.append("ch1_bias_+0.1000V", np.zeros(samples, np.float32))
        raise InstrumentError("scope: connection lost")

    return record


@pytest.mark.parametrize("samples", [0, 1000])
def test_a_failed_acquire_keeps_its_file_only_if_it_recorded_something(
    tmp_path, capsys, monkeypatch, samples
):

    monkeypatch.setattr("smtjlab.bench.record", failing_record(samples))
    out = tmp_path / "new.h5"
    argv = ["acquire", "--mock", "--bias", "0.1", "--duration", "0.01", "-o", str(out)]
    assert main(argv) == 1
    assert "connection lost" in capsys.readouterr().err
    if samples:
        assert len(read_traces(out)[0].data) == samples
    else:
        assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--duration", "nan"], "argument --duration: 'nan' is not a finite number"),
        (["--duration", "0"], "argument --duration: '0' is not > 0"),
        (["--channel", "0"], "argument --channel: 0 is not between 1 and 4"),
        (["--channel", "one"], "argument --channel: 'one' is not an integer"),
        (["--settle", "-1"], "argument --settle: '-1' is not >= 0"),
        (["--sample-rate", "inf"], "argument --sample-rate: 'inf' is not a finite number"),
        (["--points", "5"], "argument --points: 5 is not between 100 and 8000000"),
        (["--scale", "0"], "argument --scale: '0' is not > 0"),
        (["--seed", "-1"], "argument --seed: -1 is not >= 0"),
    ],
)
def test_bad_numbers_are_usage_errors_naming_the_argument(tmp_path, capsys, extra, message):
    argv = ["acquire", "--mock", "--bias", "0.1", "--duration", "1", "-o", str(tmp_path / "u.h5")]
    with pytest.raises(SystemExit) as raised:
        main([*argv, *extra])
    assert raised.value.code == 2 and message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "extra", [["--duration", "1e12"], ["--duration", "0.01", "--sample-rate", "1e300"]]
)
def test_a_recording_larger_than_the_free_disk_is_refused_before_any_work(tmp_path, capsys, extra):
    argv = ["acquire", "--mock", "--bias", "0.3", "--duration", "1", "-o", str(tmp_path / "x.h5")]
    assert main([*argv, *extra]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "GB (2 bytes a sample), more than the" in error
    assert list(tmp_path.iterdir()) == []
