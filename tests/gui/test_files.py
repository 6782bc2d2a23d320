"""File menu: calibration, bit pools and model round trips through the window; every write
through the output policy (asked before replacing)."""

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from smtjlab.acquisition.calibration import Calibration
from smtjlab.acquisition.pool import BitBank
from smtjlab.gui.bench_worker import BenchWorker
from smtjlab.gui.inference_worker import InferenceWorker
from smtjlab.gui.window import LabWindow

TIMEOUT = 30_000


@pytest.fixture
def window(qtbot, tiny_model):
    # A loaded file is run as itself; the shipped choices stand for the tiny network.
    resolve = lambda choice: choice.path or str(tiny_model)  # noqa: E731
    window = LabWindow(
        mock=True,
        bench=BenchWorker(ready_bits=1 << 16),
        inference=InferenceWorker(step_interval_ms=0, resolve=resolve),
    )
    qtbot.addWidget(window)
    window.show()
    yield window
    window.ask_before_closing = False  # whatever a test answered last
    window.close()


def connect(qtbot, window):
    view = window.connect_view
    qtbot.waitUntil(lambda: view.table.rowCount() == 2, timeout=TIMEOUT)
    qtbot.mouseClick(view.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.disconnect_button.isEnabled(), timeout=TIMEOUT)


def test_calibration_and_pools_round_trip(qtbot, window, tmp_path, answered_dialogs):
    connect(qtbot, window)
    assert not window.save_calibration_action.isEnabled()  # nothing to save yet
    window.calibrate(5)
    qtbot.waitUntil(window.save_calibration_action.isEnabled, timeout=60_000)
    qtbot.waitUntil(window.save_pools_action.isEnabled, timeout=TIMEOUT)
    window.stop_all()  # the pools stop filling: what is saved is what the bench holds
    qtbot.waitUntil(lambda: not window.busy(), timeout=TIMEOUT)
    held = window.bench._calibration

    saved = tmp_path / "cal.json"
    window.save_calibration(saved)
    qtbot.waitUntil(saved.exists, timeout=TIMEOUT)
    assert Calibration.load(saved).summary() == held.summary()  # the `calibrate -o` file
    assert not list(tmp_path.glob(".*.tmp*"))  # written through a temporary file

    pools = tmp_path / "pools.h5"
    window.save_pools(pools)
    qtbot.waitUntil(pools.exists, timeout=TIMEOUT)
    loaded = BitBank.load(pools)
    bank = window.bench._bank
    assert loaded.levels == bank.levels == [0.25, 0.5, 0.75]
    for theirs, ours in zip(loaded.pools, bank.pools, strict=True):
        assert np.array_equal(theirs.bits(), ours.bits()) and theirs.n_bits > 0

    # An existing file is replaced only when the user says so.
    answered_dialogs.reply = QMessageBox.StandardButton.No
    before = saved.read_bytes()
    saved.write_text("kept")
    window.save_calibration(saved)
    qtbot.wait(300)
    assert saved.read_text() == "kept"
    assert answered_dialogs.shown[-1][0] == "Replace file?"
    answered_dialogs.reply = QMessageBox.StandardButton.Yes
    saved.write_bytes(before)

    # Load calibration: its levels are served again and shown.
    view = window.calibration_view
    view.table.setRowCount(0)
    window.load_calibration(saved)
    qtbot.waitUntil(lambda: view.table.rowCount() == 3, timeout=TIMEOUT)
    assert window.bench._calibration.summary() == held.summary()
    for row, level in enumerate(held.levels):
        assert view.table.item(row, 1).text() == f"{level.bias_v:+.4f} V"
    qtbot.waitUntil(lambda: window.bench._filling, timeout=TIMEOUT)  # its pools refill


def test_a_bad_calibration_or_model_file_is_one_line(qtbot, window, tmp_path):
    connect(qtbot, window)
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    window.load_calibration(broken)
    assert str(broken) in window.status_error.text() and "not JSON" in window.status_error.text()
    model = tmp_path / "model.npz"
    model.write_bytes(b"not a checkpoint")
    window.load_model(model)
    assert str(model) in window.status_error.text()
    folder = tmp_path / "a-folder"
    folder.mkdir()
    window.save_pools(folder)
    assert "is a directory" in window.status_error.text()


def test_load_model_runs_any_checkpoint_file(qtbot, window, tmp_path, tiny_checkpoint):
    from smtjlab.inference.checkpoint import save_checkpoint

    other = tiny_checkpoint(states=3, hidden=7, seed=4)
    path = save_checkpoint(other, tmp_path / "ternary.npz")
    view = window.inference_view
    window.load_model(path)  # File → Load model…
    qtbot.waitUntil(lambda: "ternary.npz" in view.model_label.text(), timeout=TIMEOUT)
    loaded = window.inference._checkpoint
    assert loaded.states == 3 and loaded.hidden == (7,)
    for ours, theirs in zip(loaded.layers, other.layers, strict=True):
        assert np.array_equal(ours.weights, theirs.weights)
    assert view.choice().states == 3  # a calibration is made for the loaded model's levels
    view.length.setCurrentText("200")
    assert view.choice().path == str(path) and view.choice().length == 200
    view.hidden.setCurrentIndex(1)  # a shipped network picked again
    assert view.choice().path == ""


def test_a_calibration_is_loaded_only_onto_a_connected_bench(qtbot, window, tmp_path):
    window.load_calibration(tmp_path / "any.json")
    assert "connect a bench first" in window.status_error.text()
