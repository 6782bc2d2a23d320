"""Transition-probability laws f(x) of the DST update, x = |ν|/Δz in [0, 1] (GXNOR.md §2-3).

- `TanhLaw`: GXNOR's reference f(x) = tanh(m·x), m = 3.
- `ThermalLaw`: an MTJ switched by a sub-critical current pulse (I < I_c0) of width t = T·x.
  Thermal activation over the barrier: P_sw(t) = 1 − exp(−t/τ), τ = τ0·exp[Δ(1 − I/I_c0)]
  (Koch, Katine, Sun, PRL 92, 088302, 2004; Li and Zhang, PRB 69, 134416, 2004).
- `PrecessionalLaw`: a super-critical pulse (I > I_c0). The free layer starts at a thermal angle
  θ0 with P(θ0 > θ) = exp(−Δθ²) and its angle grows as θ0·exp[(I/I_c0 − 1)·t/τ_D] (Sun, PRB 62,
  570, 2000); it switches once the angle reaches π/2, so
  P_sw(t) = exp[−Δ(π/2)²·exp(−2(I/I_c0 − 1)·t/τ_D)], with a dead zone at short pulses.

Each MTJ law also gives the energy of its write pulse, I²·R·t, for the update-energy estimate.
The parameters are documented defaults (docs/gxnor.md), not fits to a measured device.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from smtjlab.inference.gxnor_config import SWITCHING_LAWS

from smtjlab.errors import SmtjlabError


class SwitchingError(SmtjlabError):
    """An unknown law or impossible parameters."""


@dataclass(frozen=True)
class TanhLaw:
    m: float = 3.0
    name: str = "tanh"

    def probability(self, x: np.ndarray) -> np.ndarray:
        return np.tanh(self.m * np.asarray(x, dtype=np.float64))

    def describe(self) -> str:
        return f"tanh({self.m:g}·x)"


@dataclass(frozen=True)
class ThermalLaw:
    """Sub-critical write: τ0 = 1 ns, Δ = 40, I = 0.9·I_c0 gives τ ≈ 55 ns; T = 4τ ≈ 218 ns, so
    P_sw(x) = 1 − exp(−4x) stays within 0.041 of tanh(3x) on [0, 1]."""

    tau0_s: float = 1e-9
    delta: float = 40.0
    current_ratio: float = 0.9  # I / I_c0
    pulse_over_tau: float = 4.0  # T / τ: the pulse width at x = 1 in units of τ
    critical_current_a: float = 50e-6  # I_c0, for the pulse energy only
    series_resistance_ohm: float = 6e3  # R_P + R_AP of the synapse's two MTJs in series
    name: str = "thermal"

    def __post_init__(self) -> None:
        if not 0 < self.current_ratio < 1:
            raise SwitchingError("thermal activation needs 0 < I/I_c0 < 1")

    @property
    def tau_s(self) -> float:
        return self.tau0_s * math.exp(self.delta * (1.0 - self.current_ratio))

    @property
    def full_pulse_s(self) -> float:
        """T: the pulse width for x = 1."""
        return self.pulse_over_tau * self.tau_s

    def probability(self, x: np.ndarray) -> np.ndarray:
        return -np.expm1(-self.pulse_over_tau * np.asarray(x, dtype=np.float64))

    def pulse_energy_j(self, x: np.ndarray) -> np.ndarray:
        current = self.current_ratio * self.critical_current_a
        return current**2 * self.series_resistance_ohm * self.full_pulse_s * np.asarray(x)

    def describe(self) -> str:
        return (
            f"1 − exp(−t/τ), τ0 = {self.tau0_s * 1e9:g} ns, Δ = {self.delta:g}, "
            f"I/I_c0 = {self.current_ratio:g} (τ = {self.tau_s * 1e9:.1f} ns), "
            f"T = {self.full_pulse_s * 1e9:.0f} ns"
        )


@dataclass(frozen=True)
class PrecessionalLaw:
    """Super-critical write: Δ = 40, I = 2·I_c0, τ_D = 1 ns; T ≈ 4.95 ns makes P_sw(1) =
    tanh(3) like the reference law, and P_sw < 0.01 below x ≈ 0.3 (the dead zone)."""

    delta: float = 40.0
    current_ratio: float = 2.0  # I / I_c0
    tau_d_s: float = 1e-9  # the precession's characteristic time
    full_pulse_s: float = 4.95e-9  # T: the pulse width for x = 1
    critical_current_a: float = 50e-6
    series_resistance_ohm: float = 6e3
    name: str = "precessional"

    def __post_init__(self) -> None:
        if self.current_ratio <= 1:
            raise SwitchingError("precessional switching needs I/I_c0 > 1")

    def probability(self, x: np.ndarray) -> np.ndarray:
        growth = 2.0 * (self.current_ratio - 1.0) * self.full_pulse_s / self.tau_d_s
        x = np.asarray(x, dtype=np.float64)
        return np.exp(-self.delta * (math.pi / 2) ** 2 * np.exp(-growth * x))

    def pulse_energy_j(self, x: np.ndarray) -> np.ndarray:
        current = self.current_ratio * self.critical_current_a
        return current**2 * self.series_resistance_ohm * self.full_pulse_s * np.asarray(x)

    def describe(self) -> str:
        return (
            f"exp[−Δ(π/2)²·exp(−2(I/I_c0 − 1)t/τ_D)], Δ = {self.delta:g}, "
            f"I/I_c0 = {self.current_ratio:g}, τ_D = {self.tau_d_s * 1e9:g} ns, "
            f"T = {self.full_pulse_s * 1e9:.2f} ns"
        )


SwitchingLaw = TanhLaw | ThermalLaw | PrecessionalLaw


def switching_law(name: str) -> SwitchingLaw:
    """The law of that name with its documented parameters."""
    laws = {"tanh": TanhLaw, "thermal": ThermalLaw, "precessional": PrecessionalLaw}
    if name not in laws:
        raise SwitchingError(f"unknown switching law {name!r}; use {', '.join(SWITCHING_LAWS)}")
    return laws[name]()
