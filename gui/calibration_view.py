"""Calibration view: the p_high(V) sweep, the fitted sigmoid, and where each target level landed."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from smtjlab.gui.messages import CalibrationPoint, CalibrationResult
from smtjlab.gui.style import ERROR_TEXT, LEVEL_BRUSH, OK_TEXT, PENS, POINT_BRUSH

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
        self.fit_label = QLabel("")

        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["target p", "bias V_k", "measured p", "|error|"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setMinimumWidth(330)

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
        layout.addLayout(body, 1)

        self.run_button.clicked.connect(
            lambda: self.run_requested.emit(STATES[self.states.currentText()])
        )
        self.stop_button.clicked.connect(self.stop_requested.emit)
        self._sweep: list[CalibrationPoint] = []

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
        self.plot.setXRange(low_v, high_v)
        self.points.setData([], [])
        self.fit_curve.setData([], [])
        self.level_points.setData([], [])
        self.table.setRowCount(0)
        self.fit_label.setText("")
        self.status.setStyleSheet("")
        self.status.setText("Sweeping the bias …")
        self.set_running(True)

    def add_point(self, point: CalibrationPoint) -> None:
        self._sweep.append(point)
        self.points.setData([p.bias_v for p in self._sweep], [p.p_high for p in self._sweep])
        self.status.setText(
            f"Sweep point {len(self._sweep)}: p_high = {point.p_high:.3f} at {point.bias_v:+.3f} V"
        )

    def show_result(self, result: CalibrationResult) -> None:
        if result.points:
            self._sweep = list(result.points)
            self.points.setData(
                [p.bias_v for p in result.points], [p.p_high for p in result.points]
            )
        biases = [p.bias_v for p in self._sweep] + [level[1] for level in result.levels]
        low, high = (min(biases), max(biases)) if biases else (result.v50 - 0.1, result.v50 + 0.1)
        v = np.linspace(low, high, 400)
        self.fit_curve.setData(v, 1.0 / (1.0 + np.exp(-(v - result.v50) / result.width)))
        self.fit_label.setText(
            f"fit: V50 = {result.v50:+.4f} V, width w = {1e3 * result.width:.2f} mV"
        )
        for line in self.target_lines:
            self.plot.removeItem(line)
        self.target_lines = []
        for p_target, _, _ in result.levels:
            line = pg.InfiniteLine(pos=p_target, angle=0, pen=PENS["target"])
            self.plot.addItem(line)
            self.target_lines.append(line)
        self.level_points.setData(
            [level[1] for level in result.levels], [level[2] for level in result.levels]
        )
        self.table.setRowCount(len(result.levels))
        worst = 0.0
        for row, (p_target, bias_v, p_measured) in enumerate(result.levels):
            error = abs(p_measured - p_target)
            worst = max(worst, error)
            cells = (f"{p_target:.3f}", f"{bias_v:+.4f} V", f"{p_measured:.4f}", f"{error:.4f}")
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column == 3 and error > TOLERANCE:
                    item.setForeground(pg.mkColor(176, 0, 32))
                self.table.setItem(row, column, item)
        ok = worst <= TOLERANCE
        self.status.setStyleSheet(OK_TEXT if ok else ERROR_TEXT)
        self.status.setText(
            f"Calibrated {len(result.levels)} levels; worst error {worst:.4f}"
            + (" — all within tolerance." if ok else f" — outside ±{TOLERANCE}.")
        )
        self.set_running(False)

    def show_stopped(self, message: str) -> None:
        self.status.setStyleSheet(ERROR_TEXT)
        self.status.setText(message)
        self.set_running(False)
