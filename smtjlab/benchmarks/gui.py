"""GUI frame rate on a 1 M-point telegraph trace (DESIGN §6: at least 30 frames/s).

Each frame does what the live view does when the scope delivers a record: hand the new
1 M-point window to the plot (`LiveView.show_frame`), then paint the widget synchronously. The
baseline is the same view with pyqtgraph's downsampling and clip-to-view switched off, measured
in the same run, so the ratio is robust to how busy the machine is.
"""

from __future__ import annotations

import os
import time

import numpy as np

from smtjlab.mocks.smtj import SmtjDevice

POINTS = 1_000_000
SAMPLE_RATE = 10e6
TARGET_FPS = 30.0


def _application():
    # A benchmark must run on a headless machine too; a real display is used when there is one.
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication([])


def _frames(count: int) -> list:
    """`count` successive, overlapping 1 M-point windows of one synthetic telegraph record."""
    from smtjlab.gui.messages import LiveFrame

    step = POINTS // 20
    device = SmtjDevice(seed=1)
    volts, _ = device.sample(0.30, POINTS + step * count, SAMPLE_RATE)
    low, high = device.levels(0.30)
    frames = []
    for k in range(count):
        window = volts[k * step : k * step + POINTS]
        counts, edges = np.histogram(window, bins=120)  # every sample, as the bench thread does
        frames.append(
            LiveFrame(
                volts=window,
                sample_rate=SAMPLE_RATE,
                t0=k * step / SAMPLE_RATE,
                hist_edges=edges,
                hist_counts=counts,
                low_v=low,
                high_v=high,
                threshold_v=(low + high) / 2,
                p_high=0.5,
                tau_c=1e-6,
                bias_v=0.30,
                records=k,
            )
        )
    return frames


def measure_fps(fast: bool, span: str, frames: list, seconds: float = 2.0) -> float:
    """Painted frames/s of the live view fed `frames` over and over for about `seconds`.

    Each loop hands one frame to the view and lets Qt's event loop paint it, as in the running
    window. Paint events of the trace plot are counted, so a frame that Qt coalesced away
    is not counted as shown.
    """
    app = _application()
    from PySide6.QtCore import QEvent, QObject

    from smtjlab.gui.live_view import LiveView

    class PaintCounter(QObject):
        paints = 0

        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint:
                self.paints += 1
            return False

    view = LiveView()
    view.resize(1280, 520)
    plot = view.trace_plot.getPlotItem()
    if fast:
        plot.setDownsampling(auto=True, mode="peak")
    else:
        plot.setDownsampling(ds=1, auto=False)
    plot.setClipToView(fast)
    view.span.setCurrentText(span)
    view.show()
    view.show_frame(frames[0])
    app.processEvents()
    counter = PaintCounter()
    view.trace_plot.viewport().installEventFilter(counter)
    shown = 0
    start = time.perf_counter()
    while True:
        view.show_frame(frames[shown % len(frames)])
        app.processEvents()
        shown += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds and shown >= 3:
            break
    view.trace_plot.viewport().removeEventFilter(counter)
    view.close()
    view.deleteLater()
    app.processEvents()
    return min(shown, counter.paints) / elapsed


def gui_benchmarks() -> list[dict]:
    """Live-view frame rate with a 1 M-point trace, against the same view drawn naively."""
    frames = _frames(8)
    results = []
    for span, what in (
        ("whole frame", "whole 1 M-point frame in view"),
        ("100 µs", "zoomed to 100 µs"),
    ):
        fast = measure_fps(True, span, frames)
        slow = measure_fps(False, span, frames, seconds=3.0)
        results.append(
            {
                "name": f"gui live trace, {what}",
                "value": round(fast, 1),
                "unit": "frames/s",
                "baseline": "same view without downsampling or clip-to-view",
                "baseline_value": round(slow, 2),
                "ratio": round(fast / slow, 1) if slow else None,
                "target": f">= {TARGET_FPS:g} frames/s",
                "meets_target": fast >= TARGET_FPS,
            }
        )
    return results
