"""The lab window end to end on the mock bench, offscreen, driven through its widgets."""

import re

import numpy as np
import pytest
from PySide6.QtCore import Qt
from smtjlab.gui.bench_worker import BenchWorker
from smtjlab.gui.inference_worker import InferenceWorker
from smtjlab.gui.window import LabWindow
from smtjlab.mocks.visa_library import KEITHLEY_RESOURCE

TIMEOUT = 30_000


def open_window(qtbot, model, bench):
    # A tiny synthetic network keeps the test independent of the shipped checkpoints.
    window = LabWindow(
        mock=True,
        bench=bench,
        inference=InferenceWorker(step_interval_ms=0, resolve=lambda choice: str(model)),
    )
    qtbot.addWidget(window)
    window.show()
    return window


@pytest.fixture
def window(qtbot, tiny_model):
    window = open_window(qtbot, tiny_model, BenchWorker(ready_bits=1 << 17))
    yield window
    window.close()


def simulated(window):
    """The simulated world behind the mock instruments (what the SMU really outputs)."""
    return window.bench._bench.source.resource.visalib.bench


def connect(qtbot, window):
    view = window.connect_view
    qtbot.waitUntil(lambda: view.table.rowCount() == 2, timeout=TIMEOUT)  # discovered
    assert view.connect_button.isEnabled()
    assert "KEITHLEY" in view.table.item(0, 2).text()
    qtbot.mouseClick(view.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.disconnect_button.isEnabled(), timeout=TIMEOUT)
    assert view.limits_form.rowCount() >= 3  # the active safety limits are shown


def ramp(qtbot, window, volts):
    live = window.live_view
    live.bias_box.setValue(volts)
    before = live.bias_message.text()
    live.bias_message.setText("")
    qtbot.mouseClick(live.bias_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: live.bias_message.text() not in ("", before), timeout=TIMEOUT)
    return live.bias_message.text()


def test_connect_live_view_and_refused_bias(qtbot, window):
    connect(qtbot, window)
    window.tabs.setCurrentWidget(window.live_view)
    live = window.live_view
    assert "Ramped" in ramp(qtbot, window, 0.32)
    qtbot.mouseClick(live.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: live.frames_shown >= 3, timeout=TIMEOUT)
    assert live.p_high_label.text() not in ("", "–")
    assert float(live.p_high_label.text()) > 0.6  # p(0.32 V) = 0.69 on the mock device
    assert live.trace_curve.getData()[0] is not None
    sent = len(window.bench._bench.source.resource.visalib.written(KEITHLEY_RESOURCE))

    message = ramp(qtbot, window, 2.0)
    assert "refused" in message and "0.5 V" in message and "Nothing was sent" in message
    assert "b00020" in live.bias_message.styleSheet()  # shown in red
    assert live.bias_message.isVisible()
    assert (
        len(window.bench._bench.source.resource.visalib.written(KEITHLEY_RESOURCE)) == sent
    )  # nothing sent
    assert simulated(window).source_voltage == pytest.approx(0.32)
    assert simulated(window).output_on


def test_calibration_twenty_inferences_stop_and_close(qtbot, window, in_gui_thread):
    connect(qtbot, window)
    world = simulated(window)
    cal = window.calibration_view
    window.tabs.setCurrentWidget(cal)
    qtbot.mouseClick(cal.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: cal.table.rowCount() == 3, timeout=60_000)
    assert "within tolerance" in cal.status.text()
    for row, target in enumerate((0.25, 0.5, 0.75)):
        assert abs(float(cal.table.item(row, 2).text()) - target) <= 0.01
    assert len(cal.points.data) >= 10  # the sweep's points are plotted

    # The pools fill from the live loop; the network switches to them once they are ready.
    infer = window.inference_view
    qtbot.waitUntil(lambda: "s-MTJ bit pools" in infer.model_label.text(), timeout=TIMEOUT)
    assert window.pools_view.rows and window.pools_view.rows[0]["fill"].value() > 0
    window.tabs.setCurrentWidget(infer)
    tallies = []
    in_gui_thread(window.inference.tally, object).connect(tallies.append)
    qtbot.mouseClick(infer.stream_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(tallies) and tallies[-1].images >= 20, timeout=TIMEOUT)
    assert "(" in infer.accuracy_label.text()
    counts = infer.bars.opts["height"]
    assert np.asarray(counts).sum() != 0

    window.stop_action.trigger()
    qtbot.waitUntil(lambda: infer.stream_button.isEnabled(), timeout=TIMEOUT)
    qtbot.waitUntil(lambda: not world.output_on, timeout=TIMEOUT)
    assert world.source_voltage == 0.0
    window.close()
    assert not window.bench_thread.isRunning() and not window.inference_thread.isRunning()
    assert world.source_voltage == 0.0 and not world.output_on


