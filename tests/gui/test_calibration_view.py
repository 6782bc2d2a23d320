"""The Calibration view: progress, fit quality in amber, and the last good result kept."""

import re

import pytest
from PySide6.QtCore import Qt
from smtjlab.gui.bench_worker import STATION_KEY, BenchWorker
from smtjlab.gui.calibration_view import CalibrationView
from smtjlab.gui.inference_worker import InferenceWorker
from smtjlab.gui.messages import CalibrationPoint, CalibrationProgress, CalibrationResult
from smtjlab.gui.style import ERROR_TEXT, OK_TEXT, WARN_TEXT
from smtjlab.gui.window import LabWindow
from smtjlab.mocks import recorded

from smtjlab.station import Station

TIMEOUT = 60_000
POINTS = 200_000  # scope records of 20 ms keep a calibration to seconds


def result(warnings=(), p_measured=(0.252, 0.499, 0.748), timestamp="2026-12-02T07:31:05+00:00"):
    return CalibrationResult(
        v50=0.30,
        width=0.025,
        points=[CalibrationPoint(0.25 + 0.01 * k, k / 10) for k in range(11)],
        levels=list(zip((0.25, 0.5, 0.75), (0.2725, 0.30, 0.3275), p_measured, strict=True)),
        fit_rms=0.002,
        fit_rms_sigmas=0.9,
        nearest_v=[0.0025, 0.0, 0.06],
        warnings=list(warnings),
        timestamp=timestamp,
    )


@pytest.fixture
def view(qtbot):
    view = CalibrationView()
    qtbot.addWidget(view)
    view.show()
    return view


def test_a_result_is_green_only_without_warnings_and_within_tolerance(view):
    view.begin(0.15, 0.45)
    view.show_result(result())
    assert view.status.styleSheet() == OK_TEXT and "all within tolerance" in view.status.text()
    assert view.warnings.isHidden()
    assert "residual 0.0020 RMS (0.9×" in view.fit_label.text()
    assert view.table.item(0, 4).text() == "2.5 mV"
    view.begin(0.15, 0.45)
    view.show_result(result(["poor fit: the sweep points lie 0.0367 RMS off the sigmoid"]))
    assert view.status.styleSheet() == WARN_TEXT
    assert "all within tolerance" not in view.status.text()
    assert view.warnings.isVisible() and "poor fit" in view.warnings.text()
    view.begin(0.15, 0.45)
    view.show_result(result(["poor fit"], p_measured=(0.27, 0.5, 0.75)))
    assert view.status.styleSheet() == ERROR_TEXT and "outside ±0.01" in view.status.text()


def test_progress_shows_n_of_m_and_the_time_left(view):
    view.begin(0.15, 0.45)
    assert view.progress.isVisible()
    view.show_progress(CalibrationProgress(1, 25, "sweep", float("nan")))
    assert view.progress.text() == "step 1 of 25 (sweep) · time left: after the first point"
    view.show_progress(CalibrationProgress(23, 25, "levels", 4.2))
    assert view.progress.text() == "step 23 of 25 (levels) · at least 5 s left"
    assert view.progress.value() == 23 and view.progress.maximum() == 25
    view.show_result(result())
    assert view.progress.isHidden()


def test_a_stopped_calibration_keeps_the_last_good_result_marked_as_such(view):
    view.show_stopped("Stopped: calibration stopped by the user.")  # nothing to keep yet
    assert view.table.rowCount() == 0
    view.begin(0.15, 0.45)
    view.show_result(result())
    view.begin(0.15, 0.45)  # a new run clears the plot for its own points
    view.add_point(CalibrationPoint(0.15, 0.0))
    assert view.table.rowCount() == 0 and len(view.points.data) == 1
    view.show_stopped("Stopped: calibration stopped by the user.")
    assert view.table.rowCount() == 3 and view.table.item(1, 2).text() == "0.4990"
    assert len(view.points.data) == 11 and len(view.target_lines) == 3
    assert "last good calibration (from 07:31:05 UTC)" in view.status.text()
    assert "still in use" in view.status.text()
    assert view.fit_label.text().startswith("last good calibration (from 07:31:05 UTC)")
    assert view.run_button.isEnabled() and view.progress.isHidden()


@pytest.fixture
def window(qtbot, tiny_model):
    window = LabWindow(
        mock=True,
        bench=BenchWorker(points=POINTS, ready_bits=1 << 16),
        inference=InferenceWorker(step_interval_ms=0, resolve=lambda choice: str(tiny_model)),
    )
    qtbot.addWidget(window)
    window.show()
    yield window
    window.close()


def connected(qtbot, window, replay=None):
    qtbot.waitUntil(lambda: window.connect_view.table.rowCount() == 2, timeout=TIMEOUT)
    if replay is None:
        window.connect_mock()
    else:
        window._replay.emit(str(replay))
    qtbot.waitUntil(lambda: window.connect_view.disconnect_button.isEnabled(), timeout=TIMEOUT)


