"""The log panel: every `logging` record of the process, shown in the window.

Records can come from any thread (workers log instrument traffic and errors), so the handler
hands them to the GUI thread through a queued signal instead of touching the widget directly.
"""

from __future__ import annotations

import contextlib
import logging

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QPlainTextEdit, QWidget

LEVEL_COLOURS = {
    logging.DEBUG: "#777777",
    logging.INFO: "#202020",
    logging.WARNING: "#a05a00",
    logging.ERROR: "#b00020",
    logging.CRITICAL: "#b00020",
}


class _Relay(QObject):
    record = Signal(int, str)


class QtLogHandler(logging.Handler):
    """A logging handler that forwards formatted records to the GUI thread."""

    def __init__(self) -> None:
        super().__init__()
        self.relay = _Relay()
        self.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
        )

    def emit(self, record: logging.LogRecord) -> None:
        # At interpreter exit the window, and its relay, may already be gone.
        with contextlib.suppress(RuntimeError):
            self.relay.record.emit(record.levelno, self.format(record))


class LogPanel(QPlainTextEdit):
    """Read-only, bounded text view of log records, coloured by level."""

    MAX_LINES = 2000

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setMaximumBlockCount(self.MAX_LINES)
        font = QFont("monospace")
        font.setStyleHint(QFont.StyleHint.TypeWriter)
        font.setPointSize(9)
        self.setFont(font)
        self.handler = QtLogHandler()
        self.handler.relay.record.connect(self.append_record)

    def append_record(self, level: int, text: str) -> None:
        colour = LEVEL_COLOURS.get(level, "#202020")
        escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        self.appendHtml(f'<span style="color:{colour}">{escaped}</span>')

    def attach(self, logger: logging.Logger | None = None) -> None:
        """Start showing records of `logger` (default: the root logger).

        The project's own INFO records are what a user follows a session by, so the
        `smtjlab` logger passes them on even when nothing else configured logging.
        """
        project = logging.getLogger("smtjlab")
        if project.getEffectiveLevel() > logging.INFO:
            project.setLevel(logging.INFO)
        (logger or logging.getLogger()).addHandler(self.handler)

    def detach(self, logger: logging.Logger | None = None) -> None:
        (logger or logging.getLogger()).removeHandler(self.handler)
