"""Bias calibration: sweep P(1)(V), fit the sigmoid, solve and refine the bias of every level.

The logic needs one thing from the bench, a way to measure bits at a bias:

    measure(bias_v, n_bits) -> uint8 0/1 array of at least n_bits bits

(`smtjlab.bench.Bench.measure_bits` on instruments, or any fake in tests). Steps:

1. **Sweep.** A coarse sweep over `bias_range`, then a fine one over the fitted transition
   (p ≈ 0.03 … 0.97). Points where the digitizer sees no switching (p near 0 or 1) are skipped.
2. **Fit.** p(V) = 1/(1 + exp(−(V − V50)/w)) by weighted least squares (scipy curve_fit), each
   point weighted by its binomial σ with the effective bit count n·(1−ρ)/(1+ρ) for lag-1
   correlation ρ; the covariance gives the uncertainties of V50 and w.
3. **Levels.** V_k = V50 + w·logit(p_k) for each target p_k, then measured over
   `verify_bits` (≥ 10⁴) bits and moved by Newton steps until |p − p_k| ≤ tolerance/2, on the
   fitted slope at first and then on the slope between the last two tries (secant), which
   still converges when an odd sweep point has skewed the fit; a level is accepted when its
   closest measurement is within `tolerance` (default ±0.01), else `CalibrationError` names it.
4. **Quality.** `Calibration.quality()` judges what the levels rest on: the RMS of the sweep's
   residuals from the fit (occupancy units, and in units of each point's binomial σ) and the
   coverage of the bias grid (biases asked, biases that gave a point, and for each level whether
   its bias lies inside the visited range and how far it is from the nearest visited bias). A
   fit the points do not follow, or a level the sweep never came near, is a warning carried in
   the result (`warnings`, and the `calibrate --json` keys `fit_rms`, `coverage`, `warnings`):
   the levels were still measured within tolerance, but the fit they started from is not the
   device's (a replay of a recording with few biases gives a staircase, for example).

`Calibration.save` stores it all as JSON with an ISO 8601 timestamp; `DriftMonitor` re-measures
the levels, flags the ones that wandered out of tolerance and re-solves their bias.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from scipy.optimize import curve_fit
from scipy.special import expit, logit
from smtjlab.acquisition.bitstream import autocorrelation, effective_bits
from smtjlab.acquisition.digitize import NoSwitching

from smtjlab.errors import SmtjlabError

log = logging.getLogger(__name__)

MeasureBits = Callable[[float, int], np.ndarray]
Progress = Callable[[Iterable, str, int], Iterable]

FORMAT = "smtjlab.calibration"
VERSION = 1
FINE_RANGE = (0.03, 0.97)  # occupancies the fine sweep spans
TOLERANCE = 0.01  # a level is accepted within ±this of its target
SWEEP_POINTS = 11  # biases in each of the coarse and the fine sweep
SWEEP_BITS = 20_000  # bits measured at each sweep bias
VERIFY_BITS = 50_000  # bits measured at each try of a level
# A fit is poor when its residuals, each in units of its point's binomial σ (lag-1 inflated),
# have an RMS above this: for a sigmoid that is the device's, n·RMS² is χ² with n − 2 degrees of
# freedom, and χ² > 9n has a probability below 10⁻⁶ for every n ≥ 3, so only a wrong shape
# (a staircase, a second transition, a digitizer misreading states) gets there.
FIT_SIGMAS = 3.0
# A level is "near" the sweep when a visited bias lies within this many fit widths of it: one
# width changes the odds p/(1 − p) by a factor e, so farther out the fit was not informed there.
NEAR_WIDTHS = 1.0


class CalibrationError(SmtjlabError):
    """A sweep without a transition, a level that cannot be reached, a bad calibration file."""


def versioned_json(
    text: str, where: object, fmt: str, version: int, kind: str, error: type[Exception]
) -> dict:
    """The JSON object of a file of `kind` with this format tag and version, else `error`."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as problem:
        raise error(f"{where}: not JSON ({problem})") from None
    if not isinstance(document, dict) or document.get("format") != fmt:
        raise error(f"{where}: not a {kind} (format != {fmt!r})")
    if document.get("version") != version:
        raise error(f"{where}: unsupported {kind} version")
    return document


