"""The Connect view: resources typed per role, Test (*IDN?), limits from a file, QSettings."""

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from smtjlab.gui.bench_worker import STATION_KEY, BenchWorker
from smtjlab.gui.connect_view import TYPED_KEY
from smtjlab.gui.inference_worker import InferenceWorker
from smtjlab.gui.window import LabWindow
from smtjlab.instruments.safety import load_limits
from smtjlab.mocks.visa_library import KEITHLEY_RESOURCE, SCOPE_RESOURCE

TIMEOUT = 30_000
STATION = Path(__file__).resolve().parents[2] / "docs" / "stations" / "design-example.toml"


def open_window(qtbot, model, bench=None, mock=True):
    window = LabWindow(
        mock=mock,
        bench=bench or BenchWorker(ready_bits=1 << 17),
        inference=InferenceWorker(step_interval_ms=0, resolve=lambda choice: str(model)),
    )
    qtbot.addWidget(window)
    window.show()
    return window


def choose_typed(qtbot, view, library="@smtjlab"):
    """Pick the typed-resources bench on the mock VISA library, as a user would."""
    view.library.setEditText(library)
    view.source.setCurrentIndex(list(view.sources.values()).index(TYPED_KEY))
    qtbot.waitUntil(lambda: view.table.rowCount() == 2, timeout=TIMEOUT)  # discovered


def test_a_station_typed_by_hand_is_tested_and_connects(qtbot, tiny_model):
    window = open_window(qtbot, tiny_model)
    view = window.connect_view
    choose_typed(qtbot, view)
    view.smu_choice.setEditText(KEITHLEY_RESOURCE)
    view.scope_choice.setEditText(SCOPE_RESOURCE)

    qtbot.mouseClick(view.smu_test, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "driver" in view.smu_result.text(), timeout=TIMEOUT)
    assert "KEITHLEY INSTRUMENTS" in view.smu_result.text()
    assert "driver keithley2400" in view.smu_result.text()
    qtbot.mouseClick(view.scope_test, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "driver" in view.scope_result.text(), timeout=TIMEOUT)
    assert "driver infiniivision" in view.scope_result.text()

    qtbot.mouseClick(view.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.disconnect_button.isEnabled(), timeout=TIMEOUT)
    bench = window.bench._bench
    assert [spec.resource for spec in bench.station.instruments] == [
        KEITHLEY_RESOURCE,
        SCOPE_RESOURCE,
    ]
    assert bench.station.visa_library == "@smtjlab"
    assert "Connected" in view.state_label.text()
    assert not view.smu_choice.isEnabled()  # nothing about the bench changes while it is open
    window.close()


def test_test_says_what_is_wrong_and_the_wrong_role_is_refused(qtbot, tiny_model):
    window = open_window(qtbot, tiny_model)
    view = window.connect_view
    choose_typed(qtbot, view)
    view.smu_choice.setEditText(SCOPE_RESOURCE)  # a scope in the SMU's box
    qtbot.mouseClick(view.smu_test, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "not a source" in view.smu_result.text(), timeout=TIMEOUT)
    assert "b00020" in view.smu_result.styleSheet()  # red

    for typed, said in (("nonsense", "malformed"), ("TCPIP0::10.9.9.9::INSTR", "cannot open")):
        view.scope_choice.setEditText(typed)
        qtbot.mouseClick(view.scope_test, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda said=said: said in view.scope_result.text(), timeout=TIMEOUT)

    view.scope_choice.setEditText(SCOPE_RESOURCE)
    qtbot.mouseClick(view.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "connect failed" in window.status_error.text(), timeout=TIMEOUT)
    assert "cannot be a source" in window.status_error.text()
    assert window.bench._bench is None
    window.close()


def test_the_serial_digitizer_is_not_offered_and_the_view_says_why(qtbot, tiny_model):
    window = open_window(qtbot, tiny_model)
    note = window.connect_view.digitizer_note.text()
    assert "Serial digitizer: not offered" in note and "scope" in note
    window.close()


