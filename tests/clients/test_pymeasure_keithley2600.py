"""PyMeasure's Keithley2600, unchanged, against the mock 2600B through `visa_library="@smtjlab"`.

Both channels of the two-device station (docs/stations/keithley2600.toml): `ChA` biases mtj-a,
read on scope channel 1, `ChB` biases mtj-b, read on scope channel 2.
"""

import shutil
from pathlib import Path

import numpy as np
import pytest
import pyvisa
from pymeasure.adapters import VISAAdapter
from pymeasure.instruments.keithley import Keithley2600
from pymeasure.instruments.keysight import KeysightDSOX1102G
from scipy.special import expit

STATION = Path(__file__).resolve().parents[2] / "docs" / "stations" / "keithley2600.toml"
SMU, SCOPE = "GPIB0::26::INSTR", "USB0::0x2A8D::0x1796::MY00000001::INSTR"


@pytest.fixture
def library(tmp_path):
    """A station file of its own, so this test gets a fresh simulated world."""
    station = tmp_path / "station.toml"
    shutil.copy(STATION, station)
    return f"{station}@smtjlab"


def occupancy(scope, channel):
    scope.digitize(f"channel{channel}")
    volts, _ = scope.download_data(f"channel{channel}", points=62500)
    volts = np.asarray(volts, dtype=float)
    return float((volts > (volts.min() + volts.max()) / 2).mean())


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::FutureWarning")
def test_pymeasure_keithley2600_biases_both_channels_and_sees_each_junction_follow(library):
    smu = Keithley2600(VISAAdapter(SMU, visa_library=library))
    scope = KeysightDSOX1102G(VISAAdapter(SCOPE, visa_library=library))
    world = pyvisa.ResourceManager(library).visalib.bench
    assert smu.id.startswith("Keithley Instruments Inc., Model 2636B")
    for channel in (1, 2):
        scope.ch(channel).scale = 0.025
        scope.ch(channel).offset = 0.15
    scope.timebase_range = 0.01  # 10 ms: ~10⁴ dwells of the 1 µs device in one record
    for channel in (smu.ChA, smu.ChB):
        channel.apply_voltage(compliance_current=50e-6)
        channel.source_voltage = 0.0
        channel.source_output = "ON"
    smu.check_errors()
    seen_a, seen_b, currents = [], [], []
    biases = (0.27, 0.30, 0.33)
    for bias in biases:
        smu.ChA.ramp_to_voltage(bias, steps=10, pause=0)
        smu.ChB.ramp_to_voltage(0.60 - bias, steps=10, pause=0)  # the other way round
        assert (world.bias_on(0), world.bias_on(1)) == pytest.approx((bias, 0.60 - bias))
        seen_a.append(occupancy(scope, 1))
        seen_b.append(occupancy(scope, 2))
        currents.append(smu.ChA.current)
    for channel in (smu.ChA, smu.ChB):
        channel.shutdown()
        assert channel.source_voltage == 0 and channel.source_output == "OFF"
    assert world.output("smu:1") == (0.0, False) and world.output("smu:2") == (0.0, False)
    # The mock device's sigmoid: V50 = 0.30 V, width 25 mV (docs/device-model.md).
    expected = expit((np.array(biases) - 0.30) / 0.025)
    np.testing.assert_allclose(seen_a, expected, atol=0.04)
    np.testing.assert_allclose(seen_b, expected[::-1], atol=0.04)
    assert currents[0] < currents[1] < currents[2]  # more bias, more current
    print(
        f"pymeasure Keithley2600: biases {biases} V, occupancy smua {np.round(seen_a, 3)},"
        f" smub {np.round(seen_b, 3)}, smua current {np.array(currents)} A"
    )
