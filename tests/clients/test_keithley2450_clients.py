"""PyMeasure's and QCoDeS's Keithley 2450 drivers, unchanged, against the mock 2450 (`@smtjlab`).

Test-only dependencies (the `clients` extra). Each client speaks the 2450's native SCPI to the
station file's mock 2450, biases the s-MTJ and reads the current it drives; the station's scope
sees the same junction, so its occupancy follows the bias the client set.
"""

import shutil
from pathlib import Path

import numpy as np
import pytest
import pyvisa
from pymeasure.adapters import VISAAdapter
from pymeasure.instruments.keithley import Keithley2450 as PyMeasure2450
from pymeasure.instruments.keysight import KeysightDSOX1102G
from qcodes.instrument_drivers.Keithley import Keithley2450 as QCoDeS2450
from scipy.special import expit

STATION = Path(__file__).resolve().parents[2] / "docs" / "stations" / "keithley2450.toml"
SMU = "USB0::0x05E6::0x2450::04512345::INSTR"
SCOPE = "USB0::0x2A8D::0x1796::MY00000001::INSTR"
BIASES = (0.27, 0.30, 0.33)


@pytest.fixture
def library(tmp_path):
    """A station file of its own, so each test gets a fresh simulated world."""
    station = tmp_path / "station.toml"
    shutil.copy(STATION, station)
    return f"{station}@smtjlab"


def world_of(library):
    return pyvisa.ResourceManager(library).visalib.bench


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::FutureWarning")
def test_pymeasure_keithley2450_biases_the_device_and_the_scope_sees_the_occupancy(library):
    smu = PyMeasure2450(VISAAdapter(SMU, visa_library=library))
    scope = KeysightDSOX1102G(VISAAdapter(SCOPE, visa_library=library))
    assert smu.id.startswith("KEITHLEY INSTRUMENTS,MODEL 2450")
    smu.reset()
    smu.use_front_terminals()
    smu.apply_voltage(compliance_current=50e-6)
    smu.measure_current(nplc=1)
    smu.source_voltage = 0.0
    smu.enable_source()
    scope.ch(1).scale = 0.025
    scope.ch(1).offset = 0.15
    scope.timebase_range = 0.01
    occupancy, currents = [], []
    for bias in BIASES:
        smu.ramp_to_voltage(bias, steps=10, pause=0)
        scope.digitize("channel1")
        volts = np.asarray(scope.download_data("channel1", points=62500)[0], dtype=float)
        occupancy.append(float((volts > (volts.min() + volts.max()) / 2).mean()))
        currents.append(smu.current)
    assert smu.check_errors() == []
    world = world_of(library)
    assert world.bias_on(0) == pytest.approx(BIASES[-1])
    smu.shutdown()
    assert world.bias_on(0) == 0.0 and not world.output("smu:1")[1]
    print(f"PyMeasure Keithley2450: bias {BIASES} V -> current {currents} A, occupancy {occupancy}")
    # The mock device's sigmoid: V50 = 0.30 V, width 25 mV (docs/device-model.md).
    np.testing.assert_allclose(occupancy, expit((np.array(BIASES) - 0.30) / 0.025), atol=0.04)
    assert 0 < currents[0] < currents[1] < currents[2] < 50e-6  # more bias, more high state


def test_qcodes_keithley2450_sweeps_the_bias_and_sees_the_current_follow(library):
    smu = QCoDeS2450("k2450", SMU, visalib=library)
    try:
        assert smu.get_idn()["model"] == "2450"
        smu.reset()
        smu.terminals("front")
        smu.source_function("voltage")
        smu.sense_function("current")
        smu.source.limit(50e-6)
        smu.sense.nplc(1)
        smu.output_enabled(True)
        currents = []
        for bias in BIASES:
            smu.source.voltage(bias)
            currents.append(smu.sense.current())
        assert smu.source.limit_tripped() == 0
        # The 2450's own sweep: its trigger model steps the bias, one reading a point.
        smu.source.sweep_setup(0.2, 0.4, 21)
        swept = smu.sense.sweep()
        axis = smu.source.sweep_axis()
        world = world_of(library)
        assert world.bias_on(0) == pytest.approx(0.4)
        smu.source.voltage(0)
        smu.output_enabled(False)
        assert world.bias_on(0) == 0.0 and not world.output("smu:1")[1]
    finally:
        smu.close()
    print(f"QCoDeS Keithley2450: bias {BIASES} V -> current {currents} A")
    points = ", ".join(f"{v:.2f} V {i:.3e} A" for v, i in zip(axis, swept, strict=True))
    print(f"QCoDeS Keithley2450 sweep: {points}")
    assert 0 < currents[0] < currents[1] < currents[2] < 50e-6
    assert len(swept) == 21 and np.all(np.diff(swept[::5]) > 0)  # the current rises with bias
