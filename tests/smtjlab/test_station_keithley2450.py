"""A Keithley 2450 station: discovery by *IDN?, a whole calibration, and safety on every exit.

Each test reads the state from the mock world and the mock 2450 behind the cable, never from the
driver's own idea of it.
"""

import json
from pathlib import Path

import pytest
from smtjlab.instruments.keithley2450 import Keithley2450
from smtjlab.instruments.safety import BiasLimitError, BiasLimits
from smtjlab.mocks.bench import SimulatedBench
from smtjlab.mocks.mock_infiniivision import MockInfiniiVision
from smtjlab.mocks.mock_keithley2450 import MockKeithley2450
from smtjlab.mocks.visa_library import mock_resource_manager

from smtjlab import bench as bench_module
from smtjlab.bench import Bench
from smtjlab.cli import main
from smtjlab.station import Station

STATION = Path(__file__).resolve().parents[2] / "docs" / "stations" / "keithley2450.toml"
SMU = "USB0::0x05E6::0x2450::04512345::INSTR"
SCOPE = "USB0::0x2A8D::0x1796::MY00000001::INSTR"
FAST = BiasLimits(max_abs_v=0.45, compliance_a=50e-6, ramp_step_v=0.05, ramp_rate_v_per_s=1e6)


def open_bench() -> Bench:
    return Bench.open(Station.load(STATION).with_limits(FAST), points=10_000)


def behind_the_cable(bench: Bench):
    library = bench.source.resource.visalib
    return library, library.bench, library.device(SMU)


def assert_safe(bench: Bench) -> None:
    _library, world, mock = behind_the_cable(bench)
    assert world.output("smu:1") == (0.0, False) and world.bias_on(0) == 0.0
    assert mock.level["VOLT"] == 0.0 and not mock.output_on


def test_calibrate_on_the_2450_station_reaches_every_level(capsys):
    argv = ["calibrate", "--station", str(STATION), "--levels", "5", "--json"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert [round(level["p_target"], 2) for level in result["levels"]] == [0.25, 0.5, 0.75]
    assert all(abs(lv["p_measured"] - lv["p_target"]) <= 0.01 for lv in result["levels"])
    assert result["fit"]["v50"] == pytest.approx(0.30, abs=0.005)
    assert captured.err.strip().endswith("smu: 0.000 V, output off")


def test_the_station_opens_the_2450_driver_with_the_stations_limit():
    with open_bench() as bench:
        assert isinstance(bench.source, Keithley2450)
        _library, _world, mock = behind_the_cable(bench)
        assert mock.limit["VOLT"] == pytest.approx(50e-6)  # :SOURce:VOLTage:ILIMit
        bench.set_bias(0.3)
        assert mock.level["VOLT"] == pytest.approx(0.3) and mock.output_on


@pytest.mark.parametrize("volts", [0.46, -0.5, float("nan"), float("inf")])
def test_an_out_of_limit_bias_sends_nothing(volts):
    with open_bench() as bench:
        library, world, _mock = behind_the_cable(bench)
        bench.set_bias(0.3)
        before = library.written(SMU)
        with pytest.raises(BiasLimitError, match="refused"):
            bench.set_bias(volts)
        with pytest.raises(BiasLimitError, match="refused"):
            bench.source.set_compliance(1e-3)
        assert library.written(SMU) == before
        assert world.bias_on(0) == pytest.approx(0.3)


def test_close_leaves_the_2450_at_zero_with_the_output_off():
    bench = open_bench()
    bench.set_bias(0.35)
    bench.close()
    assert_safe(bench)
    assert bench.final_state == ["smu: 0.000 V, output off"]


@pytest.mark.parametrize("interrupt", [RuntimeError("analysis failed"), KeyboardInterrupt()])
def test_an_exception_or_ctrl_c_in_the_block_leaves_the_2450_safe(interrupt):
    bench = open_bench()
    with pytest.raises(type(interrupt)), bench:
        bench.set_bias(0.35)
        assert behind_the_cable(bench)[1].bias_on(0) == pytest.approx(0.35)
        raise interrupt
    assert_safe(bench)
    levels = [
        float(message.split()[1])
        for message in behind_the_cable(bench)[0].written(SMU)
        if message.startswith(":SOURce:VOLTage:LEVel ")
    ]
    assert levels[-2:] == [0.05, 0.0]  # ramped down, not dropped


def test_a_station_without_model_tells_the_2450_by_its_idn(tmp_path, monkeypatch):
    # A real-VISA station naming no models: *IDN? picks each driver.
    station = tmp_path / "lab.toml"
    station.write_text(
        f'[[instrument]]\nname = "smu"\nresource = "{SMU}"\nrole = "source"\n'
        f'[[instrument]]\nname = "scope"\nresource = "{SCOPE}"\nrole = "scope"\n'
        '[[device]]\nname = "mtj"\nsource = "smu"\nreadout = "scope"\n'
    )
    world = SimulatedBench(wiring=["smu:1"])
    devices = {SMU: MockKeithley2450(world, "smu:1"), SCOPE: MockInfiniiVision(world, {1: 0})}
    monkeypatch.setattr(
        bench_module, "resource_manager", lambda station: mock_resource_manager(devices=devices)
    )
    with Bench.open(Station.load(station).with_limits(FAST), points=10_000) as bench:
        assert isinstance(bench.source, Keithley2450)
        assert [spec.model for spec in bench.station.instruments] == [None, None]
        bench.set_bias(0.3)
        assert world.bias_on(0) == pytest.approx(0.3)
    assert world.output("smu:1") == (0.0, False)
