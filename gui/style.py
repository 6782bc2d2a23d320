"""One look for the whole window: light plots that stay readable in screenshots and print."""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

PENS = {
    "trace": pg.mkPen(30, 80, 170, width=1),
    "low": pg.mkPen(0, 130, 60, width=2),
    "high": pg.mkPen(0, 130, 60, width=2),
    "threshold": pg.mkPen(200, 30, 30, width=2, style=pg.QtCore.Qt.PenStyle.DashLine),
    "fit": pg.mkPen(200, 30, 30, width=2),
    "target": pg.mkPen(120, 120, 120, width=1, style=pg.QtCore.Qt.PenStyle.DotLine),
}
HIST_BRUSH = pg.mkBrush(60, 110, 200, 150)
POINT_BRUSH = pg.mkBrush(30, 80, 170)
LEVEL_BRUSH = pg.mkBrush(230, 140, 0)
BAR_BRUSH = pg.mkBrush(60, 110, 200)
WINNER_BRUSH = pg.mkBrush(0, 150, 70)
WRONG_BRUSH = pg.mkBrush(200, 40, 40)
LEADER_BRUSH = pg.mkBrush(230, 140, 0)
DECIDED_BRUSH = pg.mkBrush(90, 90, 90)  # a decision with no label to judge it by

BIG_NUMBER = "font-size: 16pt; font-weight: 600;"
OK_TEXT = "color: #0a6b2a;"
NEUTRAL_TEXT = "color: #404040;"
WARN_TEXT = "color: #9a5b00; font-weight: 600;"  # amber: it worked, but read the warning
ERROR_TEXT = "color: #b00020; font-weight: 600;"
STOP_BUTTON = (
    "QPushButton, QToolButton { background: #c62828; color: white; font-weight: 700;"
    " padding: 4px 14px; border-radius: 3px; }"
)


def apply_style(app: QApplication) -> None:
    """Fusion with a light palette, and white pyqtgraph plots with dark axes."""
    app.setStyle("Fusion")
    palette = app.style().standardPalette()
    palette.setColor(QPalette.ColorRole.Highlight, QColor(40, 100, 190))
    app.setPalette(palette)
    pg.setConfigOptions(background="w", foreground=(40, 40, 40), antialias=False)


PREFIXES = (
    (9, "G"),
    (6, "M"),
    (3, "k"),
    (0, ""),
    (-3, "m"),
    (-6, "µ"),
    (-9, "n"),
    (-12, "p"),
    (-15, "f"),
)


def si(value: float, unit: str) -> str:
    """A number with an SI prefix and three significant digits: 1.23 µs, 999 ns, 1 µs."""
    if not math.isfinite(value):
        return "–"
    for exponent, prefix in PREFIXES:
        # Round first, so 0.99996 µs reads "1 µs", not "1e+03 ns".
        scaled = float(f"{value / 10.0**exponent:.3g}")
        if abs(scaled) >= 1:
            return f"{scaled:g} {prefix}{unit}"
    return f"{value:.3g} {unit}"