def test_closing_while_live_ramps_down(qtbot, window):
    connect(qtbot, window)
    assert "Ramped" in ramp(qtbot, window, 0.3)
    window.show_tab("live")
    window.start_live()
    qtbot.waitUntil(lambda: window.live_view.frames_shown >= 1, timeout=TIMEOUT)
    # Records go on with the live view hidden, and the status bar counts them.
    window.show_tab("pools")
    qtbot.waitUntil(lambda: re.fullmatch(r"live: [1-9]\d* records/s", window.status_fps.text()))
    world = simulated(window)
    assert world.output_on
    window.close()
    assert not window.bench_thread.isRunning()
    assert world.source_voltage == 0.0 and not world.output_on


def test_lost_scope_is_a_message_and_stop_still_ramps_down(qtbot, window):
    from smtjlab.mocks.visa_library import SCOPE_RESOURCE

    connect(qtbot, window)
    window.show_tab("live")
    assert "Ramped" in ramp(qtbot, window, 0.3)
    window.start_live()
    qtbot.waitUntil(lambda: window.live_view.frames_shown >= 1, timeout=TIMEOUT)
    window.bench._bench.source.resource.visalib.faults(SCOPE_RESOURCE).inject("disconnect")
    qtbot.waitUntil(
        lambda: "live acquisition stopped" in window.status_error.text(), timeout=TIMEOUT
    )
    qtbot.waitUntil(lambda: window.live_view.start_button.isEnabled(), timeout=TIMEOUT)
    world = simulated(window)
    assert world.output_on  # a scope fault does not touch the bias by itself
    window.stop_action.trigger()
    qtbot.waitUntil(lambda: not world.output_on, timeout=TIMEOUT)
    assert world.source_voltage == 0.0


def test_closing_during_a_calibration_stops_it_and_ramps_down(qtbot, window, in_gui_thread):
    connect(qtbot, window)
    with qtbot.waitSignal(in_gui_thread(window.bench.calibration_point, object), timeout=TIMEOUT):
        window.calibrate(5)
    world = simulated(window)
    assert world.output_on
    window.close()
    assert not window.bench_thread.isRunning()
    assert world.source_voltage == 0.0 and not world.output_on


def test_failed_calibration_gives_back_the_live_view(qtbot, tiny_model):
    # No bias can be found within 1e-6 in one try: the calibration fails for sure.
    bench = BenchWorker(calibration_options={"tolerance": 1e-6, "max_iterations": 1})
    window = open_window(qtbot, tiny_model, bench)
    try:
        connect(qtbot, window)
        window.show_tab("live")
        assert "Ramped" in ramp(qtbot, window, 0.3)
        window.start_live()
        qtbot.waitUntil(lambda: window.live_view.frames_shown >= 1, timeout=TIMEOUT)
        cal = window.calibration_view
        window.calibrate(5)
        qtbot.waitUntil(lambda: "Calibration failed" in cal.status.text(), timeout=60_000)
        window.show_tab("live")
        shown = window.live_view.frames_shown
        qtbot.waitUntil(lambda: window.live_view.frames_shown > shown + 2, timeout=TIMEOUT)
        assert not window.live_view.start_button.isEnabled()
        world = simulated(window)
        window.stop_action.trigger()
        qtbot.waitUntil(lambda: not world.output_on, timeout=TIMEOUT)
        assert world.source_voltage == 0.0
        assert window.live_view.start_button.isEnabled()
    finally:
        window.close()


def test_stop_during_a_calibration_while_live_leaves_everything_off(qtbot, window, in_gui_thread):
    connect(qtbot, window)
    window.show_tab("live")
    assert "Ramped" in ramp(qtbot, window, 0.3)
    window.start_live()
    qtbot.waitUntil(lambda: window.live_view.frames_shown >= 1, timeout=TIMEOUT)
    with qtbot.waitSignal(in_gui_thread(window.bench.calibration_point, object), timeout=TIMEOUT):
        window.calibrate(5)
    world = simulated(window)
    window.stop_action.trigger()
    qtbot.waitUntil(lambda: "Stopped" in window.calibration_view.status.text(), timeout=TIMEOUT)
    qtbot.waitUntil(lambda: not world.output_on, timeout=TIMEOUT)
    shown = window.live_view.frames_shown
    qtbot.wait(500)  # the resumed live view, if STOP had not ended it, would draw meanwhile
    assert window.live_view.frames_shown == shown
    assert window.live_view.start_button.isEnabled()
    assert world.source_voltage == 0.0 and not world.output_on


def test_the_calibration_views_stop_button_ends_a_running_calibration(qtbot, window, in_gui_thread):
    connect(qtbot, window)
    cal = window.calibration_view
    with qtbot.waitSignal(in_gui_thread(window.bench.calibration_point, object), timeout=TIMEOUT):
        window.calibrate(5)
    # The bench thread is busy calibrating: the abort must not wait in its queue.
    qtbot.mouseClick(cal.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: cal.run_button.isEnabled(), timeout=60_000)
    assert "Stopped" in cal.status.text()


