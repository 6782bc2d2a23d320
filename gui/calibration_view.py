"""Calibration view: the p_high(V) sweep, the fitted sigmoid, and where each target level landed.

While a calibration runs, a bar shows its step (N of M: every sweep bias, then one per level)
and the time left. A result whose fit the points do not follow, or with a level far from the
sweep, is amber with its warnings (`smtjlab.acquisition.calibration.judge`), never green. A
stopped or failed calibration keeps the last good result in view, marked as such: the bench
worker keeps its pools in use. On an array (a station with several devices) each device's points
and fit have a colour of their own, and the table names the device serving each level.
"""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from smtjlab.acquisition.calibration import NEAR_WIDTHS
from smtjlab.gui.messages import CalibrationPoint, CalibrationProgress, CalibrationResult
from smtjlab.gui.style import ERROR_TEXT, LEVEL_BRUSH, OK_TEXT, PENS, POINT_BRUSH, WARN_TEXT

STATES = {"5 states — levels ¼, ½, ¾": 5, "11 states — levels 0.1 … 0.9": 11}
TOLERANCE = 0.01  # DESIGN/issue 4: every level within ±0.01 of its target
IDLE = "Connect a bench, then run a calibration."
READY = "Ready: a calibration sweeps the bias, fits the sigmoid and solves each level."


