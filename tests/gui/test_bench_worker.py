"""The bench worker in its own thread against the mock bench, driven through queued signals."""

from types import SimpleNamespace

import numpy as np
import pytest
from PySide6.QtCore import QObject, QThread, Signal
from smtjlab.acquisition.tracefile import read_traces
from smtjlab.gui.bench_worker import BenchWorker, _histogram

POINTS = 50_000  # small records keep the test fast; the window uses 1 M


class Driver(QObject):
    """Queued requests to the worker, the way the window sends them."""

    connect_bench = Signal(str, str, str)
    start_live = Signal()
    set_bias = Signal(float)
    record = Signal(str)
    stop_record = Signal()
    safe_stop = Signal()
    shutdown = Signal()


@pytest.fixture
def bench(qtbot, in_gui_thread):
    worker = BenchWorker(points=POINTS)
    thread = QThread()
    worker.moveToThread(thread)
    driver = Driver()
    driver.connect_bench.connect(worker.connect_bench)
    driver.start_live.connect(worker.start_live)
    driver.set_bias.connect(worker.set_bias)
    driver.record.connect(worker.start_recording)
    driver.stop_record.connect(worker.stop_recording)
    driver.safe_stop.connect(worker.safe_stop)
    driver.shutdown.connect(worker.shutdown)
    # What the tests wait for, received in the GUI thread as the window receives it.
    gui = SimpleNamespace(
        state=in_gui_thread(worker.state, object),
        bias_result=in_gui_thread(worker.bias_result, bool, str),
        frame=in_gui_thread(worker.frame, object),
    )
    frames = []
    gui.frame.connect(lambda frame: (frames.append(frame), worker.frame_shown()))
    thread.start()
    yield worker, driver, frames, gui
    driver.shutdown.emit()
    assert thread.wait(20_000)


def connected(qtbot, gui, driver):
    states = []
    gui.state.connect(states.append)
    with qtbot.waitSignal(gui.state, timeout=20_000, check_params_cb=lambda s: s.connected):
        driver.connect_bench.emit("mock-model", "", "")
    return states


def test_live_frames_follow_the_bias_and_stop_ramps_down(qtbot, bench):
    worker, driver, frames, gui = bench
    connected(qtbot, gui, driver)
    smu_bench = worker._bench.source.resource.visalib.bench
    with qtbot.waitSignal(gui.bias_result, timeout=20_000) as result:
        driver.set_bias.emit(0.30)
    assert result.args[0] is True
    driver.start_live.emit()
    qtbot.waitUntil(lambda: any(abs(f.bias_v - 0.30) < 1e-9 for f in frames), timeout=20_000)
    frame = next(f for f in frames if abs(f.bias_v - 0.30) < 1e-9)
    assert len(frame.volts) == POINTS
    assert 0.35 < frame.p_high < 0.65  # the device's p(0.30 V) is 0.5
    assert frame.low_v < frame.threshold_v < frame.high_v
    with qtbot.waitSignal(gui.bias_result, timeout=20_000) as result:
        driver.set_bias.emit(0.35)
    assert result.args[0] is True
    qtbot.waitUntil(lambda: frames[-1].bias_v > 0.34 and frames[-1].p_high > 0.8, timeout=20_000)
    with qtbot.waitSignal(gui.state, timeout=20_000, check_params_cb=lambda s: not s.output_on):
        driver.safe_stop.emit()
    assert smu_bench.source_voltage == 0.0 and not smu_bench.output_on


def test_out_of_limit_bias_is_refused_and_nothing_changes(qtbot, bench):
    worker, driver, _, gui = bench
    connected(qtbot, gui, driver)
    with qtbot.waitSignal(gui.bias_result, timeout=20_000):
        driver.set_bias.emit(0.2)
    written_before = len(worker._bench.source.resource.visalib.written("GPIB0::24::INSTR"))
    with qtbot.waitSignal(gui.bias_result, timeout=20_000) as result:
        driver.set_bias.emit(5.0)
    ok, message = result.args
    assert not ok and "refused" in message and "Nothing was sent" in message
    assert len(worker._bench.source.resource.visalib.written("GPIB0::24::INSTR")) == written_before
    assert worker._bench.source.resource.visalib.bench.source_voltage == pytest.approx(0.2)


def test_recording_writes_a_valid_trace_file(qtbot, bench, tmp_path):
    _, driver, frames, gui = bench
    connected(qtbot, gui, driver)
    with qtbot.waitSignal(gui.bias_result, timeout=20_000):
        driver.set_bias.emit(0.3)
    path = tmp_path / "live.h5"
    with qtbot.waitSignal(gui.state, timeout=20_000, check_params_cb=lambda s: s.recording):
        driver.record.emit(str(path))
    count = len(frames)
    driver.start_live.emit()
    qtbot.waitUntil(lambda: len(frames) >= count + 3, timeout=20_000)
    with qtbot.waitSignal(gui.state, timeout=20_000, check_params_cb=lambda s: not s.recording):
        driver.stop_record.emit()
    traces = read_traces(path)
    assert traces and traces[0].bias_voltage == pytest.approx(0.3)
    assert traces[0].source == "synthetic" and len(traces[0].data) >= 3 * POINTS
    assert traces[0].is_codes


# -- the live histogram (gui-live) ------------------------------------------------------------


@pytest.mark.parametrize("codes", [True, False])
def test_the_live_histogram_counts_every_sample(codes):
    rng = np.random.default_rng(2)
    data = rng.integers(0, 2, 100_003) * 90 + rng.normal(0, 7, 100_003)
    record = SimpleNamespace(
        data=data.astype(np.int16) if codes else data.astype(np.float32),
        volts_per_code=1e-3 if codes else None,
        offset_volts=0.05,
    )
    counts, edges = _histogram(record)
    assert counts.sum() == len(data)
    assert len(edges) == len(counts) + 1 and np.all(np.diff(edges) > 0)
    if codes:  # every code falls in the bin its volts say
        volts = record.data * 1e-3 + 0.05
        assert np.array_equal(np.histogram(volts, bins=edges)[0], counts)
