"""The live view: the SMU readout is the bench's state, a refused bias leaves no trace."""

import numpy as np
import pytest
from PySide6.QtCore import Qt
from smtjlab.gui import live_view
from smtjlab.gui.bench_worker import BenchWorker
from smtjlab.gui.inference_worker import InferenceWorker
from smtjlab.gui.live_view import LiveView
from smtjlab.gui.messages import BenchState, LiveFrame
from smtjlab.gui.window import LabWindow

TIMEOUT = 30_000


def frame(bias_v=0.29, points=4000, rate=1e6):
    volts = np.where(np.arange(points) % 200 < 100, 0.1, 0.2).astype(np.float32)
    counts, edges = np.histogram(volts, bins=20)
    return LiveFrame(
        volts=volts,
        sample_rate=rate,
        t0=0.0,
        hist_edges=edges,
        hist_counts=counts,
        low_v=0.1,
        high_v=0.2,
        threshold_v=0.15,
        p_high=0.5,
        tau_c=1e-4,
        bias_v=bias_v,
        records=1,
    )


@pytest.fixture
def view(qtbot):
    view = LiveView()
    qtbot.addWidget(view)
    return view


def test_the_smu_readout_is_the_bench_state_not_the_last_frame(view):
    view.show_state(BenchState(connected=True, bias_v=0.29, output_on=True))
    view.show_frame(frame(bias_v=0.29))
    assert view.bias_label.text() == "+0.290 V ON"
    view.show_state(BenchState(connected=True, bias_v=0.0, output_on=False))  # after STOP
    view.set_running(False)
    assert view.bias_label.text() == "+0.000 V off"
    assert "Live stopped" in view.trace_plot.getPlotItem().titleLabel.text
    view.show_state(BenchState(connected=False))
    assert view.bias_label.text() == "–"


def test_a_refused_bias_is_reverted_and_its_message_clears(view, qtbot, monkeypatch):
    monkeypatch.setattr(live_view, "MESSAGE_MS", 200)
    view.show_state(BenchState(connected=True, bias_v=0.29, output_on=True))
    view.bias_box.setValue(2.0)
    view.show_bias_result(False, "2 V refused: beyond the 0.5 V limit. Nothing was sent.")
    assert view.bias_box.value() == pytest.approx(0.29)
    assert "refused" in view.bias_message.text()
    qtbot.waitUntil(lambda: view.bias_message.text() == "", timeout=2000)
    # ... or sooner: the next entry replaces it.
    view.show_bias_result(False, "2 V refused again")
    view.bias_box.setValue(0.31)
    assert view.bias_message.text() == ""


def test_the_histogram_says_how_many_samples_it_counts(view):
    view.show_frame(frame(points=4000))
    assert view.hist_plot.getPlotItem().titleLabel.text == "All 4 k samples"
    assert "every sample of the record: 4,000" in view.hist_plot.toolTip()


@pytest.fixture
def window(qtbot, tiny_model):
    window = LabWindow(
        mock=True,
        bench=BenchWorker(ready_bits=1 << 17),
        inference=InferenceWorker(step_interval_ms=0, resolve=lambda choice: str(tiny_model)),
    )
    qtbot.addWidget(window)
    window.show()
    yield window
    window.close()


def test_after_stop_and_a_refusal_the_window_shows_no_stale_bias(qtbot, window):
    view = window.live_view
    qtbot.waitUntil(lambda: window.connect_view.connect_button.isEnabled(), timeout=TIMEOUT)
    window.connect_mock()
    qtbot.waitUntil(lambda: window.connect_view.disconnect_button.isEnabled(), timeout=TIMEOUT)
    window.show_tab("live")
    window.set_bias(0.29)
    qtbot.waitUntil(lambda: view.bias_label.text() == "+0.290 V ON", timeout=TIMEOUT)
    window.start_live()
    qtbot.waitUntil(lambda: view.frames_shown >= 2, timeout=TIMEOUT)

    view.bias_box.setValue(2.0)
    qtbot.mouseClick(view.bias_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "refused" in view.bias_message.text(), timeout=TIMEOUT)
    assert view.bias_box.value() == pytest.approx(0.29)  # back to what the SMU does

    window.stop_action.trigger()
    qtbot.waitUntil(lambda: view.bias_label.text() == "+0.000 V off", timeout=TIMEOUT)
    world = window.bench._bench.source.resource.visalib.bench
    assert world.source_voltage == 0.0 and not world.output_on
    assert window.status_bias.text() == "bias +0.000 V, output off"
    assert view.start_button.isEnabled()