def test_a_staircase_replay_calibrates_amber_with_its_warning(qtbot, window, tmp_path):
    # Five recorded biases, the three levels' among them: every level lands within tolerance,
    # as the issue saw ("all within tolerance"), on a fit the sweep's staircase does not follow.
    staircase = recorded.generate(
        tmp_path / "staircase.h5", occupancies=(0.1, 0.25, 0.5, 0.75, 0.9), samples=1 << 18
    )
    connected(qtbot, window, replay=staircase)
    cal = window.calibration_view
    window.show_tab("calibration")
    window.calibrate(5)
    qtbot.waitUntil(
        lambda: cal.run_button.isEnabled() and cal.table.rowCount() > 0, timeout=TIMEOUT
    )
    assert cal.status.styleSheet() == WARN_TEXT, cal.status.text()
    assert "within ±0.01, but read the warnings" in cal.status.text()
    assert cal.warnings.isVisible() and "poor fit" in cal.warnings.text()
    sigmas = float(re.search(r"\((\d+\.\d)× the binomial", cal.fit_label.text()).group(1))
    assert sigmas > 3


def test_progress_then_stop_keeps_the_last_good_calibration_and_its_pools(
    qtbot, window, in_gui_thread
):
    connected(qtbot, window)
    cal = window.calibration_view
    window.show_tab("calibration")
    steps = []
    in_gui_thread(window.bench.calibration_progress, object).connect(steps.append)
    window.calibrate(5)
    qtbot.waitUntil(
        lambda: cal.run_button.isEnabled() and cal.table.rowCount() > 0, timeout=TIMEOUT
    )
    assert cal.status.styleSheet() == OK_TEXT and cal.warnings.isHidden()  # the model: no warning
    assert [s.done for s in steps] == list(range(1, 26)) and {s.total for s in steps} == {25}
    assert [s.phase for s in steps] == ["sweep"] * 22 + ["levels"] * 3
    assert all(s.seconds_left > 0 for s in steps[1:])
    assert steps[-1].seconds_left < steps[1].seconds_left
    good = [cal.table.item(row, 1).text() for row in range(3)]
    qtbot.waitUntil(lambda: bool(window.pools_view.rows), timeout=TIMEOUT)  # the pools are filling
    bank = window.bench._bank

    steps.clear()
    window.calibrate(5)
    qtbot.waitUntil(lambda: len(steps) >= 3, timeout=TIMEOUT)
    assert re.fullmatch(r"step \d+ of 25 \(sweep\) · at least \d+ s left", cal.progress.text())
    qtbot.mouseClick(cal.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: cal.run_button.isEnabled(), timeout=TIMEOUT)
    assert "Stopped" in cal.status.text() and "last good calibration (from" in cal.status.text()
    assert [cal.table.item(row, 1).text() for row in range(3)] == good
    # The worker kept that calibration's pools, and refills them again.
    assert window.bench._bank is bank
    qtbot.waitUntil(lambda: "Refilling:" in window.pools_view.refill_state.text(), timeout=TIMEOUT)


def test_an_array_is_calibrated_per_device_and_filled_by_all_devices_at_once(qtbot, tiny_model):
    # Issue 15's leftover: a station with several devices, from the window.
    station = Station.mock(devices=3)
    window = LabWindow(
        station=station,
        bench=BenchWorker(station=station, points=POINTS, ready_bits=1 << 16),
        inference=InferenceWorker(step_interval_ms=0, resolve=lambda choice: str(tiny_model)),
    )
    qtbot.addWidget(window)
    try:
        window.connect_mock(STATION_KEY)
        qtbot.waitUntil(lambda: window.connect_view.disconnect_button.isEnabled(), timeout=TIMEOUT)
        cal = window.calibration_view
        window.show_tab("calibration")
        window.calibrate(5)
        qtbot.waitUntil(
            lambda: cal.run_button.isEnabled() and cal.table.rowCount() > 0, timeout=3 * TIMEOUT
        )
        assert not cal.table.isColumnHidden(5)
        assert [cal.table.item(row, 5).text() for row in range(3)] == ["mtj-1", "mtj-2", "mtj-3"]
        assert len(cal.device_curves) == 3 and "median of the devices'" in cal.fit_label.text()
        assert cal.status.styleSheet() == OK_TEXT, cal.status.text()
        assert cal.progress.maximum() == 3 * 22 + 3  # every device swept, then each its level
        # The pools: one row per level, named by its device, all filling at once.
        pools = window.pools_view
        qtbot.waitUntil(lambda: len(pools.rows) == 3, timeout=TIMEOUT)
        labels = [row["level"].text() for row in pools.rows]
        assert labels == ["0.25 · mtj-1", "0.5 · mtj-2", "0.75 · mtj-3"]
        world = window.bench._bench.readout.resource.visalib.bench
        levels = [cal.table.item(row, 1).text() for row in range(3)]
        qtbot.waitUntil(
            lambda: [f"{world.bias_on(k):+.4f} V" for k in range(3)] == levels, timeout=TIMEOUT
        )
        qtbot.waitUntil(lambda: all(r["fill"].value() > 0 for r in pools.rows), timeout=TIMEOUT)
        qtbot.waitUntil(
            lambda: "s-MTJ bit pools" in window.inference_view.model_label.text(), timeout=TIMEOUT
        )
        window.stop_action.trigger()
        qtbot.waitUntil(lambda: not any(world.output(o)[1] for o in world.wiring), timeout=TIMEOUT)
    finally:
        window.close()
