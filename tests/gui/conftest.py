import os
from pathlib import Path

import numpy as np
import pytest

# Before pytest-qt creates the QApplication: GUI tests never need a display.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items):
    """Fail a GUI test on any Qt warning, such as "Timers cannot be stopped from another
    thread": it is how a Qt object touched from the wrong thread shows, long before it crashes.
    The offscreen platform's one harmless warning is ignored."""
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.qt_log_level_fail("WARNING"))
            item.add_marker(pytest.mark.qt_log_ignore("does not support propagateSizeHints"))


@pytest.fixture(autouse=True)
def private_settings(qapp, tmp_path_factory):
    """QSettings in a fresh temporary folder for every test: the user's own are never read
    or written. Returns a QSettings of that scope."""
    from PySide6.QtCore import QSettings

    folder = tmp_path_factory.mktemp("settings")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    for scope in (QSettings.Scope.UserScope, QSettings.Scope.SystemScope):
        QSettings.setPath(QSettings.Format.IniFormat, scope, str(folder))
    return QSettings()


@pytest.fixture(autouse=True)
def answered_dialogs(monkeypatch):
    """Modal message boxes answered without a person: `question` returns `answers.reply`
    (Yes unless a test sets it), and every box shown is recorded in `answers.shown`
    (title, text) instead of blocking the test."""
    from types import SimpleNamespace

    from PySide6.QtWidgets import QMessageBox

    answers = SimpleNamespace(reply=QMessageBox.StandardButton.Yes, shown=[])

    def question(parent, title, text, *args, **kwargs):
        answers.shown.append((title, text))
        return answers.reply

    def execute(box):
        answers.shown.append((box.windowTitle(), box.text()))
        return QMessageBox.StandardButton.Ok

    monkeypatch.setattr(QMessageBox, "question", question)
    monkeypatch.setattr(QMessageBox, "exec", execute)
    return answers


@pytest.fixture
def in_gui_thread(qapp):
    """`in_gui_thread(worker.state, object)`: a worker's signal, re-emitted in the GUI thread.

    A worker's signal connected to a plain callable (a lambda, `list.append`, or what
    `qtbot.waitSignal` connects) runs it in the worker's thread: there is no QObject to queue
    to. `waitSignal` then stops and frees its GUI-thread QTimer from the worker thread, the
    timer stays registered, and the GUI thread later fires it on freed memory (a segfault in
    QTimerInfoList::activateTimers, tests later). The relay lives in the GUI thread, so the
    connection to it is queued and everything connected to the returned signal runs there.
    """
    from PySide6.QtCore import QObject, Signal

    relays = []

    def relay(signal, *types):
        relay = type("GuiThreadRelay", (QObject,), {"fired": Signal(*types)})()
        signal.connect(relay.fired)
        relays.append(relay)
        return relay.fired

    return relay


def _tiny_checkpoint(encoding="sign-magnitude", states=5, hidden=12, seed=0):
    """A random 784-hidden-10 network: synthetic weights, for plumbing tests only."""
    from smtjlab.inference.checkpoint import Checkpoint, Layer

    rng = np.random.default_rng(seed)
    h = (states - 1) // 2
    layers = tuple(
        Layer(
            rng.integers(-h, h + 1, size=shape).astype(np.int8),
            np.full(shape[0], 4.0),
            rng.normal(0, 0.1, shape[0]),
        )
        for shape in [(hidden, 784), (10, hidden)]
    )
    return Checkpoint(states=states, encoding=encoding, layers=layers, test_accuracy=0.1)


@pytest.fixture
def tiny_checkpoint():
    """Factory of small synthetic checkpoints (encoding, states, hidden, seed)."""
    return _tiny_checkpoint


@pytest.fixture
def tiny_model(tmp_path):
    """Path of a saved tiny 5-state sign-magnitude checkpoint."""
    from smtjlab.inference.checkpoint import save_checkpoint

    return save_checkpoint(_tiny_checkpoint(), tmp_path / "tiny.npz")
