"""Guards against the PySide6 6.12.0 abort: a leaked reference per Signal.emit() killed the
interpreter after about 570 emits (DESIGN §8). The window emits thousands per minute."""

import PySide6
from PySide6.QtCore import QObject, QThread, Signal, Slot
from smtjlab.gui.messages import PoolStatus

EMITS = 6000


def test_pyside6_is_below_the_broken_release():
    major, minor = (int(part) for part in PySide6.__version__.split(".")[:2])
    assert (major, minor) < (6, 12), f"PySide6 {PySide6.__version__}: pin pyside6-essentials<6.12"


class Emitter(QObject):
    payload = Signal(object)
    count = Signal(int)
    done = Signal()

    @Slot()
    def run(self):
        import numpy as np

        status = PoolStatus(
            [0.5], [0.5], [64], [0.5], np.zeros((1, 8), np.uint8), [0.0], [1.0], [0.0], 64
        )
        for i in range(EMITS):
            self.payload.emit(status)
            self.count.emit(i)
        self.done.emit()


def test_thousands_of_cross_thread_emits(qtbot, in_gui_thread):
    received = {"objects": 0, "ints": 0}
    thread = QThread()
    emitter = Emitter()
    emitter.moveToThread(thread)
    # Through GUI-thread relays, so every emit really crosses threads, as in the window.
    payload = in_gui_thread(emitter.payload, object)
    count = in_gui_thread(emitter.count, int)
    payload.connect(lambda _: received.__setitem__("objects", received["objects"] + 1))
    count.connect(lambda _: received.__setitem__("ints", received["ints"] + 1))
    thread.started.connect(emitter.run)
    try:
        with qtbot.waitSignal(in_gui_thread(emitter.done), timeout=30_000):
            thread.start()
        qtbot.waitUntil(lambda: received["ints"] == EMITS, timeout=30_000)
        assert received["objects"] == EMITS
    finally:
        thread.quit()
        thread.wait()
