"""QCoDeS's Keysight B29xx driver, unchanged, against the mock B2902B through `@smtjlab`.

QCoDeS 0.58 ships no B2900-series SMU driver; its only B29xx driver is `KeysightB2962A`, for
the B2960 low-noise power source, which speaks the B2900 family's channel-suffixed SCPI
(`SOURCE2:VOLT`, `SENS2:CURR:PROT`, `OUTP2 1`, `MEAS:CURR? (@2)`). It runs here as a third-party
client of the mock B2900, as it would against the instrument: it bypasses smtjlab's limits.
"""

import shutil
from pathlib import Path

import numpy as np
import pytest
from qcodes.instrument import Instrument
from qcodes.instrument_drivers.Keysight import KeysightB2962A
from scipy.special import expit
from smtjlab.mocks.smtj import DeviceParams

STATION = Path(__file__).resolve().parents[2] / "docs" / "stations" / "keysight-b2900.toml"
SMU = "GPIB0::23::INSTR"


@pytest.fixture
def smu(tmp_path):
    """The B2902B of a station file of its own, so this test gets a fresh simulated world."""
    station = tmp_path / "station.toml"
    shutil.copy(STATION, station)
    instrument = KeysightB2962A("b2900", SMU, visalib=f"{station}@smtjlab")
    yield instrument
    Instrument.close_all()


def expected_conductance(bias_v: np.ndarray) -> np.ndarray:
    """Mean I/V of the junction and its load: the occupancy weighs the two resistances."""
    params = DeviceParams()
    p_high = expit((bias_v - params.v50) / params.width)  # high: the parallel, low-R state
    r_antiparallel = params.r_parallel * (1 + params.tmr)
    return p_high / (params.r_load + params.r_parallel) + (1 - p_high) / (
        params.r_load + r_antiparallel
    )


def test_qcodes_b2962a_sees_each_channels_current_follow_its_junctions_state(smu):
    assert smu.IDN()["model"] == "B2902B"
    biases = np.array([0.27, 0.30, 0.33])
    measured = {}
    for channel in (smu.ch1, smu.ch2):
        channel.source_mode("voltage")
        channel.current_limit(50e-6)
        channel.source_voltage(0.0)
        channel.enable(True)
        conductance = []
        for bias in biases:
            channel.source_voltage(bias)
            conductance.append(np.mean([channel.current() for _ in range(30)]) / bias)
        channel.source_voltage(0.0)
        channel.enable(False)
        assert channel.enable() is False and channel.source_voltage() == 0.0
        measured[channel.short_name] = conductance
        print(channel.short_name, "I/V in S at", biases.tolist(), "V:", np.round(conductance, 9))
    # An ohmic load would keep I/V flat; the junction's occupancy makes it rise ~24 %.
    for conductance in measured.values():
        np.testing.assert_allclose(conductance, expected_conductance(biases), rtol=0.02)
