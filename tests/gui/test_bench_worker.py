"""The bench worker in its own thread against the mock bench, driven through queued signals."""

import itertools
import json
import re
import statistics
from datetime import datetime
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
    stop_live = Signal()
    replay = Signal(str)
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
    driver.stop_live.connect(worker.stop_live)
    driver.replay.connect(worker.replay)
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
    worker, driver, frames, gui = bench
    states = connected(qtbot, gui, driver)
    with qtbot.waitSignal(gui.bias_result, timeout=20_000):
        driver.set_bias.emit(0.3)
    path = tmp_path / "live.h5"
    with qtbot.waitSignal(gui.state, timeout=20_000, check_params_cb=lambda s: s.recording):
        driver.record.emit(str(path))
    count = len(frames)
    driver.start_live.emit()
    qtbot.waitUntil(lambda: len(frames) >= count + 3, timeout=20_000)
    # The size and duration are sent every RECORDING_STATUS_S while records come.
    qtbot.waitUntil(lambda: states[-1].recording_seconds >= 3 * POINTS / 10e6, timeout=20_000)
    with qtbot.waitSignal(gui.state, timeout=20_000, check_params_cb=lambda s: not s.recording):
        driver.stop_record.emit()
    traces = read_traces(path)
    assert traces and traces[0].bias_voltage == pytest.approx(0.3)
    assert traces[0].source == "synthetic" and len(traces[0].data) >= 3 * POINTS
    assert traces[0].is_codes
    # What the recording says about the bench it came from (issue 18, problem 5).
    attrs = traces[0].attrs
    assert attrs["smu"].startswith("KEITHLEY") and attrs["instrument"].startswith("KEYSIGHT")
    assert json.loads(attrs["limits"])["max_abs_v"] == worker._bench.limits.max_abs_v
    assert set(json.loads(attrs["limits"])) == {
        "max_abs_v",
        "compliance_a",
        "ramp_step_v",
        "ramp_rate_v_per_s",
        "source",
    }
    assert "calibration" not in attrs  # none was run
    starts = [start for start, _ in traces[0].records]
    assert starts == [POINTS * k for k in range(len(starts))] and len(starts) >= 3
    times = [datetime.fromisoformat(when) for _, when in traces[0].records]
    assert times == sorted(times)
    # The toolbar's size and duration grew with the file, and are gone once it is closed.
    growing = [s for s in states if s.recording]
    sizes = [s.recording_bytes for s in growing]
    seconds = [s.recording_seconds for s in growing]
    assert sizes == sorted(sizes) and sizes[-1] > sizes[0]
    assert seconds == sorted(seconds) and seconds[-1] >= 3 * POINTS / 10e6
    assert growing[-1].recording_summary().startswith("● live.h5: ")
    assert states[-1].recording_summary() == ""


def test_a_recording_made_in_the_window_replays_at_its_own_rate(qtbot, bench, tmp_path):
    # Issue 18, problem 2: a replay showed half the τc seen live, and its clock jumped.
    _, driver, frames, gui = bench
    connected(qtbot, gui, driver)
    with qtbot.waitSignal(gui.bias_result, timeout=20_000):
        driver.set_bias.emit(0.3)
    path = tmp_path / "live.h5"
    with qtbot.waitSignal(gui.state, timeout=20_000, check_params_cb=lambda s: s.recording):
        driver.record.emit(str(path))
    driver.start_live.emit()
    qtbot.waitUntil(
        lambda: sum(f.bias_v == pytest.approx(0.3) for f in frames) >= 8, timeout=20_000
    )
    driver.stop_live.emit()
    with qtbot.waitSignal(gui.state, timeout=20_000, check_params_cb=lambda s: not s.recording):
        driver.stop_record.emit()
    live = [f for f in frames if f.bias_v == pytest.approx(0.3)]
    frames.clear()
    with qtbot.waitSignal(gui.state, timeout=20_000, check_params_cb=lambda s: s.connected):
        driver.replay.emit(str(path))
    with qtbot.waitSignal(gui.bias_result, timeout=20_000):
        driver.set_bias.emit(0.3)
    driver.start_live.emit()
    qtbot.waitUntil(lambda: len(frames) >= 8, timeout=20_000)
    replayed = frames[:8]
    tau_live = statistics.mean(f.tau_c for f in live)
    tau_replay = statistics.mean(f.tau_c for f in replayed)
    print(f"tau_c live {tau_live * 1e6:.4f} us, replay {tau_replay * 1e6:.4f} us")
    assert tau_replay == pytest.approx(tau_live, rel=0.10)
    assert {f.sample_rate for f in replayed} == {f.sample_rate for f in live} == {10e6}
    # The replay is a new run: its clock starts at 0 s and grows by the records taken (some
    # are taken, pooled and recorded but not drawn), never by more.
    record_s = POINTS / 10e6
    assert replayed[0].t0 == 0.0
    for before, after in itertools.pairwise(replayed):
        taken = after.records - before.records
        assert taken >= 1 and after.t0 - before.t0 == pytest.approx(taken * record_s)


def test_the_window_toolbar_shows_the_recording_growing(qtbot, tiny_model, tmp_path):
    from smtjlab.gui.inference_worker import InferenceWorker
    from smtjlab.gui.window import LabWindow

    window = LabWindow(
        bench=BenchWorker(points=POINTS),
        inference=InferenceWorker(step_interval_ms=0, resolve=lambda choice: str(tiny_model)),
    )
    qtbot.addWidget(window)
    try:
        window.connect_mock()
        qtbot.waitUntil(lambda: window.connect_view.disconnect_button.isEnabled(), timeout=20_000)
        window.set_bias(0.3)
        window._record.emit(str(tmp_path / "grow.h5"))  # what the Record… dialog sends
        window.start_live()
        label = window.recording_label
        seen = []
        qtbot.waitUntil(
            lambda: seen.append(label.text()) or len(set(seen) - {""}) >= 3, timeout=20_000
        )
        shown = [text for text in dict.fromkeys(seen) if text]
        numbers = [
            tuple(float(x) for x in re.findall(r"([\d.]+) (?:MB|s of)", text)) for text in shown
        ]
        assert all(text.startswith("● grow.h5: ") for text in shown)
        assert numbers == sorted(numbers) and numbers[-1][1] > numbers[0][1]
        window._stop_record.emit()
        qtbot.waitUntil(lambda: label.text() == "", timeout=20_000)
    finally:
        window.close()


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
