"""A Keysight B2902 station (docs/stations/keysight-b2900.toml): two devices, one per channel.

Each channel is a source of the station: both devices calibrate, and every way out of a bench
leaves both channels at 0 V with the output off, as the mock world sees it.
"""

import json
from dataclasses import replace
from pathlib import Path

import pytest
import pyvisa
from smtjlab.instruments.keysight_b2900 import KeysightB2900
from smtjlab.instruments.safety import BiasLimitError, BiasLimits
from smtjlab.mocks.bench import SimulatedBench
from smtjlab.mocks.mock_infiniivision import MockInfiniiVision
from smtjlab.mocks.mock_keysight_b2900 import MockKeysightB2900
from smtjlab.mocks.visa_library import mock_resource_manager

from smtjlab import bench as bench_module
from smtjlab.bench import Bench, take_final_states
from smtjlab.cli import main
from smtjlab.station import Station, StationError

STATION = Path(__file__).resolve().parents[2] / "docs" / "stations" / "keysight-b2900.toml"
SMU = "GPIB0::23::INSTR"
SCOPE = "USB0::0x2A8D::0x1796::MY00000001::INSTR"
FAST = BiasLimits(max_abs_v=0.45, compliance_a=50e-6, ramp_step_v=0.05, ramp_rate_v_per_s=1e6)


@pytest.fixture(autouse=True)
def _drain_final_states():
    """Benches closed here leave their final-state lines for the command line: drop them."""
    yield
    take_final_states()


def open_bench() -> Bench:
    return Bench.open(Station.load(STATION).with_limits(FAST), points=10_000)


def world(bench: Bench) -> SimulatedBench:
    return bench.instruments["smu"].resource.visalib.bench


def assert_both_safe(simulated: SimulatedBench) -> None:
    assert simulated.output("smu:1") == (0.0, False)
    assert simulated.output("smu:2") == (0.0, False)


@pytest.mark.parametrize("device", ["mtj-1", "mtj-2"])
def test_each_channel_calibrates_its_own_device(capsys, device):
    argv = ["calibrate", "--station", str(STATION), "--device", device, "--levels", "5"]
    assert main([*argv, "--json"]) == 0
    captured = capsys.readouterr()
    levels = json.loads(captured.out)["levels"]
    assert [round(level["p_target"], 2) for level in levels] == [0.25, 0.5, 0.75]
    assert all(abs(level["p_measured"] - level["p_target"]) <= 0.01 for level in levels)
    assert "smu ch1: 0.000 V, output off" in captured.err
    assert "smu ch2: 0.000 V, output off" in captured.err


def test_each_channel_biases_only_the_junction_wired_to_it():
    with open_bench() as bench:
        simulated = world(bench)
        bench.select("mtj-2")
        bench.set_bias(0.3)
        assert simulated.bias_on(1) == pytest.approx(0.3) and simulated.bias_on(0) == 0.0
        assert bench.record().attrs["channel"] == 2
        bench.select("mtj-1")
        bench.set_bias(0.25)
        assert simulated.bias_on(0) == pytest.approx(0.25)
        assert simulated.bias_on(1) == pytest.approx(0.3)
    assert_both_safe(simulated)
    assert bench.final_state == ["smu ch1: 0.000 V, output off", "smu ch2: 0.000 V, output off"]


def test_an_out_of_limit_bias_on_either_channel_sends_nothing():
    with open_bench() as bench:
        library = bench.instruments["smu"].resource.visalib
        bench.select("mtj-2")
        bench.set_bias(0.3)
        before = library.written(SMU)
        for device in ("mtj-1", "mtj-2"):
            bench.select(device)
            with pytest.raises(BiasLimitError, match="refused"):
                bench.set_bias(0.5)
        assert library.written(SMU) == before
        assert world(bench).bias_on(1) == pytest.approx(0.3)


@pytest.mark.parametrize("exit_by", [None, RuntimeError, KeyboardInterrupt])
def test_close_an_exception_and_ctrl_c_leave_every_channel_at_zero_and_off(exit_by):
    bench = open_bench()
    simulated = world(bench)
    mock = bench.instruments["smu"].resource.visalib.device(SMU)

    def bias_both():
        for device, volts in (("mtj-1", 0.3), ("mtj-2", 0.35)):
            bench.select(device)
            bench.set_bias(volts)
        assert simulated.bias_on(0) == pytest.approx(0.3)
        assert simulated.bias_on(1) == pytest.approx(0.35)

    if exit_by is None:
        bias_both()
        bench.close()
    else:
        with pytest.raises(exit_by), bench:
            bias_both()
            raise exit_by("stop")
    assert_both_safe(simulated)
    assert all(channel.voltage == 0.0 for channel in mock.channels.values())


def test_a_station_file_is_its_own_world_that_any_client_drives_through_at_smtjlab():
    rm = pyvisa.ResourceManager(f"{STATION}@smtjlab")
    assert set(rm.list_resources()) == {SMU, SCOPE}
    simulated = rm.visalib.bench
    with KeysightB2900(rm.open_resource(SMU), FAST) as smu:
        smu.source(2).set_bias(0.3)
        assert simulated.bias_on(1) == pytest.approx(0.3) and simulated.bias_on(0) == 0.0
    assert_both_safe(simulated)


def test_a_station_cannot_wire_a_channel_a_b2900_lacks(tmp_path):
    path = tmp_path / "station.toml"
    path.write_text(STATION.read_text().replace("source_channel = 2", "source_channel = 3"))
    with pytest.raises(StationError, match="'smu' \\(keysight-b2900\\) has no channel 3"):
        Station.load(path)


def test_a_station_without_models_tells_a_b2900_by_its_idn(monkeypatch):
    station = Station.load(STATION)
    station = replace(
        station,
        instruments=tuple(replace(spec, model=None) for spec in station.instruments),
        visa_library="",
        simulation=None,
    )
    simulated = SimulatedBench(channels=2, wiring=["smu:1", "smu:2"])
    mocks = {SMU: MockKeysightB2900(simulated, "smu"), SCOPE: MockInfiniiVision(simulated)}
    rm = mock_resource_manager(simulated, devices=mocks)
    monkeypatch.setattr(bench_module, "resource_manager", lambda station: rm)
    with Bench.open(station.with_limits(FAST), points=10_000) as bench:
        assert isinstance(bench.instruments["smu"], KeysightB2900)
        bench.select("mtj-2")
        bench.set_bias(0.3)
        assert simulated.bias_on(1) == pytest.approx(0.3)
    assert_both_safe(simulated)


def test_a_one_channel_b2901_refuses_a_device_on_channel_2(monkeypatch):
    simulated = SimulatedBench(channels=2, wiring=["smu:1", "smu:2"])
    mocks = {
        SMU: MockKeysightB2900(simulated, "smu", "B2901A"),
        SCOPE: MockInfiniiVision(simulated),
    }
    rm = mock_resource_manager(simulated, devices=mocks)
    monkeypatch.setattr(bench_module, "resource_manager", lambda station: rm)
    station = replace(Station.load(STATION), visa_library="", simulation=None)
    with pytest.raises(StationError, match="key 'source_channel': 'smu' has no channel 2"):
        Bench.open(station.with_limits(FAST))
    assert_both_safe(simulated)
