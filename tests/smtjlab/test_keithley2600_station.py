"""The two-channel Keithley 2600B station: calibration through the command line, and safety on
every channel (refusals send nothing; close, an exception and Ctrl-C leave both at 0 V, off)."""

import json
from pathlib import Path

import pytest
import pyvisa
from smtjlab.instruments.discovery import list_instruments
from smtjlab.instruments.safety import BiasLimitError
from smtjlab.mocks.bench import SimulatedBench
from smtjlab.mocks.mock_infiniivision import MockInfiniiVision
from smtjlab.mocks.mock_keithley2600 import MockKeithley2600
from smtjlab.mocks.visa_library import mock_resource_manager

from smtjlab import bench as bench_module
from smtjlab.bench import Bench, take_final_states
from smtjlab.cli import main
from smtjlab.station import Station, StationError

STATION = Path(__file__).resolve().parents[2] / "docs" / "stations" / "keithley2600.toml"
SMU = "GPIB0::26::INSTR"


def levels_within(result, tolerance=0.01):
    assert [round(level["p_target"], 2) for level in result["levels"]] == [0.25, 0.5, 0.75]
    return all(abs(lv["p_measured"] - lv["p_target"]) <= tolerance for lv in result["levels"])


def test_calibrate_on_the_station_reaches_every_level_and_ends_with_both_channels_off(capsys):
    argv = ["calibrate", "--station", str(STATION), "--levels", "5", "--json"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert levels_within(json.loads(captured.out))
    assert "smu ch1: 0.000 V, output off" in captured.err
    assert "smu ch2: 0.000 V, output off" in captured.err


@pytest.fixture
def fast_station(tmp_path):
    """The station with a quick ramp, in a file of its own (so a world of its own)."""
    text = STATION.read_text().replace("ramp_rate_v_per_s = 0.5", "ramp_rate_v_per_s = 1000")
    path = tmp_path / "k2600.toml"
    path.write_text(text)
    return Station.load(path)


def test_the_second_channel_calibrates_its_own_device(fast_station, capsys):
    argv = ["calibrate", "--station", str(fast_station.path), "--device", "mtj-b", "--levels", "5"]
    assert main([*argv, "--json"]) == 0
    assert levels_within(json.loads(capsys.readouterr().out))


def world_of(bench):
    return bench.instruments["smu"].resource.visalib


def assert_every_channel_safe(library):
    mock = library.device(SMU)
    for channel, output in zip(mock.channels, ("smu:1", "smu:2"), strict=True):
        assert (channel.levelv, channel.output) == (0.0, 0.0)
        assert library.bench.output(output) == (0.0, False)


def test_a_bias_beyond_the_limits_sends_nothing_on_either_channel(fast_station):
    with Bench.open(fast_station) as bench:
        library = world_of(bench)
        bench.set_bias(0.3)
        sent = library.written(SMU)
        for device in ("mtj-a", "mtj-b"):
            bench.select(device)
            with pytest.raises(BiasLimitError, match="refused"):
                bench.set_bias(0.46)
            with pytest.raises(BiasLimitError, match="refused"):
                bench.source.set_compliance(1e-3)
        assert library.written(SMU) == sent
        assert library.bench.output("smu:1") == (0.3, True)
        assert library.bench.output("smu:2") == (0.0, False)


def biased(bench):
    for device, volts in (("mtj-a", 0.3), ("mtj-b", 0.25)):
        bench.select(device)
        bench.set_bias(volts)
    library = world_of(bench)
    assert library.bench.output("smu:1") == (0.3, True)
    assert library.bench.output("smu:2") == (0.25, True)
    return library


def test_close_leaves_every_channel_at_zero_and_off(fast_station):
    bench = Bench.open(fast_station)
    library = biased(bench)
    bench.close()
    assert_every_channel_safe(library)
    assert bench.final_state == ["smu ch1: 0.000 V, output off", "smu ch2: 0.000 V, output off"]
    assert take_final_states() == bench.final_state


@pytest.mark.parametrize("interruption", [RuntimeError("boom"), KeyboardInterrupt()])
def test_an_exception_or_ctrl_c_in_the_block_leaves_every_channel_safe(fast_station, interruption):
    libraries = []
    with pytest.raises(type(interruption)), Bench.open(fast_station) as bench:
        libraries.append(biased(bench))
        raise interruption
    assert_every_channel_safe(libraries[0])


def test_discovery_tells_the_2600b_apart_by_its_idn(fast_station):
    found = {
        item.resource: item
        for item in list_instruments(pyvisa.ResourceManager(f"{fast_station.path}@smtjlab"))
    }
    assert (found[SMU].model, found[SMU].role) == ("keithley2600", "source")
    assert found[SMU].idn.startswith("Keithley Instruments Inc., Model 2636B,")


def test_a_single_channel_2600b_has_no_second_source(fast_station, monkeypatch):
    """The station allows channel 2 (a 2600B may have two); a 2601B says it has one."""
    world = SimulatedBench(channels=2, wiring=["smu:1", "smu:2"])
    devices = {
        SMU: MockKeithley2600(world, "smu", "2601B"),
        "USB0::0x2A8D::0x1796::MY00000001::INSTR": MockInfiniiVision(world, {1: 0, 2: 1}),
    }
    monkeypatch.setattr(
        bench_module, "resource_manager", lambda station: mock_resource_manager(devices=devices)
    )
    with pytest.raises(StationError, match="key 'source_channel': 'smu' has no channel 2"):
        Bench.open(fast_station)
    assert world.output("smu:1") == (0.0, False)
