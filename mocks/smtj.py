"""The s-MTJ model behind every synthetic trace (DESIGN §3).

A two-state Markov process whose high-voltage state has occupancy p(V) = σ((V − V50)/w) and
correlation time τc, read out through a resistive divider with white and 1/f noise, slow
drift, spikes and an optional ADC. Everything is seeded: one seed, one trace.

Defaults (sources and reasoning in docs/device-model.md): a superparamagnetic in-plane MTJ
with τc = 1 µs at V50 = 0.30 V, R_P = 6 kΩ, TMR = 100 %, sampled at 10 MS/s.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np


@dataclass(frozen=True)
class DeviceParams:
    """Physics of one junction; voltages in V, times in s, resistances in Ω."""

    v50: float = 0.30
    width: float = 0.025
    tau_c: float = 1e-6
    # Néel–Arrhenius: the barrier, and so τc, grows e-fold every `tau_growth_v` away from V50.
    tau_growth_v: float = 0.15
    field_shift_v_per_oe: float = 0.002
    r_parallel: float = 6e3
    tmr: float = 1.0
    r_load: float = 6e3


@dataclass(frozen=True)
class ReadoutNoise:
    """Readout imperfections, each relative to the level gap so they scale with bias."""

    snr: float = 10.0  # level gap / white-noise σ
    pink_fraction: float = 0.0  # 1/f noise rms / gap
    drift_fraction: float = 0.0  # peak baseline drift / gap
    drift_period_s: float = 0.2
    spike_rate_hz: float = 0.0
    spike_height: float = 3.0  # spike amplitude / gap


@dataclass(frozen=True)
class WaferSpread:
    """Device-to-device variation of a mock array: the spreads a wafer's junctions are drawn from.

    Sizes follow what s-MTJ arrays report (docs/device-model.md): the operating point V50 and the
    sigmoid width scatter by a few to ten mV, τc over about a decade (it is exponential in the
    barrier), resistances and TMR by several per cent.
    """

    v50_sd_v: float = 0.010
    width_rel_sd: float = 0.10
    tau_c_log_sd: float = 0.5  # of ln τc: a factor e^±0.5 ≈ ×0.6 … ×1.65 at 1σ
    r_parallel_rel_sd: float = 0.05
    tmr_rel_sd: float = 0.08
    snr_rel_sd: float = 0.15

    def draw(
        self, rng: np.random.Generator, params: DeviceParams, noise: ReadoutNoise
    ) -> tuple[DeviceParams, ReadoutNoise]:
        """One junction of the wafer around the nominal `params` and `noise`."""

        def scaled(value: float, rel_sd: float) -> float:
            return value * float(np.clip(1 + rel_sd * rng.standard_normal(), 0.5, 1.5))

        drawn = replace(
            params,
            v50=params.v50 + self.v50_sd_v * float(np.clip(rng.standard_normal(), -3, 3)),
            width=scaled(params.width, self.width_rel_sd),
            tau_c=params.tau_c
            * float(np.exp(self.tau_c_log_sd * np.clip(rng.standard_normal(), -3, 3))),
            r_parallel=scaled(params.r_parallel, self.r_parallel_rel_sd),
            tmr=scaled(params.tmr, self.tmr_rel_sd),
        )
        return drawn, replace(noise, snr=scaled(noise.snr, self.snr_rel_sd))


def sigmoid(x: np.ndarray | float) -> np.ndarray | float:
    return 1.0 / (1.0 + np.exp(-x))


def telegraph_states(
    rng: np.random.Generator,
    n_samples: int,
    tau_high: float,
    tau_low: float,
    start_state: int | None = None,
) -> np.ndarray:
    """A two-state telegraph signal: uint8 0/1 with exponential dwells (means in samples)."""
    if n_samples <= 0:
        return np.zeros(0, dtype=np.uint8)
    if start_state is None:
        start_state = int(rng.random() < tau_high / (tau_high + tau_low))
    mean_pair = tau_high + tau_low
    boundaries: list[np.ndarray] = []
    elapsed = 0.0
    state = start_state
    while elapsed < n_samples:
        # Enough dwell pairs to cover the rest of the trace with margin, drawn in one go.
        pairs = int((n_samples - elapsed) / mean_pair * 1.2) + 8
        first, second = (tau_high, tau_low) if state == 1 else (tau_low, tau_high)
        dwells = np.empty(2 * pairs)
        dwells[0::2] = rng.exponential(first, pairs)
        dwells[1::2] = rng.exponential(second, pairs)
        ends = elapsed + np.cumsum(dwells)
        boundaries.append(ends)
        elapsed = float(ends[-1])
    ends = np.concatenate(boundaries)
    edges = np.minimum(np.ceil(ends).astype(np.int64), n_samples)
    lengths = np.diff(edges, prepend=0)
    pattern = np.empty(len(lengths), dtype=np.uint8)
    pattern[0::2] = start_state
    pattern[1::2] = 1 - start_state
    return np.repeat(pattern, lengths)[:n_samples]


def pink_noise(rng: np.random.Generator, n_samples: int) -> np.ndarray:
    """Unit-rms noise with a 1/f power spectrum."""
    spectrum = rng.standard_normal(n_samples // 2 + 1) + 1j * rng.standard_normal(
        n_samples // 2 + 1
    )
    frequencies = np.arange(len(spectrum), dtype=float)
    frequencies[0] = 1.0
    spectrum /= np.sqrt(frequencies)
    spectrum[0] = 0.0
    noise = np.fft.irfft(spectrum, n_samples)
    return noise / (noise.std() or 1.0)


def readout(
    rng: np.random.Generator,
    states: np.ndarray,
    v_low: float,
    v_high: float,
    noise: ReadoutNoise,
    sample_rate: float,
) -> np.ndarray:
    """Volts seen by the digitizer for a state sequence: levels plus every kind of noise."""
    n = len(states)
    gap = v_high - v_low
    # a lookup of the two levels and an in-place add: the same volts as np.where and a sum,
    # with fewer passes over the record (a pool fill simulates hundreds of 1 M-point records)
    volts = np.array([v_low, v_high])[states]
    volts += rng.normal(0.0, abs(gap) / noise.snr, n)
    if noise.pink_fraction:
        volts += noise.pink_fraction * abs(gap) * pink_noise(rng, n)
    if noise.drift_fraction:
        t = np.arange(n) / sample_rate
        phase = rng.uniform(0, 2 * np.pi)
        volts += (
            noise.drift_fraction * abs(gap) * np.sin(2 * np.pi * t / noise.drift_period_s + phase)
        )
    if noise.spike_rate_hz:
        count = rng.poisson(noise.spike_rate_hz * n / sample_rate)
        where = rng.integers(0, n, count)
        volts[where] += noise.spike_height * abs(gap) * rng.choice([-1.0, 1.0], count)
    return volts.astype(np.float32)


def adc_codes(
    volts: np.ndarray, bits: int, full_scale: tuple[float, float]
) -> tuple[np.ndarray, float, float]:
    """Quantize volts to signed ADC codes; return (codes, volts_per_code, offset_volts)."""
    if bits not in (8, 12, 16):
        raise ValueError("ADC resolution must be 8, 12 or 16 bits")
    low, high = full_scale
    levels = 1 << bits
    volts_per_code = (high - low) / (levels - 1)
    offset_volts = low + (levels // 2) * volts_per_code
    dtype = np.int8 if bits == 8 else np.int16
    codes = np.clip(
        np.round((volts - offset_volts) / volts_per_code), -(levels // 2), levels // 2 - 1
    )
    return codes.astype(dtype), float(volts_per_code), float(offset_volts)


class SmtjDevice:
    """One simulated junction. Successive `sample` calls continue the same telegraph process."""

    def __init__(
        self,
        params: DeviceParams | None = None,
        noise: ReadoutNoise | None = None,
        seed: int = 0,
    ) -> None:
        self.params = params or DeviceParams()
        self.noise = noise or ReadoutNoise()
        self.rng = np.random.default_rng(seed)
        self.field_oe = 0.0
        self._state: int | None = None

    def p_high(self, bias_v: float) -> float:
        p = self.params
        v50 = p.v50 + p.field_shift_v_per_oe * self.field_oe
        return float(sigmoid((bias_v - v50) / p.width))

    def tau_c(self, bias_v: float) -> float:
        p = self.params
        return p.tau_c * float(np.exp(abs(bias_v - p.v50) / p.tau_growth_v))

    def dwell_means(self, bias_v: float) -> tuple[float, float]:
        """Mean dwell times (τ_high, τ_low) in seconds: τc/(1−p) and τc/p."""
        p, tau = self.p_high(bias_v), self.tau_c(bias_v)
        p = min(max(p, 1e-9), 1 - 1e-9)
        return tau / (1 - p), tau / p

    def levels(self, bias_v: float) -> tuple[float, float]:
        """Readout volts (low, high) across the load: high is the parallel (low-R) state."""
        p = self.params
        r_antiparallel = p.r_parallel * (1 + p.tmr)
        v_high = bias_v * p.r_load / (p.r_load + p.r_parallel)
        v_low = bias_v * p.r_load / (p.r_load + r_antiparallel)
        return v_low, v_high

    def sample(
        self, bias_v: float, n_samples: int, sample_rate: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return (volts float32, true states uint8) for `n_samples` at `sample_rate`."""
        tau_high, tau_low = self.dwell_means(bias_v)
        states = telegraph_states(
            self.rng, n_samples, tau_high * sample_rate, tau_low * sample_rate, self._state
        )
        if n_samples:
            self._state = int(states[-1])
        v_low, v_high = self.levels(bias_v)
        return readout(self.rng, states, v_low, v_high, self.noise, sample_rate), states
