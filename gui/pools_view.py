"""Bit pools view: a fill gauge per probability level, a raster of recent bits, randomness."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from smtjlab.acquisition.bitstream import DEFAULT_SPACING
from smtjlab.acquisition.randomness import ALPHA as MONOBIT_ALPHA
from smtjlab.gui.messages import PoolStatus

# Colours of the indicators only; the software decides nothing from them. Bits taken Δt apart
# have ρ₁ = exp(−Δt/τc) (DESIGN §3): e⁻² ≈ 0.14 at the default Δt = 2τc. A pool's ρ₁ is red
# when it exceeds that by more than 3σ of its estimate (σ ≈ 1/√n). The monobit test counts the
# bits' effective number n(1−ρ₁)/(1+ρ₁) for the ρ₁ measured on the same window, so on-target
# bits fail it (p < ALPHA, NIST SP 800-22's level) at the rate ALPHA; it is red only after
# MONOBIT_RUN disjoint windows in a row failed (ALPHA² = 10⁻⁴ per window for a healthy pool:
# no flicker), and uncoloured after one.
EXPECTED_LAG1 = math.exp(-DEFAULT_SPACING)
INFLATION = (1 + EXPECTED_LAG1) / (1 - EXPECTED_LAG1)  # of the variance of a mean of bits
MONOBIT_RUN = 2
HEADERS = ("level p", "fill", "bits", "measured p", "lag-1", "monobit p", "overlap")


class PoolsView(QWidget):
    """One row per level, and an image of the most recent bits of every pool."""

    refill_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.refill_state = QLabel("Pools are filled after a calibration, from the live records.")
        self.refill_button = QPushButton("Resume refilling")
        self.refill_button.setToolTip("Visit the calibrated biases again and refill every pool")
        self.refill_button.setEnabled(False)
        self.refill_button.clicked.connect(self.refill_requested.emit)
        self.table_box = QGroupBox("Bit pools, one per probability level")
        self.grid = QGridLayout(self.table_box)
        self.rows: list[dict[str, QWidget]] = []
        self._devices: list[str] = []  # an array's device serving each row's level
        self.empty_label = QLabel("No pools yet: connect a bench and run a calibration.")
        self.grid.addWidget(self.empty_label, 0, 0)

        self.raster = pg.PlotWidget()
        self.raster.setTitle("Most recent bits of each pool (white = 1)")
        self.raster.setLabel("bottom", "bit index (newest right)")
        self.raster.setLabel("left", "level p")
        self.raster.setMouseEnabled(x=False, y=False)
        self.raster.hideButtons()
        self.raster_image = pg.ImageItem(axisOrder="row-major")
        # 0 black, 1 white, 2 grey: a pool that has no bits there yet.
        self.raster_image.setLookupTable(
            np.array([[20, 20, 20], [250, 250, 250], [200, 200, 200]], dtype=np.uint8)
        )
        self.raster.addItem(self.raster_image)
        self.raster.getViewBox().invertY(True)

        self.legend = QLabel()
        self.legend.setWordWrap(True)
        self.legend.setStyleSheet("color: #555;")
        self._explain(0)

        top = QHBoxLayout()
        top.addWidget(self.refill_state, 1)
        top.addWidget(self.refill_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table_box)
        layout.addWidget(self.legend)
        layout.addWidget(self.raster, 1)

    def _build_rows(self, levels: list[float], devices: list[str]) -> None:
        """One row per level; on an array each names the device serving it."""
        self._devices = list(devices)
        labels = (
            [f"{level:.3g} · {name}" for level, name in zip(levels, devices, strict=True)]
            if devices
            else [f"{level:.3g}" for level in levels]
        )
        while self.grid.count():
            widget = self.grid.takeAt(0).widget()
            if widget is not None and widget is not self.empty_label:
                widget.deleteLater()
        self.empty_label.hide()
        for column, text in enumerate(HEADERS):
            header = QLabel(f"<b>{text}</b>")
            self.grid.addWidget(header, 0, column)
        self.rows = []
        for row, label in enumerate(labels, start=1):
            gauge = QProgressBar()
            gauge.setRange(0, 1000)
            gauge.setTextVisible(True)
            gauge.setMaximumHeight(self.fontMetrics().height() + 6)  # 9 rows fit a 768 px screen
            cells = {
                "level": QLabel(label),
                "fill": gauge,
                "bits": QLabel(),
                "measured": QLabel(),
                "lag1": QLabel(),
                "monobit": QLabel(),
                "overlap": QLabel(),
            }
            for column, widget in enumerate(cells.values()):
                if isinstance(widget, QLabel):
                    widget.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.grid.addWidget(widget, row, column)
            self.rows.append(cells)
        self.grid.setColumnStretch(1, 1)
        self.grid.setVerticalSpacing(2)
        # A raster row per level at least as tall as its label, so the labels never pile up.
        self.raster.setMinimumHeight(80 + (self.fontMetrics().height() + 2) * len(levels))
        # The raster's axis names the level only: the rows above name its device.
        ticks = [(i + 0.5, f"{level:.3g}") for i, level in enumerate(levels)]
        self.raster.getAxis("left").setTicks([ticks])

    def _explain(self, window_bits: int) -> None:
        newest = f"the newest {window_bits:,} bits" if window_bits else "the newest bits"
        self.legend.setText(
            f"Indicators over {newest} of each pool. lag-1 autocorrelation ρ₁: bits taken "
            f"Δt = {DEFAULT_SPACING:g}τc apart should show e^−{DEFAULT_SPACING:g} = "
            f"{EXPECTED_LAG1:.3f}; red when more than 3σ above it. monobit: p-value of the "
            f"frequency test against the level's target, counting the bits as the "
            f"n(1−ρ₁)/(1+ρ₁) independent ones they are worth (the expected lag-1 of "
            f"{EXPECTED_LAG1:.3f} inflates the variance by {INFLATION:.2f}×), on "
            f"windows that share no bit; red once {MONOBIT_RUN} windows in a row fall below "
            f"{MONOBIT_ALPHA} (a healthy pool: 1 in 10⁴), green while passing. overlap: share "
            "of the segments the network drew since the last update that overlapped another "
            "stream of the same image."
        )

    def show_filling(self, filling: bool) -> None:
        self.refill_button.setEnabled(not filling)
        self.refill_state.setText(
            "Refilling: the live loop visits each calibrated bias in turn."
            if filling
            else "Refilling paused (bias set by hand, or stopped)."
        )

    def show_status(self, status: PoolStatus) -> None:
        if len(self.rows) != len(status.levels) or self._devices != status.devices:
            self._build_rows(status.levels, status.devices)
            self._explain(status.window_bits)
        for i, cells in enumerate(self.rows):
            cells["fill"].setValue(round(1000 * status.fill[i]))
            cells["fill"].setFormat(f"{100 * status.fill[i]:.0f} %")
            cells["bits"].setText(f"{status.fill_bits[i]:,}")
            cells["measured"].setText(_number(status.measured[i], "{:.4f}"))
            lag1 = status.lag1[i]
            cells["lag1"].setText(_number(lag1, "{:+.3f}"))
            limit = EXPECTED_LAG1 + 3 / math.sqrt(max(status.window_bits, 1))
            cells["lag1"].setStyleSheet(
                "color: #0a6b2a;" if abs(lag1) <= limit else "color: #b00020;"
            )
            p = status.monobit_p[i]
            failures = status.monobit_failures[i] if status.monobit_failures else 0
            cells["monobit"].setText(_number(p, "{:.3f}"))
            cells["monobit"].setStyleSheet(_monobit_colour(p, failures))
            cells["monobit"].setToolTip(
                f"{failures} window(s) of {status.window_bits:,} bits in a row below "
                f"{MONOBIT_ALPHA}; red from {MONOBIT_RUN}"
                if failures
                else f"passing: p ≥ {MONOBIT_ALPHA} with lag-1 correlation accounted for"
            )
        for cells, overlap in zip(self.rows, status.overlap, strict=True):
            cells["overlap"].setText(_number(100 * overlap, "{:.1f} %"))
        self.raster_image.setImage(status.raster.astype(np.uint8), autoLevels=False, levels=(0, 2))


def _monobit_colour(p_value: float, failures: int) -> str:
    """Red after MONOBIT_RUN failed windows in a row, uncoloured after fewer, green passing."""
    if failures >= MONOBIT_RUN:
        return "color: #b00020;"
    return "color: #0a6b2a;" if p_value >= MONOBIT_ALPHA else ""


def _number(value: float, pattern: str) -> str:
    return "–" if value != value else pattern.format(value)  # NaN: no bits yet
