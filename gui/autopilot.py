"""Drive the window unattended, as a user would: connect the mock, go live, calibrate, classify.

Used by `smtjlab gui --screenshot` and by the tests. Each step waits for the worker to report
the previous one done (a signal), never for a fixed time.
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from smtjlab.gui.messages import BenchState


class Autopilot(QObject):
    """Connect the mock bench, start the live view, calibrate, then stream test images.

    The stream starts once the bit pools are ready, so every bit the network uses comes
    from the (simulated) devices.
    """

    def __init__(self, window, source: str = "mock-model", stream: bool = True) -> None:
        super().__init__(window)
        self.window = window
        self.source = source
        self.stream = stream
        self._live = False
        self._streaming = False

    def start(self) -> None:
        self.window.bench.state.connect(self._on_state)
        self.window.bench.pools_ready.connect(self._on_pools_ready)
        self.window.connect_mock(self.source)

    def _on_state(self, state: BenchState) -> None:
        if state.connected and not self._live:
            self._live = True
            self.window.show_tab("live")
            self.window.start_live()
            self.window.calibrate()

    def _on_pools_ready(self, bank: object) -> None:
        if self.stream and not self._streaming:
            self._streaming = True
            self.window.show_tab("inference")
            self.window.start_stream()
