"""PyMeasure's own drivers, unchanged, against the mock bench through `visa_library="@smtjlab"`.

A test-only dependency (the `clients` extra): the point is that a third-party driver written
from the programming manuals runs against the mocks as it would against the instruments.
"""

import shutil
from pathlib import Path

import numpy as np
import pytest
from pymeasure.adapters import VISAAdapter
from pymeasure.instruments.keithley import Keithley2400
from pymeasure.instruments.keysight import KeysightDSOX1102G
from scipy.special import expit

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "stations" / "design-example.toml"
SMU, SCOPE = "GPIB0::24::INSTR", "USB0::0x2A8D::0x1796::MY00000001::INSTR"


@pytest.fixture
def library(tmp_path):
    """A station file of its own, so this test gets a fresh simulated world."""
    station = tmp_path / "station.toml"
    shutil.copy(EXAMPLE, station)
    return f"{station}@smtjlab"


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::FutureWarning")
def test_pymeasure_keithley2400_and_dsox1102g_see_the_occupancy_follow_the_bias(library):
    smu = Keithley2400(VISAAdapter(SMU, visa_library=library))
    scope = KeysightDSOX1102G(VISAAdapter(SCOPE, visa_library=library))
    assert smu.id.startswith("KEITHLEY INSTRUMENTS INC.,MODEL 2400")
    smu.source_mode = "voltage"
    smu.compliance_current = 50e-6
    smu.source_voltage = 0.0
    smu.enable_source()
    scope.ch(1).scale = 0.025
    scope.ch(1).offset = 0.15
    scope.timebase_range = 0.01  # 10 ms: ~10⁴ dwells of the 1 µs device in one record
    occupancy, currents = [], []
    biases = (0.27, 0.30, 0.33)
    for bias in biases:
        smu.ramp_to_voltage(bias, steps=10, pause=0)
        scope.digitize("channel1")
        volts, preamble = scope.download_data("channel1", points=62500)
        volts = np.asarray(volts, dtype=float)
        assert len(volts) == 62500 and preamble["points"] == 62500
        threshold = (volts.min() + volts.max()) / 2
        occupancy.append(float((volts > threshold).mean()))
        smu.measure_current()
        currents.append(smu.current)
    smu.shutdown()
    assert smu.source_voltage == 0 and not smu.source_enabled
    # The mock device's sigmoid: V50 = 0.30 V, width 25 mV (docs/device-model.md).
    expected = expit((np.array(biases) - 0.30) / 0.025)
    np.testing.assert_allclose(occupancy, expected, atol=0.04)
    assert currents[0] < currents[1] < currents[2]  # more bias, more current