def test_closing_a_biased_bench_asks_and_no_keeps_the_bias(qtbot, window, answered_dialogs):
    from PySide6.QtWidgets import QMessageBox

    connect(qtbot, window)
    assert "Ramped" in ramp(qtbot, window, 0.3)
    window.show_tab("live")
    window.start_live()
    qtbot.waitUntil(lambda: window.live_view.frames_shown >= 1, timeout=TIMEOUT)
    world = simulated(window)

    answered_dialogs.reply = QMessageBox.StandardButton.No
    window.close()
    title, text = answered_dialogs.shown[-1]
    assert title == "Close smtjlab?"
    assert "biased at +0.300 V, output on" in text and "live acquisition is running" in text
    assert window.isVisible() and window.bench_thread.isRunning()
    assert world.output_on and world.source_voltage == pytest.approx(0.3)

    answered_dialogs.reply = QMessageBox.StandardButton.Yes
    window.close()
    assert not window.isVisible() and not window.bench_thread.isRunning()
    assert world.source_voltage == 0.0 and not world.output_on
    title, text = answered_dialogs.shown[-1]  # shown before the window went
    assert title == "smtjlab: final state"
    assert "ramped to 0 V" in text and "smu: 0.000 V, output off" in text


def test_closing_an_idle_window_asks_nothing(qtbot, window, answered_dialogs):
    window.close()
    assert answered_dialogs.shown == [] and not window.bench_thread.isRunning()


def test_save_figure_on_every_plot_writes_png_and_svg(qtbot, window, tmp_path, mocker):
    import pyqtgraph as pg
    from PySide6.QtGui import QImage
    from PySide6.QtWidgets import QFileDialog
    from smtjlab.gui.figures import SAVE_FIGURE, save_figure

    from smtjlab.outputs import OutputError, OutputFile

    plots = window.findChildren(pg.PlotWidget)
    assert len(plots) >= 5  # trace, histogram, calibration, raster, counters
    for index, plot in enumerate(plots):
        menu = plot.getPlotItem().getViewBox().menu
        assert SAVE_FIGURE in [action.text() for action in menu.actions()]
        save_figure(plot, OutputFile(tmp_path / f"plot{index}.png"))
        save_figure(plot, OutputFile(tmp_path / f"plot{index}.svg"))
        assert not QImage(str(tmp_path / f"plot{index}.png")).isNull()
        assert "<svg" in (tmp_path / f"plot{index}.svg").read_text()
    with pytest.raises(OutputError, match=r"\.png or \.svg"):
        save_figure(plots[0], OutputFile(tmp_path / "plot.jpg"))

    # Through the context menu: a name typed without a suffix gets the chosen filter's.
    mocker.patch.object(
        QFileDialog, "getSaveFileName", return_value=(str(tmp_path / "menu"), "SVG drawing (*.svg)")
    )
    menu = plots[0].getPlotItem().getViewBox().menu
    next(action for action in menu.actions() if action.text() == SAVE_FIGURE).trigger()
    assert "<svg" in (tmp_path / "menu.svg").read_text()


def test_every_control_has_a_tooltip(qtbot, window):
    from PySide6.QtWidgets import (
        QAbstractButton,
        QAbstractSpinBox,
        QComboBox,
        QLineEdit,
        QTabBar,
    )

    def ours(widget):
        # Qt's own parts: a spin box's or combo box's line edit, tab scroll and dock buttons.
        parent = widget.parentWidget()
        return not (
            widget.objectName().startswith("qt_")
            or isinstance(parent, (QAbstractSpinBox, QComboBox, QTabBar))
        )

    controls = [
        widget
        for kind in (QAbstractButton, QLineEdit, QAbstractSpinBox, QComboBox)
        for widget in window.findChildren(kind)
        if ours(widget)
    ]
    assert len(controls) > 25
    missing = [
        f"{type(widget).__name__} {widget.objectName() or getattr(widget, 'text', str)()!r}"
        for widget in controls
        if not widget.toolTip()
    ]
    assert missing == []


def test_help_opens_the_guide(qtbot, window, mocker, answered_dialogs):
    from PySide6.QtGui import QDesktopServices
    from smtjlab.gui.window import GUIDE

    opened = mocker.patch.object(QDesktopServices, "openUrl")
    window.guide_action.trigger()
    assert GUIDE.name == "gui.md" and GUIDE.is_file()
    assert opened.call_args.args[0].toLocalFile() == str(GUIDE)
    window.about_action.trigger()
    assert answered_dialogs.shown[-1][0] == "About smtjlab"


def test_the_calibration_view_shows_the_states_being_calibrated(qtbot, window):
    window.calibrate(11)  # as for an 11-state network
    assert window.calibration_view.states.currentText().startswith("11 states")
    qtbot.waitUntil(lambda: "Not connected" in window.calibration_view.status.text())
