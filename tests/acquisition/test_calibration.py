import json

import numpy as np
import pytest
from scipy.special import expit
from smtjlab.acquisition.calibration import (
    FIT_SIGMAS,
    Calibration,
    CalibrationError,
    DriftMonitor,
    Level,
    SigmoidFit,
    SweepPoint,
    calibrate,
    calibration_plan,
    check_sweep_range,
    judge,
    solve_level,
    sweep,
    target_levels,
)
from smtjlab.acquisition.digitize import NoSwitching
from smtjlab.instruments.scpi import InstrumentError

RANGE = (0.15, 0.45)


class FakeDevice:
    """Independent bits with P(1) = σ((V − V50)/w); no switching far out on the sigmoid."""

    def __init__(self, v50=0.30, width=0.025, seed=0):
        self.v50, self.width = v50, width
        self.rng = np.random.default_rng(seed)
        self.calls = []

    def p(self, bias):
        return float(expit((bias - self.v50) / self.width))

    def measure(self, bias, n_bits):
        self.calls.append((bias, n_bits))
        p = self.p(bias)
        if not 1e-4 < p < 1 - 1e-4:
            raise NoSwitching(f"no switching at {bias:.3f} V")
        return (self.rng.random(n_bits) < p).astype(np.uint8)


def test_an_instrument_error_ends_the_sweep_instead_of_being_skipped():
    def pulled_cable(bias, n_bits):
        raise InstrumentError("connection lost while sending ':READ?'")

    with pytest.raises(InstrumentError, match="connection lost"):
        sweep(pulled_cable, [0.2, 0.3], 1000)


def test_target_levels():
    assert target_levels(5) == [0.25, 0.5, 0.75]
    assert target_levels(11) == pytest.approx([k / 10 for k in range(1, 10)])
    with pytest.raises(CalibrationError):
        target_levels(2)


@pytest.mark.parametrize("states", [5, 11])
def test_every_level_is_reached_within_tolerance(states):
    device = FakeDevice(seed=states)
    result = calibrate(device.measure, target_levels(states), RANGE)
    assert abs(result.fit.v50 - 0.30) < max(5 * result.fit.v50_err, 1e-3)
    assert abs(result.fit.width - 0.025) < max(5 * result.fit.width_err, 1e-3)
    for level in result.levels:
        assert abs(level.p_measured - level.p_target) <= 0.01
        assert abs(device.p(level.bias_v) - level.p_target) <= 0.015
        assert level.n_bits >= 10_000
    assert all(n >= 10_000 for _, n in device.calls[-len(result.levels) :])


def test_summary_is_exactly_the_cli_json():
    result = calibrate(FakeDevice().measure, [0.5], RANGE, sweep_points=7)
    summary = result.summary()
    quality = {"fit_rms", "noise_rms", "fit_rms_sigmas", "coverage", "warnings"}
    assert set(summary) == {"fit", "points", "levels"} | quality  # DESIGN §5.2, plus quality
    assert set(summary["fit"]) == {"v50", "width"}
    assert all(set(pt) == {"bias_v", "p_high"} for pt in summary["points"])
    assert [set(lv) for lv in summary["levels"]] == [{"p_target", "bias_v", "p_measured"}]
    json.dumps(summary)


def test_points_without_switching_are_skipped():
    device = FakeDevice()
    result = calibrate(device.measure, [0.5], (0.0, 0.5), sweep_points=11)
    measured = {pt.bias_v for pt in result.points}
    assert 0.0 not in measured and 0.05 not in measured  # p = 6e-6 and 5e-5: no switching
    assert any(bias == 0.0 for bias, _ in device.calls)


def test_a_sweep_without_a_transition_is_refused():
    with pytest.raises(CalibrationError, match="no transition"):
        calibrate(FakeDevice(v50=0.9).measure, [0.5], (0.0, 0.5), sweep_points=5)


