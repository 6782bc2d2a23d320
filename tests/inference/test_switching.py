import numpy as np
import pytest
from smtjlab.inference.switching import (
    PrecessionalLaw,
    SwitchingError,
    ThermalLaw,
    switching_law,
)

X = np.linspace(0.0, 1.0, 101)


def test_the_thermal_law_tracks_the_reference_tanh():
    thermal = switching_law("thermal")
    assert np.max(np.abs(thermal.probability(X) - switching_law("tanh").probability(X))) < 0.041
    # τ = τ0·exp[Δ(1 − I/I_c0)] = 1 ns·e^4
    assert thermal.tau_s == pytest.approx(1e-9 * np.exp(4.0))
    assert thermal.full_pulse_s == pytest.approx(4 * thermal.tau_s)


def test_the_precessional_law_has_a_dead_zone_at_short_pulses():
    precessional = switching_law("precessional")
    p = precessional.probability(X)
    assert np.all(np.diff(p) >= 0)
    assert np.all(p[X <= 0.3] < 0.01)
    assert p[-1] == pytest.approx(np.tanh(3.0), abs=1e-3)


def test_pulse_energy_is_current_squared_times_resistance_times_width():
    law = ThermalLaw()
    current = 0.9 * 50e-6
    assert law.pulse_energy_j(0.5) == pytest.approx(current**2 * 6e3 * 0.5 * law.full_pulse_s)


def test_impossible_regimes_and_unknown_laws_are_errors():
    with pytest.raises(SwitchingError):
        ThermalLaw(current_ratio=1.2)
    with pytest.raises(SwitchingError):
        PrecessionalLaw(current_ratio=0.8)
    with pytest.raises(SwitchingError, match="unknown switching law"):
        switching_law("linear")
