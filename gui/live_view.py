"""Live trace view: scrolling telegraph noise, its histogram with fitted levels, bias control.

The trace plot keeps a whole frame (up to millions of points) and stays fast with pyqtgraph's
peak downsampling plus clip-to-view: only the visible span is decimated to about the number of
screen pixels before it is drawn. The view follows the newest samples over a chosen span.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSignalBlocker, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)
from smtjlab.gui.messages import BenchState, LiveFrame
from smtjlab.gui.style import BIG_NUMBER, ERROR_TEXT, HIST_BRUSH, OK_TEXT, PENS, si

SPANS_S = {
    "20 µs": 20e-6,
    "100 µs": 100e-6,
    "1 ms": 1e-3,
    "10 ms": 10e-3,
    "whole frame": 0.0,
}
MESSAGE_MS = 6000  # how long a bias message (ramped, or refused) stays up


def configure_fast_curve(plot: pg.PlotItem) -> None:
    """The settings that keep a million-point trace interactive (DESIGN §6)."""
    plot.setDownsampling(auto=True, mode="peak")
    plot.setClipToView(True)


class LiveView(QWidget):
    """Telegraph trace, histogram, live statistics and the bias control."""

    start_requested = Signal()
    stop_requested = Signal()
    bias_requested = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.trace_plot = pg.PlotWidget()
        self.trace_plot.setLabel("bottom", "time before newest sample", units="s")
        self.trace_plot.setLabel("left", "readout", units="V")
        configure_fast_curve(self.trace_plot.getPlotItem())
        self.trace_curve = self.trace_plot.plot(pen=PENS["trace"])
        self.trace_plot.setTitle("Telegraph noise (scope): connect, then Start live")

        self.hist_plot = pg.PlotWidget()
        self.hist_plot.setLabel("bottom", "samples per bin")
        self.hist_plot.setTitle("Histogram")
        self.hist_plot.setYLink(self.trace_plot)
        self.hist_plot.getAxis("left").setStyle(showValues=False)
        # Horizontal bars beside the trace, sharing its volts axis.
        # A zero-height placeholder one sample wide, so the empty axis reads 0 to 1.
        self.hist_bars = pg.BarGraphItem(x0=[0], y=[0], height=[0], width=[1], brush=HIST_BRUSH)
        self.hist_bars.setOpts(pen=None)
        self.hist_plot.addItem(self.hist_bars)
        self.level_lines = {
            name: pg.InfiniteLine(angle=0, pen=PENS[name], label=name, labelOpts=_LABEL_OPTS)
            for name in ("low", "high", "threshold")
        }
        for line in self.level_lines.values():
            line.setVisible(False)  # until a record has been digitized
            self.hist_plot.addItem(line)

        plots = QSplitter()
        plots.addWidget(self.trace_plot)
        plots.addWidget(self.hist_plot)
        plots.setStretchFactor(0, 4)
        plots.setStretchFactor(1, 1)

        self.span = QComboBox()
        self.span.setToolTip("How much of the newest trace the plot shows")
        self.span.addItems(list(SPANS_S))
        self.span.setCurrentText("100 µs")
        self.follow = QCheckBox("follow newest")
        self.follow.setToolTip("Keep the plot on the newest samples (off: pan and zoom freely)")
        self.follow.setChecked(True)

        self.p_high_label = QLabel("–")
        self.tau_label = QLabel("–")
        self.bias_label = QLabel("–")
        self.levels_label = QLabel("–")
        self.threshold_label = QLabel("–")
        self.rate_label = QLabel("–")
        self.points_label = QLabel("–")
        for label in (self.p_high_label, self.tau_label, self.bias_label):
            label.setStyleSheet(BIG_NUMBER)
        self.bias_label.setToolTip(
            "The SMU as the driver reports it: its level while the output is on, else 0 V. "
            "STOP ramps to 0 V and reads the output state back before this says off."
        )
        stats = QGroupBox("Live statistics")
        grid = QGridLayout(stats)
        for row, (name, label) in enumerate(
            (
                ("p_high", self.p_high_label),
                ("τc", self.tau_label),
                ("SMU", self.bias_label),
                ("levels", self.levels_label),
                ("threshold", self.threshold_label),
                ("drawn", self.rate_label),
                ("points", self.points_label),
            )
        ):
            grid.addWidget(QLabel(name), row, 0)
            grid.addWidget(label, row, 1)

        self.bias_box = QDoubleSpinBox()
        self.bias_box.setToolTip(
            "The bias to ramp to; the safety limits refuse what is outside them"
        )
        self.bias_box.setDecimals(3)
        self.bias_box.setSingleStep(0.005)
        # Wide on purpose: the safety limits live in the driver, which refuses and explains.
        self.bias_box.setRange(-10.0, 10.0)
        self.bias_box.setSuffix(" V")
        self.bias_box.setValue(0.30)
        self.bias_button = QPushButton("Ramp to bias")
        self.bias_button.setToolTip("Ramp the SMU to this bias in the limits' steps")
        self.bias_message = QLabel("")
        self.bias_message.setWordWrap(True)
        bias = QGroupBox("Bias (ramped, within the safety limits)")
        bias_layout = QVBoxLayout(bias)
        row = QHBoxLayout()
        row.addWidget(self.bias_box, 1)
        row.addWidget(self.bias_button)
        bias_layout.addLayout(row)
        bias_layout.addWidget(self.bias_message)

        self.start_button = QPushButton("Start live")
        self.start_button.setToolTip("Take, digitize and draw scope records one after another")
        self.stop_button = QPushButton("Stop live")
        self.stop_button.setToolTip("Stop taking records (the bias stays where it is)")
        self.stop_button.setEnabled(False)

        side = QVBoxLayout()
        side.addWidget(stats)
        side.addWidget(bias)
        side.addStretch(1)

        controls = QHBoxLayout()
        controls.addWidget(self.start_button)
        controls.addWidget(self.stop_button)
        controls.addSpacing(20)
        controls.addWidget(QLabel("span:"))
        controls.addWidget(self.span)
        controls.addWidget(self.follow)
        controls.addStretch(1)

        left = QVBoxLayout()
        left.addLayout(controls)
        left.addWidget(plots, 1)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 1)
        side_widget = QWidget()
        side_widget.setLayout(side)
        side_widget.setFixedWidth(270)
        layout.addWidget(side_widget)

        self.start_button.clicked.connect(self.start_requested.emit)
        self.stop_button.clicked.connect(self.stop_requested.emit)
        self.bias_button.clicked.connect(lambda: self.bias_requested.emit(self.bias_box.value()))
        # A new entry replaces the last request's message, and no message outstays its news.
        self.bias_box.valueChanged.connect(self._clear_bias_message)
        self._message_clock = QTimer(self)
        self._message_clock.setSingleShot(True)
        self._message_clock.timeout.connect(self._clear_bias_message)
        self.frames_shown = 0
        self._time_axis: np.ndarray | None = None
        self._rate = 0.0
        self._hist_total = -1
        self._newest_s = math.nan  # end of the last record drawn, s into the run
        self._smu_v = 0.0  # the SMU's level as last reported

    def set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        if not running and math.isfinite(self._newest_s):
            self.trace_plot.setTitle(
                f"Live stopped: the last record drawn, ending {self._newest_s:.3f} s into the run"
            )

    def show_state(self, state: BenchState) -> None:
        """The SMU's level and output as the bench reports them (the big SMU readout)."""
        if not state.connected:
            self._smu_v = 0.0
            self.bias_label.setText("–")
            return
        self._smu_v = state.bias_v
        self.bias_label.setText(f"{state.bias_v:+.3f} V {'ON' if state.output_on else 'off'}")

    def show_frame(self, frame: LiveFrame) -> None:
        n = len(frame.volts)
        if self._time_axis is None or len(self._time_axis) != n or self._rate != frame.sample_rate:
            # Roll mode: the newest sample sits at t = 0, so the axis array is the same every
            # frame and the view range only moves when the user changes the span.
            self._time_axis = (np.arange(n, dtype=np.float64) - (n - 1)) / frame.sample_rate
            self._rate = frame.sample_rate
        t = self._time_axis
        if self.follow.isChecked() and n:
            span = SPANS_S[self.span.currentText()] or -t[0]
            if math.isfinite(frame.high_v - frame.low_v):
                gap = max(frame.high_v - frame.low_v, 1e-6)
                low, high = frame.low_v - 0.75 * gap, frame.high_v + 0.75 * gap
            else:
                low, high = float(frame.volts.min()), float(frame.volts.max())
                low, high = (low, high) if high > low else (low - 1e-3, high + 1e-3)
            self.trace_plot.setRange(xRange=(max(t[0], -span), 0.0), yRange=(low, high), padding=0)
            # pyqtgraph applies a range change at paint time, where the curve would decimate
            # again and ask for a second paint; applying it now saves both.
            self.trace_plot.getViewBox().updateMatrix()
        self.trace_curve.setData(t, frame.volts)
        newest = frame.t0 + n / frame.sample_rate
        self._newest_s = newest
        if math.isfinite(frame.p_high):
            self.trace_plot.setTitle(
                f"Telegraph noise at {frame.bias_v:+.3f} V; t = 0 is the newest sample, "
                f"{newest:.3f} s into the run"
            )
        else:
            self.trace_plot.setTitle(
                f"No switching at {frame.bias_v:+.3f} V: ramp into the transition, or calibrate"
            )
        edges = frame.hist_edges
        total = int(frame.hist_counts.sum())
        if total != self._hist_total:
            self._hist_total = total
            # Short: the histogram is narrow. The tooltip has the exact count.
            self.hist_plot.setTitle(f"All {si(total, '')} samples")
            self.hist_plot.setToolTip(f"Histogram of every sample of the record: {total:,}")
        self.hist_bars.setOpts(
            x0=np.zeros(len(frame.hist_counts)),
            y=(edges[1:] + edges[:-1]) / 2,
            height=np.diff(edges),
            width=frame.hist_counts,
        )
        switching = math.isfinite(frame.p_high)
        for name, value in (
            ("low", frame.low_v),
            ("high", frame.high_v),
            ("threshold", frame.threshold_v),
        ):
            self.level_lines[name].setVisible(math.isfinite(value))
            if math.isfinite(value):
                self.level_lines[name].setValue(value)
        self.p_high_label.setText(f"{frame.p_high:.3f}" if switching else "–")
        self.tau_label.setText(si(frame.tau_c, "s") if math.isfinite(frame.tau_c) else "–")
        self.levels_label.setText(
            f"{si(frame.low_v, 'V')} / {si(frame.high_v, 'V')}"
            if switching
            else "no switching in this record"
        )
        self.threshold_label.setText(si(frame.threshold_v, "V"))
        self.frames_shown += 1

    def points_shown(self) -> int:
        return 0 if self._time_axis is None else len(self._time_axis)

    def show_display_rate(self, drawn: int, records: int, points: int) -> None:
        """Frames drawn and records acquired in the last second, and points per frame."""
        self.rate_label.setText(f"{drawn} of {records} records/s" if records else "–")
        self.points_label.setText(f"{points:,} per frame" if points else "–")

    def show_bias_result(self, ok: bool, message: str) -> None:
        """A ramp done, or a request refused: then the box goes back to the SMU's level."""
        if not ok:
            with QSignalBlocker(self.bias_box):  # the revert is no new entry
                self.bias_box.setValue(self._smu_v)
        self.bias_message.setStyleSheet(OK_TEXT if ok else ERROR_TEXT)
        self.bias_message.setText(message)
        self._message_clock.start(MESSAGE_MS)

    def _clear_bias_message(self) -> None:
        self.bias_message.setText("")


_LABEL_OPTS = {"position": 0.85, "color": (40, 40, 40), "fill": (255, 255, 255, 200)}
