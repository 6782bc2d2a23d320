"""QCoDeS's Keithley 2600 driver, unchanged, against the mock 2600B through `...@smtjlab`."""

import shutil
from pathlib import Path

import numpy as np
import pytest
import pyvisa
from qcodes.instrument import Instrument
from qcodes.instrument_drivers.Keithley import Keithley2636B
from scipy.special import expit

STATION = Path(__file__).resolve().parents[2] / "docs" / "stations" / "keithley2600.toml"
SMU = "GPIB0::26::INSTR"


@pytest.fixture
def library(tmp_path):
    station = tmp_path / "station.toml"
    shutil.copy(STATION, station)
    yield f"{station}@smtjlab"
    Instrument.close_all()


def test_qcodes_keithley2636b_sees_the_current_follow_the_occupancy(library):
    smu = Keithley2636B("k2636b", SMU, visalib=library)
    world = pyvisa.ResourceManager(library).visalib.bench
    assert smu.IDN()["model"] == "2636B" and smu.model == "2636B"
    smua, smub = smu.smua, smu.smub
    smua.mode("voltage")
    smua.limiti(50e-6)
    smua.nplc(1)
    smua.volt(0.0)
    smua.output("on")
    assert world.output("smu:1") == (0.0, True) and world.output("smu:2") == (0.0, False)
    biases = np.array([0.26, 0.28, 0.30, 0.32, 0.34])
    currents = []
    for bias in biases:
        smua.volt(float(bias))
        currents.append(smua.curr())
        assert smua.curr.measurement_status.name == "NORMAL"
    smub.volt(0.2)
    assert world.bias_on(1) == 0.0  # smub's level is set, its output is still off
    smua.volt(0.0)
    smua.output("off")
    assert smua.output() is False and world.output("smu:1") == (0.0, False)
    # Through the junction and the load, I/V = p·G_high + (1 − p)·G_low: the conductance is a
    # line in the occupancy p(V) of the device's sigmoid (V50 = 0.30 V, 25 mV wide), up to the
    # sampling noise of 256 samples per reading (±3 % in p).
    p = expit((biases - 0.30) / 0.025)
    conductance = np.array(currents) / biases
    slope, intercept = np.polyfit(p, conductance, 1)
    residual = np.abs(conductance - (slope * p + intercept)).max()
    assert slope > 0 and residual < 0.1 * slope
    print(
        f"qcodes Keithley2636B: biases {biases} V, occupancy {np.round(p, 3)},"
        f" smua.curr {np.array(currents)} A"
    )


def test_qcodes_sees_the_current_limit_in_the_measurement_status(library):
    smu = Keithley2636B("k2636b_limit", SMU, visalib=library)
    smu.smua.limiti(1e-6)
    smu.smua.volt(0.35)
    smu.smua.output("on")
    assert smu.smua.curr() == pytest.approx(1e-6)
    assert smu.smua.curr.measurement_status.name == "CURRENT_COMPLIANCE_ERROR"
    smu.smua.volt(0.0)
    smu.smua.output("off")