def test_an_unreachable_level_is_named():
    device = FakeDevice()

    def coarse(bias, n_bits):  # a bench that only offers biases on a 20 mV grid
        return device.measure(round(bias / 0.02) * 0.02, n_bits)

    with pytest.raises(CalibrationError, match=r"level p = 0\.1: closest measured"):
        calibrate(coarse, [0.1], RANGE)


def test_save_and_load_round_trip(tmp_path):
    result = calibrate(FakeDevice().measure, [0.25, 0.75], RANGE, sweep_points=7)
    result.meta["source"] = "fake"
    loaded = Calibration.load(result.save(tmp_path / "cal.json"))
    assert loaded == result and loaded.asked == result.asked > 0
    assert loaded.quality() == result.quality()
    assert loaded.timestamp.endswith("+00:00")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "not JSON"),
        ('{"format": "x"}', "not a calibration"),
        ('{"format": "smtjlab.calibration", "version": 1}', "malformed"),
        (
            '{"format": "smtjlab.calibration", "version": 1, "fit": {"v50": 0.3, "width": 0.02},'
            ' "points": [], "levels": [], "timestamp": "t", "asked": "many"}',
            r"malformed calibration \(invalid literal",
        ),
        (
            '{"format": "smtjlab.calibration", "version": 1, "fit": {"v50": 0.3, "width": 0.02},'
            ' "points": [], "levels": [], "timestamp": "t"}',
            r"malformed calibration \(no sweep points\)",
        ),
    ],
)
def test_bad_calibration_files(tmp_path, content, message):
    path = tmp_path / "cal.json"
    path.write_text(content)
    with pytest.raises(CalibrationError, match=message):
        Calibration.load(path)


def test_drift_monitor_flags_and_recalibrates_a_shifted_device():
    device = FakeDevice(seed=3)
    result = calibrate(device.measure, target_levels(5), RANGE, sweep_points=7)
    stamp = result.timestamp
    monitor = DriftMonitor(result, device.measure, RANGE)
    assert not any(check.drifted for check in monitor.check())
    device.v50 += 0.004  # an in-plane field shifts V50 by 4 mV: p moves by up to 0.04
    result.timestamp = "2000-01-01T00:00:00+00:00"
    checks = monitor.check()
    assert any(check.drifted for check in checks)
    for check, level in zip(checks, result.levels, strict=True):
        assert abs(level.p_measured - level.p_target) <= 0.01
        assert abs(device.p(level.bias_v) - level.p_target) <= 0.015
        if check.drifted:
            assert check.new_bias_v == level.bias_v > check.bias_v
    assert result.timestamp != "2000-01-01T00:00:00+00:00" and stamp


def test_a_level_converges_from_a_fit_too_wide():
    # A sweep point off the sigmoid can widen the fit; Newton steps on its slope, 2.4× too
    # shallow, overshoot further every time. The measured slope between tries does not.
    device = FakeDevice(seed=4)
    too_wide = SigmoidFit(v50=0.30, width=0.06)
    level = solve_level(device.measure, too_wide, 0.25, RANGE, tolerance=0.01)
    assert abs(level.p_measured - 0.25) <= 0.005  # converged, not merely the closest try


def test_more_levels_than_the_tolerance_can_tell_apart_are_refused_saying_the_limit():
    assert len(target_levels(50)) == 48  # levels 1/49 apart: more than 2 x 0.01
    with pytest.raises(CalibrationError, match=r"1001 states .* at most 50 states"):
        target_levels(1001)
    with pytest.raises(CalibrationError, match="at most 50 states"):
        target_levels(51)


@pytest.mark.parametrize("bias_range", [(0.3, 0.3), (0.1, float("nan")), (float("inf"), 0.2)])
def test_a_sweep_range_without_width_or_finite_ends_is_refused(bias_range):
    with pytest.raises(CalibrationError, match="need two finite, different biases"):
        check_sweep_range(bias_range)


