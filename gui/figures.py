"""Save figure (PNG or SVG) on every plot: one action in each pyqtgraph plot's context menu.

    add_save_figure(view, "live", report=window.show_error)   # every plot inside `view`
    save_figure(plot_widget, OutputFile("trace.svg"))           # what the action does

PNG is pyqtgraph's own image export of the plot (axes, title, legend and data); SVG is Qt's
SVG generator painting the plot as drawn (pyqtgraph 0.14's SVG exporter fails on the paths Qt
6.11 writes: pyqtgraph issue #3485). Both are written through the output policy (a temporary
file, renamed; no silent overwrite).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import pyqtgraph as pg
import pyqtgraph.exporters as exporters
from PySide6.QtCore import QRect
from PySide6.QtGui import QAction, QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QWidget
from smtjlab.gui.files import ask_output

from smtjlab.errors import SmtjlabError
from smtjlab.outputs import OutputError, OutputFile

log = logging.getLogger("smtjlab.gui")

FIGURE_FILTERS = "PNG image (*.png);;SVG drawing (*.svg)"
SAVE_FIGURE = "Save figure (PNG/SVG)…"


def save_figure(plot: pg.PlotWidget, output: OutputFile) -> None:
    """Write the plot as PNG or SVG (by the output's suffix)."""
    suffix = output.path.suffix.lower()
    if suffix not in (".png", ".svg"):
        raise OutputError(f"{output.path}: a figure is saved as .png or .svg, not {suffix!r}")
    with output.writing() as temp:
        if suffix == ".svg":
            _paint_svg(plot, str(temp))
        else:
            exporters.ImageExporter(plot.getPlotItem()).export(str(temp))
        if temp.stat().st_size == 0:
            raise OutputError(f"{output.path}: the figure could not be written")
    log.info("figure saved to %s", output.path)


def _paint_svg(plot: pg.PlotWidget, path: str) -> None:
    generator = QSvgGenerator()
    generator.setFileName(path)
    generator.setSize(plot.size())
    generator.setViewBox(QRect(0, 0, plot.width(), plot.height()))
    generator.setTitle(plot.getPlotItem().titleLabel.text or "smtjlab plot")
    painter = QPainter(generator)
    try:
        plot.render(painter)
    finally:
        painter.end()


def add_save_figure(view: QWidget, name: str, report: Callable[[str], None]) -> list[QAction]:
    """Add "Save figure…" to the context menu of every plot in `view` (`name` prefixes the
    suggested file name; `report` shows an error)."""
    actions = []
    for index, plot in enumerate(view.findChildren(pg.PlotWidget)):
        menu = plot.getPlotItem().getViewBox().menu
        action = QAction(SAVE_FIGURE, menu)
        action.setToolTip("Save this plot as a PNG picture or an SVG drawing")
        suggested = f"{name}-{index + 1}.png" if index else f"{name}.png"
        action.triggered.connect(
            lambda _=False, plot=plot, suggested=suggested: _ask_and_save(plot, suggested, report)
        )
        menu.addSeparator()
        menu.addAction(action)
        actions.append(action)
    return actions


def _ask_and_save(plot: pg.PlotWidget, suggested: str, report: Callable[[str], None]) -> None:
    try:
        output = ask_output(plot, "Save figure", suggested, FIGURE_FILTERS)
        if output is not None:
            save_figure(plot, output)
    except SmtjlabError as error:
        report(f"save figure: {error}")