def test_limits_from_a_file_are_shown_and_bind_the_bench(qtbot, tiny_model, tmp_path):
    limits_file = tmp_path / "narrow.toml"
    limits_file.write_text("[bias]\nmax_abs_v = 0.35\n")
    bench = BenchWorker(ready_bits=1 << 17, limits=load_limits(limits_file))  # gui --limits
    window = open_window(qtbot, tiny_model, bench)
    view = window.connect_view

    def shown(name):
        form = view.limits_form
        for row in range(form.rowCount()):
            label = form.itemAt(row, form.ItemRole.LabelRole).widget().text()
            if label == f"{name}:":
                text = form.itemAt(row, form.ItemRole.FieldRole).widget().text()
                return text.replace("\u200b", "")  # the view's wrap points
        return ""

    qtbot.waitUntil(lambda: shown("|V| max") == "0.35 V", timeout=TIMEOUT)
    assert str(limits_file) in shown("set in")

    wider = tmp_path / "wider.toml"
    wider.write_text("[bias]\nmax_abs_v = 0.4\n")
    window.load_limits(wider)  # File → Load limits…
    qtbot.waitUntil(lambda: shown("|V| max") == "0.4 V", timeout=TIMEOUT)
    qtbot.mouseClick(view.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.disconnect_button.isEnabled(), timeout=TIMEOUT)
    assert window.bench._bench.limits.max_abs_v == 0.4
    window.set_bias(0.42)
    live = window.live_view
    qtbot.waitUntil(lambda: "refused" in live.bias_message.text(), timeout=TIMEOUT)
    window.calibrate(5)  # the sweep stays inside the narrower limits
    cal = window.calibration_view
    qtbot.waitUntil(lambda: cal.table.rowCount() == 3, timeout=60_000)
    assert max(point.bias_v for point in window.bench._calibration.points) <= 0.4
    window.load_limits(limits_file)  # refused while connected
    assert "disconnect first" in window.status_error.text()

    broken = tmp_path / "broken.toml"
    broken.write_text("[bias]\nmax_abs_v = true\n")
    view.disconnect_button.click()
    qtbot.waitUntil(lambda: view.connect_button.isEnabled(), timeout=TIMEOUT)
    window.load_limits(broken)
    assert str(broken) in window.status_error.text()
    window.close()


def test_the_last_station_and_the_typed_resources_are_remembered(qtbot, tiny_model):
    window = open_window(qtbot, tiny_model)
    window.open_station(STATION)  # File → Open station…
    view = window.connect_view
    assert view.source_key() == STATION_KEY
    qtbot.waitUntil(lambda: view.table.rowCount() == 2, timeout=TIMEOUT)
    assert str(STATION) in view.station_label.text()
    choose_typed(qtbot, view)
    view.smu_choice.setEditText("GPIB0::5::INSTR")
    view.scope_choice.setEditText("TCPIP0::10.0.0.7::inst0::INSTR")
    view.source.setCurrentIndex(0)  # the mock bench shows its own instruments in the boxes
    qtbot.waitUntil(lambda: view.smu_choice.currentText() == KEITHLEY_RESOURCE, timeout=TIMEOUT)
    view.source.setCurrentIndex(list(view.sources.values()).index(TYPED_KEY))
    assert view.smu_choice.currentText() == "GPIB0::5::INSTR"  # the typed choice is back
    window.close()
    assert QSettings().value("station/file") == str(STATION)

    again = open_window(qtbot, tiny_model, mock=False)
    view = again.connect_view
    assert view.source_key() == STATION_KEY  # offered and preselected
    assert view.typed() == {
        "smu": "GPIB0::5::INSTR",
        "scope": "TCPIP0::10.0.0.7::inst0::INSTR",
        "visa_library": "@smtjlab",
    }
    qtbot.waitUntil(lambda: view.table.rowCount() == 2, timeout=TIMEOUT)
    qtbot.mouseClick(view.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.disconnect_button.isEnabled(), timeout=TIMEOUT)
    assert again.bench._bench.station.path == STATION
    again.close()


def test_a_remembered_station_that_no_longer_loads_is_skipped(qtbot, tiny_model, tmp_path):
    gone = tmp_path / "gone.toml"
    QSettings().setValue("station/file", str(gone))
    QSettings().setValue("station/visa_library", "@smtjlab")  # no scan of this machine's VISA
    window = open_window(qtbot, tiny_model, mock=False)
    assert STATION_KEY not in window.connect_view.sources.values()
    assert window.connect_view.source_key() == TYPED_KEY
    window.close()


@pytest.mark.parametrize("broken", ["[[instrument]]\nname = 1\n", "not toml ["])
def test_a_broken_station_file_is_one_status_line(qtbot, tiny_model, tmp_path, broken):
    station = tmp_path / "bad.toml"
    station.write_text(broken)
    window = open_window(qtbot, tiny_model)
    window.open_station(station)
    assert str(station) in window.status_error.text()
    assert "\n" not in window.status_error.text()
    assert STATION_KEY not in window.connect_view.sources.values()
    window.close()