class CalibrationView(QWidget):
    """Run and stop a calibration; watch the sweep and the solved levels."""

    run_requested = Signal(int)  # number of quantization states
    stop_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = pg.PlotWidget()
        self.plot.setLabel("bottom", "bias", units="V")
        self.plot.setLabel("left", "p_high")
        self.plot.setTitle("p_high(V): sweep points and fitted sigmoid")
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.setYRange(-0.02, 1.02, padding=0)
        self.plot.addLegend(offset=(10, 10))
        self.points = pg.ScatterPlotItem(size=8, brush=POINT_BRUSH, pen=None, name="measured sweep")
        self.fit_curve = pg.PlotDataItem(pen=PENS["fit"], name="sigmoid fit")
        self.level_points = pg.ScatterPlotItem(
            size=13, symbol="d", brush=LEVEL_BRUSH, pen=pg.mkPen("k"), name="levels as landed"
        )
        for item in (self.points, self.fit_curve, self.level_points):
            self.plot.addItem(item)
        self.target_lines: list[pg.InfiniteLine] = []
        self.device_curves: list[pg.PlotDataItem] = []  # an array's fits, one per device

        self.states = QComboBox()
        self.states.setToolTip("The network's number of states: it sets the levels to calibrate")
        self.states.addItems(list(STATES))
        self.run_button = QPushButton("Run calibration")
        self.run_button.setToolTip("Sweep the bias, fit p_high(V), solve and verify every level")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop the calibration at its next measurement")
        self.stop_button.setEnabled(False)
        self.status = QLabel(IDLE)
        self.status.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setToolTip(
            "Steps of the calibration: every sweep bias, then one per level; the time left "
            "counts each level's first try at the rate measured so far (a level may need more)"
        )
        self.progress.hide()
        self.warnings = QLabel("")
        self.warnings.setWordWrap(True)
        self.warnings.setStyleSheet(WARN_TEXT)
        self.warnings.hide()
        self.fit_label = QLabel("")
        self.fit_label.setWordWrap(True)
        self.fit_label.setToolTip(
            "residual: RMS of the sweep points' distance from the sigmoid, and that RMS in "
            "units of each point's binomial σ (about 1 for a right fit; over 3 is a warning)"
        )

        self.table = QTableWidget(0, 6)
        self.table.setHorizontalHeaderLabels(
            ["target p", "bias V_k", "measured p", "|error|", "to sweep", "device"]
        )
        self.table.setColumnHidden(5, True)  # shown for an array
        self.table.horizontalHeaderItem(4).setToolTip(
            f"distance from the level's bias to the nearest sweep point (amber beyond "
            f"{NEAR_WIDTHS:g} fit width: the fit was not informed there)"
        )
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        # Columns as wide as their text (a bias in volts must not wrap); the table keeps room
        # for all five.
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setWordWrap(False)
        self.table.setMinimumWidth(400)

        controls = QHBoxLayout()
        controls.addWidget(self.states)
        controls.addWidget(self.run_button)
        controls.addWidget(self.stop_button)
        controls.addStretch(1)

        side = QVBoxLayout()
        side.addWidget(self.fit_label)
        side.addWidget(QLabel(f"Target levels (tolerance ±{TOLERANCE}):"))
        side.addWidget(self.table, 1)

        body = QHBoxLayout()
        body.addWidget(self.plot, 3)
        body.addLayout(side, 1)

        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(self.status)
        layout.addWidget(self.progress)
        layout.addWidget(self.warnings)
        layout.addLayout(body, 1)

        self.run_button.clicked.connect(
            lambda: self.run_requested.emit(STATES[self.states.currentText()])
        )
        self.stop_button.clicked.connect(self.stop_requested.emit)
        self._sweep: list[CalibrationPoint] = []
        self._last_good: CalibrationResult | None = None

    def set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.states.setEnabled(not running)

    def show_connected(self, connected: bool) -> None:
        # Only the idle hint is replaced; a result or a failure stays until the next run.
        if self.run_button.isEnabled() and self.status.text() in (IDLE, READY):
            self.status.setStyleSheet("")
            self.status.setText(READY if connected else IDLE)

    def begin(self, low_v: float, high_v: float) -> None:
        self._sweep = []
        self._clear()
        self.plot.setXRange(low_v, high_v)
        self.status.setStyleSheet("")
        self.status.setText("Sweeping the bias …")
        self.progress.setValue(0)
        self.progress.show()
        self.set_running(True)

    def _clear(self) -> None:
        self.points.setData([], [])
        self.fit_curve.setData([], [])
        self.level_points.setData([], [])
        for item in self.target_lines + self.device_curves:
            self.plot.removeItem(item)
        self.target_lines, self.device_curves = [], []
        self.table.setRowCount(0)
        self.fit_label.setText("")
        self.warnings.setText("")
        self.warnings.hide()

    def show_progress(self, progress: CalibrationProgress) -> None:
        self.progress.setRange(0, progress.total)
        self.progress.setValue(progress.done)
        left = (
            f"at least {math.ceil(progress.seconds_left)} s left"
            if math.isfinite(progress.seconds_left)
            else "time left: after the first point"
        )
        what = "sweep" if progress.phase == "sweep" else "levels"
        self.progress.setFormat(f"step {progress.done} of {progress.total} ({what}) · {left}")

    def add_point(self, point: CalibrationPoint) -> None:
        self._sweep.append(point)
        self._plot_points(self._sweep)
        device = f" ({point.device})" if point.device else ""
        self.status.setText(
            f"Sweep point {len(self._sweep)}{device}: p_high = {point.p_high:.3f} at "
            f"{point.bias_v:+.3f} V"
        )

    def _plot_points(self, points: list[CalibrationPoint]) -> None:
        """The sweep points, in each device's colour on an array."""
        devices = list(dict.fromkeys(p.device for p in points))
        brushes = (
            [pg.mkBrush(_colour(devices.index(p.device), len(devices))) for p in points]
            if len(devices) > 1
            else POINT_BRUSH
        )
        self.points.setData([p.bias_v for p in points], [p.p_high for p in points], brush=brushes)

    def show_result(self, result: CalibrationResult) -> None:
        worst = self._draw(result)
        if worst > TOLERANCE:
            style, verdict = ERROR_TEXT, f" — outside ±{TOLERANCE}."
        elif result.warnings:
            style, verdict = WARN_TEXT, f" — within ±{TOLERANCE}, but read the warnings below."
        else:
            style, verdict = OK_TEXT, " — all within tolerance."
        self.status.setStyleSheet(style)
        self.status.setText(
            f"Calibrated {len(result.levels)} levels; worst error {worst:.4f}" + verdict
        )
        self._last_good = result
        self.progress.hide()
        self.set_running(False)

    def _draw(self, result: CalibrationResult) -> float:
        """Draw a result (points, fit, levels, table, warnings); returns the worst |error|."""
        self._clear()
        self._sweep = list(result.points)
        self._plot_points(self._sweep)
        biases = [p.bias_v for p in self._sweep] + [level[1] for level in result.levels]
        low, high = (min(biases), max(biases)) if biases else (result.v50 - 0.1, result.v50 + 0.1)
        v = np.linspace(low, high, 400)
        legend = self.plot.getPlotItem().legend
        legend.removeItem(self.fit_curve)  # named again below for one device
        if result.fits:  # an array: each device's own sigmoid, in its points' colour
            for index, (name, v50, width) in enumerate(result.fits):
                pen = pg.mkPen(_colour(index, len(result.fits)), width=2)
                curve = self.plot.plot(v, _sigmoid(v, v50, width), pen=pen, name=f"fit {name}")
                self.device_curves.append(curve)
        else:
            self.fit_curve.setData(v, _sigmoid(v, result.v50, result.width))
            legend.addItem(self.fit_curve, "sigmoid fit")
        whose = "worst device's " if result.fits else ""
        residual = (
            f"; {whose}residual {result.fit_rms:.4f} RMS ({result.fit_rms_sigmas:.1f}× the "
            "binomial noise)"
            if math.isfinite(result.fit_rms)
            else ""
        )
        median = "median of the devices' " if result.fits else ""
        self.fit_label.setText(
            f"{median}fit: V50 = {result.v50:+.4f} V, width w = {1e3 * result.width:.2f} mV"
            f"{residual}"
        )
        for p_target, _, _ in result.levels:
            line = pg.InfiniteLine(pos=p_target, angle=0, pen=PENS["target"])
            self.plot.addItem(line)
            self.target_lines.append(line)
        self.level_points.setData(
            [level[1] for level in result.levels], [level[2] for level in result.levels]
        )
        self.table.setRowCount(len(result.levels))
        self.table.setColumnHidden(5, not result.level_devices)
        worst = 0.0
        near_v = NEAR_WIDTHS * abs(result.width)
        for row, (p_target, bias_v, p_measured) in enumerate(result.levels):
            error = abs(p_measured - p_target)
            worst = max(worst, error)
            nearest = result.nearest_v[row] if row < len(result.nearest_v) else math.nan
            cells = (
                f"{p_target:.3f}",
                f"{bias_v:+.4f} V",
                f"{p_measured:.4f}",
                f"{error:.4f}",
                f"{1e3 * nearest:.1f} mV" if math.isfinite(nearest) else "–",
                result.level_devices[row] if result.level_devices else "",
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column == 3 and error > TOLERANCE:
                    item.setForeground(pg.mkColor(176, 0, 32))
                if column == 4 and nearest > near_v:
                    item.setForeground(pg.mkColor(154, 91, 0))
                self.table.setItem(row, column, item)
        if result.warnings:
            self.warnings.setText("\n".join(f"⚠ {warning}" for warning in result.warnings))
            self.warnings.show()
        return worst

    def show_stopped(self, message: str) -> None:
        """A stopped or failed run: its message, and the last good result back in view."""
        self.progress.hide()
        self.status.setStyleSheet(ERROR_TEXT)
        if self._last_good is None:
            self.status.setText(message)
        else:
            self._draw(self._last_good)
            made = _clock(self._last_good.timestamp)
            self.status.setText(
                f"{message} Shown: the last good calibration{made}, whose levels and pools "
                "are still in use."
            )
            self.fit_label.setText(f"last good calibration{made} — {self.fit_label.text()}")
        self.set_running(False)


def _sigmoid(v: np.ndarray, v50: float, width: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(v - v50) / width))


def _colour(index: int, count: int):
    """The colour of device `index` of `count`: hues spread round the wheel."""
    return pg.intColor(index, hues=max(count, 1), values=1, maxValue=200)


def _clock(timestamp: str) -> str:
    """' (from 07:31:05 UTC)' of an ISO 8601 timestamp, or '' without one."""
    try:
        return f" (from {datetime.fromisoformat(timestamp).strftime('%H:%M:%S %Z').strip()})"
    except ValueError:
        return ""