def target_levels(n_states: int, tolerance: float = TOLERANCE) -> list[float]:
    """The device levels an N-state network needs: k/(N−1) for 0 < k < N−1.

    Neighbouring levels must lie more than two tolerances apart, or a level accepted at the
    edge of its ±tolerance band could be its neighbour's.
    """
    if n_states < 3:
        raise CalibrationError(f"a network needs at least 3 states, not {n_states}")
    most = math.ceil(1 / (2 * tolerance))  # the largest N with 1/(N−1) > 2·tolerance
    if n_states > most:
        raise CalibrationError(
            f"{n_states} states need levels {1 / (n_states - 1):.3g} apart, closer than twice "
            f"the ±{tolerance:g} calibration tolerance: at most {most} states"
        )
    return [k / (n_states - 1) for k in range(1, n_states - 1)]


@dataclass(frozen=True)
class SigmoidFit:
    v50: float
    width: float
    v50_err: float = math.nan
    width_err: float = math.nan

    def p(self, bias_v: float) -> float:
        return float(expit((bias_v - self.v50) / self.width))

    def bias_for(self, p: float) -> float:
        return float(self.v50 + self.width * logit(p))

    def slope(self, bias_v: float) -> float:
        """dp/dV at a bias."""
        p = self.p(bias_v)
        return p * (1 - p) / self.width


@dataclass(frozen=True)
class SweepPoint:
    bias_v: float
    p_high: float
    n_bits: int
    lag1: float


@dataclass(frozen=True)
class Level:
    p_target: float
    bias_v: float
    p_measured: float
    n_bits: int
    iterations: int


@dataclass(frozen=True)
class LevelCoverage:
    """Where a level's bias lies against the biases the sweep visited."""

    p_target: float
    bias_v: float
    inside: bool  # within [lowest, highest] visited bias
    nearest_v: float  # distance to the nearest visited bias, V
    near: bool  # nearest_v ≤ NEAR_WIDTHS fit widths


@dataclass(frozen=True)
class Coverage:
    """The bias grid the fit rests on: asked for, visited (gave a point), and per level."""

    asked: int  # distinct biases the sweep asked for
    visited: int  # distinct biases that gave a point (the others did not switch)
    low_v: float
    high_v: float
    levels: list[LevelCoverage]

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Quality:
    """How well the fit follows the sweep, how well the sweep covers the levels, and warnings."""

    fit_rms: float  # RMS of p_high − fit(V) over the sweep points, occupancy units
    noise_rms: float  # RMS of the points' binomial σ: what a right fit leaves
    fit_rms_sigmas: float  # RMS of the residuals in units of each point's σ
    coverage: Coverage
    warnings: list[str]

    @property
    def poor_fit(self) -> bool:
        return self.fit_rms_sigmas > FIT_SIGMAS


