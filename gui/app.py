"""Start the lab window; optionally drive it unattended and save screenshots.

Screenshot mode connects the mock bench, starts the live trace, calibrates, and streams test
images through the network, then grabs the window after `run_seconds` and closes it the normal
way (ramp to 0 V, output off), without asking. `size` gives the window a size (a screen's, such
as 1366×768) first. Ctrl-C, SIGTERM and SIGHUP close the window the same way, without asking;
the run then ends as interrupted (`Terminated`, exit code 128 + the signal).
"""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path

from smtjlab.instruments.safety import STOP_SIGNALS, Terminated

from smtjlab.errors import SmtjlabError
from smtjlab.outputs import OutputFile

log = logging.getLogger("smtjlab.gui")

# Each view is shown this long before its picture, so it is drawn live and its one-second
# rate counters cover only time on screen.
SETTLE_MS = 1200


def _application():
    # Screenshots work on a machine without a display; a real display is used when present.
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(["smtjlab"])
    app.setApplicationName("smtjlab")
    app.setOrganizationName("smtjlab")
    return app


def screenshot_paths(path: Path, tab: str) -> dict[str, Path]:
    """Where each tab's picture goes: `path` itself for one tab, PATH-<tab>.png for all."""
    from smtjlab.gui.window import TABS

    if tab == "all":
        return {name: path.with_name(f"{path.stem}-{name}{path.suffix or '.png'}") for name in TABS}
    return {tab: path}


def run(
    mock: bool = True,
    screenshot: Path | None = None,
    run_seconds: float = 10.0,
    tab: str = "inference",
    station=None,
    limits=None,
    force: bool = False,
    size: tuple[int, int] | None = None,
) -> int:
    """Show the window until it is closed, or run `run_seconds` and save screenshot(s)
    (an existing picture is replaced only with `force`); `size` is the window's (width,
    height), which must fit the screen."""
    if screenshot is not None and run_seconds <= 0:
        raise SmtjlabError("--run-seconds must be positive")
    app = _application()
    from PySide6.QtCore import QTimer
    from smtjlab.gui.autopilot import Autopilot
    from smtjlab.gui.bench_worker import STATION_KEY
    from smtjlab.gui.window import TABS, LabWindow

    if tab != "all" and tab not in TABS:
        raise SmtjlabError(f"unknown tab {tab!r}; choose one of {', '.join(TABS)} or all")
    outputs = {}  # checked before the window opens (smtjlab.outputs)
    if screenshot is not None:
        outputs = {
            name: OutputFile(path, force=force, make_folder=True)
            for name, path in screenshot_paths(screenshot, tab).items()
        }
    if size is not None:
        available = app.primaryScreen().availableGeometry()
        if size[0] > available.width() or size[1] > available.height():
            raise SmtjlabError(
                f"--size {size[0]}x{size[1]} is larger than the screen "
                f"({available.width()}x{available.height()}); run under a screen that size, "
                f"e.g. Xvfb :99 -screen 0 {size[0]}x{size[1]}x24"
            )
    window = LabWindow(mock=mock, station=station, limits=limits)
    window.ask_before_closing = screenshot is None
    if size is not None:
        window.resize(*size)
    window.show()
    if size is not None and (window.width(), window.height()) != size:
        need = window.minimumSizeHint()
        log.warning(
            "the window cannot be %dx%d: it needs at least %dx%d",
            *size,
            need.width(),
            need.height(),
        )

    # Ctrl-C, SIGTERM and SIGHUP close the window the safe way, then end the run with the
    # signal's exit code. Qt's loop never returns to Python on its own, so a timer gives the
    # interpreter a moment to run the handler.
    received: list[int] = []

    def close_on_signal(signum: int, frame: object) -> None:
        if not received:
            log.warning("%s received: closing (ramping down first)", signal.Signals(signum).name)
        received.append(signum)
        window.ask_before_closing = False  # a signal closes at once, the safe way
        window.close()

    previous = {signum: signal.signal(signum, close_on_signal) for signum in STOP_SIGNALS}
    wake = QTimer()
    wake.timeout.connect(lambda: None)
    wake.start(200)

    result: dict[str, SmtjlabError | None] = {"error": None}
    if screenshot is not None:
        pilot = Autopilot(window, source=STATION_KEY if station is not None else "mock-model")
        pilot.start()

        pending = list(outputs.items())

        def show_next() -> None:
            window.show_tab(pending[0][0])
            QTimer.singleShot(SETTLE_MS, grab)

        def grab() -> None:
            _, output = pending.pop(0)
            try:
                with output.writing() as temp:
                    if not window.grab().save(str(temp), "PNG"):
                        raise SmtjlabError(f"{output.path}: could not write the screenshot")
            except SmtjlabError as error:
                result["error"] = error
                window.close()
                return
            log.info("saved %s", output.path)
            if pending:
                show_next()
            else:
                window.close()

        QTimer.singleShot(round(run_seconds * 1000), show_next)

    try:
        app.exec()
    finally:
        wake.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if result["error"] is not None:
        raise result["error"]
    if not window.shutdown():
        raise SmtjlabError("the bench did not confirm 0 V and output off on exit")
    if received:
        raise Terminated(received[0], announced=True)
    return 0
