"""`smtjlab acquire`: a valid mock-bench file, one-line errors, a file that survives SIGKILL."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from smtjlab.acquisition.tracefile import read_traces

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
        (["--resource", "FOO::bar"], "malformed resource string 'FOO::bar'"),
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


def test_an_existing_recording_is_refused_before_the_bench_opens(tmp_path, capsys, monkeypatch):
    from smtjlab.commands import acquire

    def never(*_):
        raise AssertionError("the bench must not open")

    monkeypatch.setattr(acquire, "_open_mock", never)
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


def test_a_failed_acquire_leaves_no_empty_file(tmp_path, capsys):
    out = tmp_path / "new.h5"
    argv = ["acquire", "--mock", "--bias", "0.3", "--duration", "0.01", "--points", "10"]
    assert main([*argv, "-o", str(out)]) == 1  # refused by record() once the bench is open
    assert "points" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