@dataclass
class Calibration:
    fit: SigmoidFit
    points: list[SweepPoint]
    levels: list[Level]
    timestamp: str = field(default_factory=lambda: _now())
    meta: dict = field(default_factory=dict)
    asked: int = 0  # distinct biases the sweep asked for (0: not recorded, an older file)

    def quality(self) -> Quality:
        """Fit residuals and grid coverage, with a warning for each problem (module docstring)."""
        return judge(self.fit, self.points, self.levels, self.asked)

    def summary(self) -> dict:
        """The DESIGN §5.2 JSON of `smtjlab calibrate`, with the fit's quality added."""
        quality = self.quality()
        return {
            "fit": {"v50": self.fit.v50, "width": self.fit.width},
            "points": [{"bias_v": pt.bias_v, "p_high": pt.p_high} for pt in self.points],
            "levels": [
                {"p_target": lv.p_target, "bias_v": lv.bias_v, "p_measured": lv.p_measured}
                for lv in self.levels
            ],
            "fit_rms": quality.fit_rms,
            "noise_rms": quality.noise_rms,
            "fit_rms_sigmas": quality.fit_rms_sigmas,
            "coverage": quality.coverage.as_dict(),
            "warnings": quality.warnings,
        }

    def level(self, p_target: float) -> Level:
        for level in self.levels:
            if abs(level.p_target - p_target) <= 1e-9:
                return level
        raise CalibrationError(f"no calibrated level for p = {p_target:g}")

    def save(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        document = {
            "format": FORMAT,
            "version": VERSION,
            "timestamp": self.timestamp,
            "fit": asdict(self.fit),
            "points": [asdict(pt) for pt in self.points],
            "levels": [asdict(lv) for lv in self.levels],
            "asked": self.asked,
            "meta": self.meta,
        }
        path.write_text(json.dumps(document, indent=1, allow_nan=True) + "\n")
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> Calibration:
        path = Path(path)
        try:
            text = path.read_text()
        except OSError as error:
            raise CalibrationError(f"{path}: cannot read ({error.strerror})") from None
        document = versioned_json(text, path, FORMAT, VERSION, "calibration file", CalibrationError)
        try:
            calibration = cls(
                fit=SigmoidFit(**document["fit"]),
                points=[SweepPoint(**pt) for pt in document["points"]],
                levels=[Level(**lv) for lv in document["levels"]],
                timestamp=str(document["timestamp"]),
                meta=dict(document.get("meta", {})),
                asked=int(document.get("asked", 0)),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise CalibrationError(f"{path}: malformed calibration ({error})") from None
        if not calibration.points:  # every calibration has a sweep; its quality is judged on it
            raise CalibrationError(f"{path}: malformed calibration (no sweep points)")
        return calibration


def assign_levels(levels: Sequence[float], devices: Sequence[str]) -> dict[str, list[float]]:
    """Which device serves which level: level k goes to device k mod D, in order.

    With at least as many devices as levels each level has a device of its own, biased once
    (the quantized SC-ANN's hardware); with fewer, each device serves ⌈L/D⌉ levels in turn
    (time-multiplexed). Devices left over serve nothing.
    """
    if not devices:
        raise CalibrationError("no devices to assign levels to")
    assignment: dict[str, list[float]] = {name: [] for name in devices}
    for index, p in enumerate(sorted(levels)):
        assignment[devices[index % len(devices)]].append(p)
    return {name: served for name, served in assignment.items() if served}


@dataclass
class ArrayCalibration:
    """One `Calibration` per device, each for the levels the device serves (maybe none).

    It reads like one `Calibration` of the whole array: `levels` are the assigned levels (each
    with its device in `assignment`), `points` every device's sweep, `fit` the median of the
    devices' fits.
    """

    devices: dict[str, Calibration]

    @property
    def assignment(self) -> list[tuple[str, Level]]:
        """(device, level) for every level the network needs, by level."""
        pairs = [(name, level) for name, cal in self.devices.items() for level in cal.levels]
        return sorted(pairs, key=lambda pair: pair[1].p_target)

    @property
    def levels(self) -> list[Level]:
        return [level for _, level in self.assignment]

    @property
    def timestamp(self) -> str:
        """When the last of its devices was calibrated."""
        return max(cal.timestamp for cal in self.devices.values())

    @property
    def meta(self) -> dict:
        return {name: cal.meta for name, cal in self.devices.items()}

    @property
    def points(self) -> list[SweepPoint]:
        return sorted(
            (pt for cal in self.devices.values() for pt in cal.points), key=lambda pt: pt.bias_v
        )

    @property
    def fit(self) -> SigmoidFit:
        fits = [cal.fit for cal in self.devices.values()]
        return SigmoidFit(
            float(np.median([fit.v50 for fit in fits])),
            float(np.median([fit.width for fit in fits])),
        )

    def summary(self) -> dict:
        """`Calibration.summary`'s keys for the array, plus `devices`: each device's own."""
        return {
            "fit": {"v50": self.fit.v50, "width": self.fit.width},
            "points": [
                {"device": name, "bias_v": pt.bias_v, "p_high": pt.p_high}
                for name, cal in self.devices.items()
                for pt in cal.points
            ],
            "levels": [
                {
                    "p_target": lv.p_target,
                    "bias_v": lv.bias_v,
                    "p_measured": lv.p_measured,
                    "device": name,
                }
                for name, lv in self.assignment
            ],
            "devices": [
                {
                    "name": name,
                    **{key: own[key] for key in ("fit", "levels", "fit_rms", "coverage")},
                    "warnings": own["warnings"],
                }
                for name, own in ((name, cal.summary()) for name, cal in self.devices.items())
            ],
            "warnings": self.warnings(),
        }

    def warnings(self) -> list[str]:
        """Every device's warnings, each prefixed with the device's name."""
        return [
            f"{name}: {warning}"
            for name, cal in self.devices.items()
            for warning in cal.quality().warnings
        ]


def calibrate(
    measure: MeasureBits,
    levels: Sequence[float],
    bias_range: tuple[float, float],
    *,
    sweep_points: int = SWEEP_POINTS,
    sweep_bits: int = SWEEP_BITS,
    verify_bits: int = VERIFY_BITS,
    tolerance: float = TOLERANCE,
    max_iterations: int = 8,
    progress: Progress | None = None,
) -> Calibration:
    """Sweep, fit and solve every level (module docstring); raises CalibrationError."""
    low, high = check_sweep_range(bias_range)
    coarse = sweep(measure, coarse_biases(low, high, sweep_points), sweep_bits, progress)
    fit = fit_sigmoid(coarse)
    fine_biases = [
        round(float(np.clip(fit.bias_for(p), low, high)), 6)
        for p in np.linspace(*FINE_RANGE, sweep_points)
    ]
    points = sorted(
        coarse + sweep(measure, fine_biases, sweep_bits, progress), key=lambda pt: pt.bias_v
    )
    fit = fit_sigmoid(points)
    log.info("sigmoid: V50 = %.4f ± %.4f V, w = %.4f ± %.4f V", *_fit_numbers(fit))
    solved = [
        solve_level(measure, fit, p, (low, high), verify_bits, tolerance, max_iterations)
        for p in (progress(levels, "levels", len(levels)) if progress else levels)
    ]
    asked = len({*coarse_biases(low, high, sweep_points), *fine_biases})
    return Calibration(fit=fit, points=points, levels=solved, asked=asked)


def calibration_plan(
    served: Sequence[int],
    sweep_points: int = SWEEP_POINTS,
    sweep_bits: int = SWEEP_BITS,
    verify_bits: int = VERIFY_BITS,
) -> list[int]:
    """The bits each step `calibrate` passes through `progress` measures at least, in order.

    `served` is how many levels each device calibrated in turn solves (`[n]` for one device,
    as `Bench.calibrate_array` goes: every device is swept, a spare too). Each device's steps
    are both sweeps' biases, then one per level (its first try: a level may need more).
    """
    return [
        bits
        for levels in served
        for bits in [sweep_bits] * (2 * sweep_points) + [verify_bits] * levels
    ]


def coarse_biases(low: float, high: float, sweep_points: int = SWEEP_POINTS) -> list[float]:
    """The coarse sweep's biases, rounded to 1 µV: what a person would type and an SMU sets."""
    return [float(bias) for bias in np.round(np.linspace(low, high, sweep_points), 6)]


def judge(
    fit: SigmoidFit, points: Sequence[SweepPoint], levels: Sequence[Level], asked: int = 0
) -> Quality:
    """The fit's residuals and the sweep's coverage of the levels; a warning for each problem."""
    bias = np.array([pt.bias_v for pt in points])
    residual = np.array([pt.p_high - fit.p(pt.bias_v) for pt in points])
    sigma = _binomial_sigma(points)
    fit_rms = float(np.sqrt(np.mean(residual**2)))
    noise_rms = float(np.sqrt(np.mean(sigma**2)))
    sigmas = float(np.sqrt(np.mean((residual / sigma) ** 2)))
    visited = np.unique(bias)
    low, high = float(visited.min()), float(visited.max())
    near_v = NEAR_WIDTHS * abs(fit.width)
    covered = []
    for level in levels:
        nearest = float(np.abs(visited - level.bias_v).min())
        inside = low <= level.bias_v <= high
        covered.append(
            LevelCoverage(level.p_target, level.bias_v, inside, nearest, nearest <= near_v)
        )
    coverage = Coverage(max(asked, len(visited)), len(visited), low, high, covered)
    warnings = []
    if sigmas > FIT_SIGMAS:
        warnings.append(
            f"poor fit: the sweep points lie {fit_rms:.4f} RMS off the sigmoid, "
            f"{sigmas:.1f}× their binomial noise ({noise_rms:.4f}); more than {FIT_SIGMAS:g}× "
            "means the device is not this sigmoid (a replay with few recorded biases gives a "
            "staircase)"
        )
    for level in covered:
        if not level.inside:
            warnings.append(
                f"level p = {level.p_target:g} is served at {level.bias_v:.4f} V, outside the "
                f"biases the sweep visited ({low:.4f} … {high:.4f} V)"
            )
        elif not level.near:
            warnings.append(
                f"level p = {level.p_target:g} is served at {level.bias_v:.4f} V, "
                f"{1e3 * level.nearest_v:.1f} mV from the nearest sweep point (more than "
                f"{NEAR_WIDTHS:g} fit width, {1e3 * near_v:.1f} mV)"
            )
    return Quality(fit_rms, noise_rms, sigmas, coverage, warnings)


def check_sweep_range(bias_range: Sequence[float]) -> tuple[float, float]:
    """The sweep range as (low, high); refused unless both are finite and distinct."""
    low, high = sorted(float(bias) for bias in bias_range)
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise CalibrationError(
            f"sweep range {bias_range[0]:g} … {bias_range[1]:g} V: need two finite, "
            "different biases"
        )
    return low, high


def sweep(
    measure: MeasureBits, biases: Iterable[float], n_bits: int, progress: Progress | None = None
) -> list[SweepPoint]:
    """Measure p_high at each bias; biases where the device does not switch are skipped.

    Anything else (an instrument error, a pulled cable) ends the sweep: it must not read as
    "no transition to fit".
    """
    biases = list(biases)
    points = []
    for bias in progress(biases, "sweep", len(biases)) if progress else biases:
        try:
            bits = np.asarray(measure(float(bias), n_bits), dtype=np.uint8)
        except NoSwitching as error:
            log.info("sweep: skipping %.4f V (%s)", bias, error)
            continue
        points.append(SweepPoint(float(bias), float(bits.mean()), len(bits), _lag1(bits)))
    return points


def fit_sigmoid(points: Sequence[SweepPoint]) -> SigmoidFit:
    """Weighted least-squares sigmoid through sweep points, with 1σ uncertainties."""
    inside = [pt for pt in points if 0.01 < pt.p_high < 0.99]
    if len(inside) < 2 or len(points) < 3:
        where = ", ".join(f"{pt.bias_v:.4f} V: {pt.p_high:.3f}" for pt in points) or "none"
        raise CalibrationError(
            f"the sweep found no transition to fit (points: {where}); widen the bias range"
        )
    bias = np.array([pt.bias_v for pt in points])
    p = np.array([pt.p_high for pt in points])
    sigma = _binomial_sigma(points)
    v50_guess = float(np.interp(0.5, *_monotone(p, bias)))
    width_guess = (bias.max() - bias.min()) / 10 * (1 if np.corrcoef(bias, p)[0, 1] >= 0 else -1)
    try:
        (v50, width), covariance = curve_fit(
            lambda v, v50, width: expit((v - v50) / width),
            bias,
            p,
            p0=(v50_guess, width_guess),
            sigma=sigma,
            absolute_sigma=True,
            maxfev=10_000,
        )
    except (RuntimeError, ValueError) as error:
        raise CalibrationError(f"the sigmoid fit failed ({error})") from None
    errors = np.sqrt(np.diag(covariance))
    return SigmoidFit(float(v50), float(width), float(errors[0]), float(errors[1]))


def solve_level(
    measure: MeasureBits,
    fit: SigmoidFit,
    p_target: float,
    bias_range: tuple[float, float],
    n_bits: int = 50_000,
    tolerance: float = TOLERANCE,
    max_iterations: int = 8,
    start_v: float | None = None,
) -> Level:
    """Find the bias whose measured p is within `tolerance` of `p_target`."""
    low, high = bias_range
    bias = round(
        float(np.clip(fit.bias_for(p_target) if start_v is None else start_v, low, high)), 6
    )
    best = Level(p_target, bias, math.nan, 0, 0)
    previous: tuple[float, float] | None = None
    for iteration in range(1, max_iterations + 1):
        bits = np.asarray(measure(bias, n_bits), dtype=np.uint8)
        p = float(bits.mean())
        if not abs(best.p_measured - p_target) <= abs(p - p_target):
            best = Level(p_target, bias, p, len(bits), iteration)
        if abs(p - p_target) <= tolerance / 2:
            return best
        # Newton step on the fitted sigmoid; its slope at a saturated p would be ~0.
        slope = max(abs(fit.slope(bias)), 0.05 / abs(fit.width)) * math.copysign(1, fit.width)
        if previous is not None and previous[0] != bias and abs(p - previous[1]) >= tolerance:
            # A fit widened by an odd sweep point has too shallow a slope, and its steps
            # overshoot by more each time; the slope between the last two tries is the
            # device's own, once their p differ by more than the bits' noise.
            secant = (p - previous[1]) / (bias - previous[0])
            if secant * slope > 0:
                slope = secant
        previous = (bias, p)
        bias = round(float(np.clip(bias + (p_target - p) / slope, low, high)), 6)
    if abs(best.p_measured - p_target) <= tolerance:
        return best
    raise CalibrationError(
        f"level p = {p_target:g}: closest measured {best.p_measured:.4f} at {best.bias_v:.4f} V "
        f"in {max_iterations} tries, outside ±{tolerance:g}"
    )


@dataclass(frozen=True)
class DriftCheck:
    p_target: float
    bias_v: float
    p_measured: float
    drifted: bool
    new_bias_v: float | None = None
    new_p_measured: float | None = None


class DriftError(CalibrationError):
    """A device's level left its tolerance while it was serving: its bits are not used."""


WATCH_BITS = 20_000  # the window a serving device's level is watched over
WATCH_SIGMAS = 5.0


def drift_of(bits: np.ndarray, p_target: float, tolerance: float = 0.01) -> float | None:
    """The measured P(1) of the newest `WATCH_BITS` bits if it left the level, else None.

    Left means off `p_target` by more than `tolerance` plus `WATCH_SIGMAS` binomial σ of the
    window (inflated by its lag-1 correlation), so noise alone almost never trips it.
    """
    window = np.asarray(bits[-WATCH_BITS:], dtype=np.uint8)
    if len(window) < WATCH_BITS:
        return None
    p = float(window.mean())
    sigma = math.sqrt(p_target * (1 - p_target) / effective_bits(len(window), _lag1(window)))
    return p if abs(p - p_target) > tolerance + WATCH_SIGMAS * sigma else None


class DriftMonitor:
    """Re-measure calibrated levels; re-solve the bias of any that left the tolerance."""

    def __init__(
        self,
        calibration: Calibration,
        measure: MeasureBits,
        bias_range: tuple[float, float],
        *,
        tolerance: float = TOLERANCE,
        n_bits: int = 50_000,
    ) -> None:
        self.calibration = calibration
        self.measure = measure
        self.bias_range = bias_range
        self.tolerance = tolerance
        self.n_bits = n_bits

    def check(self) -> list[DriftCheck]:
        """One pass over every level; updates the calibration (and its timestamp) in place."""
        results = []
        levels = list(self.calibration.levels)
        for index, level in enumerate(levels):
            bits = np.asarray(self.measure(level.bias_v, self.n_bits), dtype=np.uint8)
            p = float(bits.mean())
            if abs(p - level.p_target) <= self.tolerance:
                results.append(DriftCheck(level.p_target, level.bias_v, p, drifted=False))
                continue
            log.warning(
                "level p = %g drifted to %.4f at %.4f V; recalibrating",
                level.p_target,
                p,
                level.bias_v,
            )
            fixed = solve_level(
                self.measure,
                self.calibration.fit,
                level.p_target,
                self.bias_range,
                self.n_bits,
                self.tolerance,
                start_v=level.bias_v,
            )
            levels[index] = fixed
            results.append(
                DriftCheck(level.p_target, level.bias_v, p, True, fixed.bias_v, fixed.p_measured)
            )
        if any(result.drifted for result in results):
            self.calibration.levels = levels
            self.calibration.timestamp = _now()
        return results


def _binomial_sigma(points: Sequence[SweepPoint]) -> np.ndarray:
    """Each point's binomial σ over its effective bits n·(1−ρ)/(1+ρ), p pulled off 0 and 1.

    Pulled off (by half a bit), a saturated point keeps a finite σ: a finite weight in the fit.
    """
    p = np.array([pt.p_high for pt in points])
    n_eff = np.array([effective_bits(pt.n_bits, pt.lag1) for pt in points])
    shrunk = (p * n_eff + 0.5) / (n_eff + 1)
    return np.sqrt(shrunk * (1 - shrunk) / n_eff)


def _lag1(bits: np.ndarray) -> float:
    rho = autocorrelation(bits, 1)
    return 0.0 if math.isnan(rho) else rho


def _monotone(p: np.ndarray, bias: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(p)
    return p[order], bias[order]


def _fit_numbers(fit: SigmoidFit) -> tuple[float, float, float, float]:
    return fit.v50, fit.v50_err, fit.width, fit.width_err


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
