"""Station files (DESIGN §5.5): parsing, one line per mistake, and the bench they open."""

import json
from dataclasses import replace
from pathlib import Path

import pytest
import pyvisa
from smtjlab.instruments.keithley import Keithley2400
from smtjlab.mocks.visa_library import KEITHLEY_RESOURCE, mock_resource_manager

from smtjlab import bench as bench_module
from smtjlab.bench import Bench
from smtjlab.cli import main
from smtjlab.station import Station, StationError

STATIONS = Path(__file__).resolve().parents[2] / "docs" / "stations"
EXAMPLE = STATIONS / "design-example.toml"

GOOD = """\
visa_library = "@smtjlab"
[limits]
max_abs_v = 0.45
ramp_rate_v_per_s = 100

[[instrument]]
name = "smu"
resource = "GPIB0::24::INSTR"
role = "source"
model = "keithley2400"

[[instrument]]
name = "scope"
resource = "USB0::0x2A8D::0x1796::MY00000001::INSTR"
role = "scope"
model = "infiniivision"

[[device]]
name = "mtj-a"
source = "smu"
readout = "scope"
readout_channel = 1
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "station.toml"
    path.write_text(text)
    return path


def test_the_design_example_parses_into_its_instruments_and_device():
    station = Station.load(EXAMPLE)
    assert [(i.name, i.role, i.model) for i in station.instruments] == [
        ("smu", "source", "keithley2400"),
        ("scope", "scope", "infiniivision"),
    ]
    (device,) = station.devices
    assert (device.source, device.readout, device.scale_v, device.sample_rate) == (
        "smu",
        "scope",
        0.025,
        10e6,
    )
    assert station.limits.max_abs_v == 0.45 and station.is_mock
    assert station.simulation.source == "model" and station.simulation.seed == 0


BROKEN = {
    "unknown key": (GOOD.replace('role = "scope"', 'role = "scope"\ncolour = "red"'), "'colour'"),
    "unknown table": (GOOD + "\n[bais]\nmax_abs_v = 1\n", "unknown key 'bais'"),
    "missing instrument": (
        GOOD.replace('readout = "scope"', 'readout = "oscilloscope"'),
        "key 'readout': no [[instrument]] is named 'oscilloscope'",
    ),
    "wrong role": (
        GOOD.replace('role = "source"', 'role = "scope"', 1),
        "key 'role': a keithley2400 is a source, it cannot be a scope",
    ),
    "bad resource": (GOOD.replace("GPIB0::24::INSTR", "FOO::bar"), "key 'resource': malformed"),
    "duplicate names": (
        GOOD + '\n[[device]]\nname = "mtj-a"\nsource = "smu"\nreadout = "scope"\n',
        "key 'name': 'mtj-a' names two devices",
    ),
    "bad TOML": (GOOD.replace("max_abs_v = 0.45", "max_abs_v = = 0.45"), "not valid TOML"),
    "wrong types": (GOOD.replace("readout_channel = 1", 'readout_channel = "one"'), "channel"),
    "channel the instrument lacks": (
        GOOD.replace("readout_channel = 1", "readout_channel = 1\nsource_channel = 2"),
        "key 'source_channel': 'smu' (keithley2400) has no channel 2 (it has 1)",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_station_is_one_line_naming_the_key(tmp_path, capsys, case):
    text, message = BROKEN[case]
    path = write(tmp_path, text)
    with pytest.raises(StationError) as raised:
        Station.load(path)
    assert message in str(raised.value) and str(path) in str(raised.value)
    assert main(["calibrate", "--station", str(path), "--levels", "5"]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and message in error


@pytest.mark.parametrize(
    ("scope_resource", "scope_model", "message"),
    [
        # The scope's address answers with a Keithley's *IDN?: the station's model is wrong.
        (KEITHLEY_RESOURCE, "infiniivision", "key 'model': GPIB0::24::INSTR: model"),
        # No model: *IDN? says a Keithley 2400, which cannot be the scope.
        (KEITHLEY_RESOURCE, None, "key 'role': GPIB0::24::INSTR is a keithley2400 (source)"),
        ("GPIB0::7::INSTR", "infiniivision", "key 'resource': GPIB0::7::INSTR: cannot open"),
    ],
)
def test_what_the_instruments_say_is_checked_when_the_bench_opens(
    tmp_path, monkeypatch, scope_resource, scope_model, message
):
    # A real-VISA station, whose VISA library is the mock one behind the cables.
    station = Station.load(write(tmp_path, GOOD.replace('visa_library = "@smtjlab"\n', "")))
    smu, scope = station.instruments
    station = replace(
        station, instruments=(smu, replace(scope, resource=scope_resource, model=scope_model))
    )
    monkeypatch.setattr(bench_module, "resource_manager", lambda station: mock_resource_manager())
    with pytest.raises(StationError) as raised:
        Bench.open(station)
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_a_station_file_is_its_own_world_through_at_smtjlab():
    path = STATIONS / "two-smus.toml"
    rm = pyvisa.ResourceManager(f"{path}@smtjlab")
    default = pyvisa.ResourceManager("@smtjlab")
    assert rm.visalib is not default.visalib
    assert set(rm.list_resources()) == {
        "GPIB0::24::INSTR",
        "GPIB0::25::INSTR",
        "USB0::0x2A8D::0x1796::MY00000001::INSTR",
    }
    world = rm.visalib.bench
    a = Keithley2400(rm.open_resource("GPIB0::24::INSTR"))
    a.set_bias(0.3)
    # smu-a biases junction 0 only; the default station's world did not move.
    assert world.bias_on(0) == pytest.approx(0.3) and world.bias_on(1) == 0.0
    assert not default.visalib.bench.output_on
    a.close()
    assert world.bias_on(0) == 0.0


def test_both_devices_of_a_two_smu_station_calibrate(capsys):
    path = STATIONS / "two-smus.toml"
    for device in ("mtj-a", "mtj-b"):
        argv = ["calibrate", "--station", str(path), "--device", device, "--levels", "5"]
        assert main([*argv, "--json"]) == 0
        captured = capsys.readouterr()
        levels = json.loads(captured.out)["levels"]
        assert all(abs(lv["p_measured"] - lv["p_target"]) <= 0.01 for lv in levels)
        assert "smu-a: 0.000 V, output off" in captured.err
        assert "smu-b: 0.000 V, output off" in captured.err


def test_calibrate_and_acquire_on_the_design_example(tmp_path, capsys):
    assert main(["calibrate", "--station", str(EXAMPLE), "--levels", "5", "--json"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert [round(lv["p_target"], 2) for lv in result["levels"]] == [0.25, 0.5, 0.75]
    assert all(abs(lv["p_measured"] - lv["p_target"]) <= 0.01 for lv in result["levels"])
    assert captured.err.strip().endswith("smu: 0.000 V, output off")
    out = tmp_path / "run.h5"
    argv = ["acquire", "--station", str(EXAMPLE), "--bias", "0.3", "--duration", "0.02"]
    assert main([*argv, "-o", str(out), "--json"]) == 0
    traces = json.loads(capsys.readouterr().out)["traces"]
    assert traces[0]["samples"] == 20_000