class Staircase(FakeDevice):
    """A replay of a recording with few biases: each bias serves the nearest recorded one."""

    def __init__(self, recorded, **options):
        super().__init__(**options)
        self.recorded = np.array(recorded)

    def p(self, bias):
        return super().p(float(self.recorded[np.abs(self.recorded - bias).argmin()]))


def test_a_good_sweep_fits_within_its_binomial_noise_and_covers_every_level():
    result = calibrate(FakeDevice(seed=3).measure, target_levels(11), RANGE)
    quality = result.quality()
    assert quality.warnings == []
    assert quality.fit_rms_sigmas < 2  # ~1 for a right fit: the residuals are the bits' noise
    assert quality.fit_rms == pytest.approx(quality.noise_rms, rel=1)
    coverage = quality.coverage
    assert coverage.visited == coverage.asked == 22 and len(coverage.levels) == 9
    assert all(level.inside and level.near for level in coverage.levels)


def test_a_staircase_sweep_is_a_poor_fit_though_its_levels_are_within_tolerance():
    # The recorded biases include the three levels', so each level is found, as on a replay.
    device = Staircase([0.30 + 0.025 * np.log(p / (1 - p)) for p in (0.1, 0.25, 0.5, 0.75, 0.9)])
    result = calibrate(device.measure, [0.25, 0.5, 0.75], RANGE)
    assert all(abs(lv.p_measured - lv.p_target) <= 0.01 for lv in result.levels)
    quality = result.quality()
    assert quality.poor_fit and quality.fit_rms_sigmas > 3 * FIT_SIGMAS
    assert [w for w in quality.warnings if w.startswith("poor fit")]
    assert result.summary()["warnings"] == quality.warnings


def _points(biases, fit):
    return [SweepPoint(v, fit.p(v), 20_000, 0.0) for v in biases]


def test_a_level_outside_the_visited_biases_or_far_from_them_is_a_warning():
    fit = SigmoidFit(0.30, 0.025)
    points = _points([0.25, 0.26, 0.27, 0.31, 0.32], fit)  # nothing from 0.27 to 0.31 V
    levels = [
        Level(0.25, fit.bias_for(0.25), 0.25, 50_000, 1),  # 0.2725 V: 2.5 mV from 0.27
        Level(0.5, 0.29, 0.5, 50_000, 1),  # 20 mV from both neighbours: within one width
        Level(0.75, 0.3275, 0.75, 50_000, 1),  # beyond the highest visited bias
    ]
    quality = judge(fit, points, levels, asked=7)
    assert quality.fit_rms == pytest.approx(0, abs=1e-12) and not quality.poor_fit
    coverage = quality.coverage
    assert (coverage.asked, coverage.visited) == (7, 5)
    assert [(lv.inside, lv.near) for lv in coverage.levels] == [
        (True, True),
        (True, True),
        (False, True),
    ]
    assert coverage.levels[1].nearest_v == pytest.approx(0.02)
    (warning,) = quality.warnings
    assert "p = 0.75" in warning and "outside the biases the sweep visited" in warning
    far = judge(fit, _points([0.20, 0.24, 0.36, 0.40], fit), levels[1:2])
    assert not far.coverage.levels[0].near
    assert "50.0 mV from the nearest sweep point" in far.warnings[0]


def test_the_plan_has_one_step_per_progress_step_of_calibrate():
    steps = []

    def progress(items, phase, total):
        for item in items:
            steps.append(phase)
            yield item

    calibrate(FakeDevice().measure, [0.25, 0.5, 0.75], RANGE, sweep_points=7, progress=progress)
    plan = calibration_plan([3], sweep_points=7, sweep_bits=20_000, verify_bits=50_000)
    assert len(plan) == len(steps) == 2 * 7 + 3
    assert plan == [20_000] * 14 + [50_000] * 3 and steps == ["sweep"] * 14 + ["levels"] * 3
    # An array: every device is swept in turn, a spare too, then solves what it serves.
    assert calibration_plan([1, 0], sweep_points=2) == [20_000] * 4 + [50_000] + [20_000] * 4
