"""docs/stations/tektronix-mso.toml: a Keithley 2400 and a Tektronix MSO54 on the mock bench."""

import json
from pathlib import Path

import pytest
import pyvisa
from smtjlab.instruments.discovery import list_instruments
from smtjlab.instruments.safety import BiasLimitError

from smtjlab.bench import Bench, take_final_states
from smtjlab.cli import main
from smtjlab.station import Station

STATION = Path(__file__).resolve().parents[2] / "docs" / "stations" / "tektronix-mso.toml"
SCOPE = "USB0::0x0699::0x0522::C012345::INSTR"


def test_calibrate_reaches_every_level_through_the_mso(capsys):
    assert main(["calibrate", "--station", str(STATION), "--levels", "5", "--json"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert [round(level["p_target"], 2) for level in result["levels"]] == [0.25, 0.5, 0.75]
    assert all(abs(lv["p_measured"] - lv["p_target"]) <= 0.01 for lv in result["levels"])
    assert result["fit"]["v50"] == pytest.approx(0.30, abs=0.002)
    assert captured.err.strip().endswith("smu: 0.000 V, output off")


def test_acquire_records_the_mso_readout(tmp_path, capsys):
    out = tmp_path / "run.h5"
    argv = ["acquire", "--station", str(STATION), "--bias", "0.3", "--duration", "0.02"]
    assert main([*argv, "--sample-rate", "5e6", "-o", str(out), "--json"]) == 0
    (trace,) = json.loads(capsys.readouterr().out)["traces"]
    assert (trace["samples"], trace["sample_rate"]) == (100_000, 5e6)  # 20 ms at 5 MSa/s


def test_discovery_tells_the_mso_apart_by_its_idn():
    rm = pyvisa.ResourceManager(f"{STATION}@smtjlab")
    found = {item.resource: (item.model, item.role) for item in list_instruments(rm)}
    assert found == {
        "GPIB0::24::INSTR": ("keithley2400", "source"),
        SCOPE: ("tektronix-mso", "scope"),
    }


@pytest.mark.parametrize("interruption", [RuntimeError, KeyboardInterrupt])
def test_an_exception_or_ctrl_c_on_the_bench_leaves_the_smu_at_zero_and_off(interruption):
    station = Station.load(STATION)
    with pytest.raises(interruption), Bench.open(station) as bench:
        world = bench.instruments["smu"].resource.visalib.bench
        bench.set_bias(0.3)
        assert world.bias_on(0) == pytest.approx(0.3)
        bench.record()
        raise interruption("the experiment stopped")
    assert world.output("smu:1") == (0.0, False)
    assert bench.final_state == take_final_states() == ["smu: 0.000 V, output off"]


def test_a_bias_beyond_the_limits_sends_nothing_to_either_instrument():
    with Bench.open(Station.load(STATION)) as bench:
        library = bench.instruments["smu"].resource.visalib
        before = {name: library.written(name) for name in ("GPIB0::24::INSTR", SCOPE)}
        with pytest.raises(BiasLimitError):
            bench.set_bias(0.5)  # the station's max_abs_v is 0.45 V
        assert {name: library.written(name) for name in before} == before
    take_final_states()  # no command here prints them
