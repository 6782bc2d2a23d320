"""SIGTERM mid-record on every model's station: each source channel ends at 0 V, output off."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from smtjlab.acquisition.tracefile import read_traces

STATIONS = Path(__file__).resolve().parents[2] / "docs" / "stations"
MODELS = {
    "keithley2400": ("design-example.toml", ["smu"]),
    "keithley2450": ("keithley2450.toml", ["smu"]),
    "keithley2600": ("keithley2600.toml", ["smu ch1", "smu ch2"]),
    "keysight-b2900": ("keysight-b2900.toml", ["smu ch1", "smu ch2"]),
    "tektronix-mso": ("tektronix-mso.toml", ["smu"]),
}


@pytest.mark.parametrize("model", sorted(MODELS))
def test_sigterm_mid_record_leaves_every_channel_off(tmp_path, model):
    station, sources = MODELS[model]
    out = tmp_path / "x.h5"
    command = [sys.executable, "-m", "smtjlab", "acquire", "--station", str(STATIONS / station)]
    command += ["--bias", "0.3", "--duration", "300", "-o", str(out)]  # stopped long before
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not (out.exists() and out.stat().st_size > 2_500_000):  # a record is in
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, "acquire never recorded"
            time.sleep(0.02)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 143
    lines = err.decode().splitlines()
    assert lines[-len(sources) :] == [f"{name}: 0.000 V, output off" for name in sources]
    assert len(read_traces(out)[0].data) >= 1_000_000
