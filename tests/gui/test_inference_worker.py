"""The inference worker: counter replay against the engine, and a stream of test images."""

import subprocess
import sys
import time

import numpy as np
import pytest
from PySide6.QtCore import QObject, QThread, Signal
from smtjlab.gui.inference_view import ModelChoice
from smtjlab.gui.inference_worker import InferenceWorker, counter_trajectory, energy_summary
from smtjlab.inference import energy
from smtjlab.inference.bitsource import IdealBits, PoolBits
from smtjlab.inference.encoding import Encoding
from smtjlab.inference.engine import ScEngine


@pytest.mark.parametrize("encoding", list(Encoding))
def test_counter_replay_ends_at_the_engine_counters(encoding, tiny_checkpoint):
    checkpoint = tiny_checkpoint(encoding)
    engine = ScEngine(checkpoint, 100, bits=IdealBits(), seed=3)
    images = np.random.default_rng(1).integers(0, 256, size=(2, 28, 28)).astype(np.uint8)
    result = engine.forward(images, record=True)
    weights, sign = engine.weight_streams[-1], np.sign(checkpoint.layers[-1].weights)
    for b in range(2):
        trajectory = counter_trajectory(result.streams[-1][b], weights, sign, encoding, 100)
        assert trajectory.shape == (100, 10)
        assert np.array_equal(trajectory[-1], result.sums[-1][b])


class Driver(QObject):
    load = Signal(object)
    source = Signal(object)
    stream = Signal()
    classify = Signal(object, int, int)
    shutdown = Signal()


def test_stream_counts_twenty_images_and_stops(qtbot, tiny_model, in_gui_thread):
    worker = InferenceWorker(step_interval_ms=0, resolve=lambda choice: str(tiny_model))
    thread = QThread()
    worker.moveToThread(thread)
    driver = Driver()
    driver.load.connect(worker.load_model)
    driver.source.connect(worker.set_bit_source)
    driver.stream.connect(worker.start_stream)
    driver.classify.connect(worker.classify)
    driver.shutdown.connect(worker.shutdown)
    tallies, steps, errors, infos = [], [], [], []
    in_gui_thread(worker.tally, object).connect(tallies.append)
    in_gui_thread(worker.step, object).connect(steps.append)
    in_gui_thread(worker.error, str).connect(errors.append)
    in_gui_thread(worker.model_info, str).connect(infos.append)
    energies = []
    in_gui_thread(worker.energy, str, str).connect(lambda html, tip: energies.append(html))
    streaming = in_gui_thread(worker.streaming, bool)
    thread.start()
    try:
        rng = np.random.default_rng(0)
        pools = PoolBits({p: (rng.random(200_000) < p).astype(np.uint8) for p in (0.25, 0.5, 0.75)})
        driver.load.emit(ModelChoice(1, 5, 100))
        driver.source.emit(pools)
        qtbot.waitUntil(lambda: any("bit pools" in info for info in infos), timeout=30_000)
        assert energies and "quantized" in energies[-1] and "paper 9×" in energies[-1]
        with qtbot.waitSignal(streaming, timeout=30_000):
            driver.stream.emit()
        qtbot.waitUntil(lambda: bool(tallies) and tallies[-1].images >= 20, timeout=30_000)
        with qtbot.waitSignal(streaming, timeout=30_000, check_params_cb=lambda on: not on):
            worker.request_stop()
        assert not errors
        final = [step for step in steps if step.final]
        assert len(final) >= 20
        # Counters only grow in cycles, and each image ends at its full length.
        first = [step for step in steps if step.image_index == final[0].image_index]
        assert [step.bits_done for step in first] == sorted(step.bits_done for step in first)
        assert first[-1].bits_done == 100
        tally = tallies[-1]
        assert tally.correct == sum(step.prediction == step.label for step in final[: tally.images])
        # A drawn digit: no label, one classification.
        drawn = np.zeros((28, 28), np.uint8)
        drawn[4:24, 12:16] = 255
        count = len(steps)
        driver.classify.emit(drawn, -1, -1)
        qtbot.waitUntil(lambda: any(s.final for s in steps[count:]), timeout=30_000)
        assert all(s.label == -1 and s.image_index == -1 for s in steps[count:])
    finally:
        driver.shutdown.emit()
        assert thread.wait(10_000)


def test_throughput_is_images_over_the_streams_wall_time(qtbot, tiny_model, in_gui_thread):
    # Paced at 10 ms a snapshot (120 ms an image), far slower than the engine alone: a rate
    # taken from the engine's time, as before, would be several times images / elapsed.
    worker = InferenceWorker(step_interval_ms=10, resolve=lambda choice: str(tiny_model))
    thread = QThread()
    worker.moveToThread(thread)
    driver = Driver()
    driver.load.connect(worker.load_model)
    driver.stream.connect(worker.start_stream)
    driver.shutdown.connect(worker.shutdown)
    infos, seen = [], []
    in_gui_thread(worker.model_info, str).connect(infos.append)
    in_gui_thread(worker.tally, object).connect(lambda t: seen.append((time.perf_counter(), t)))
    thread.start()
    try:
        driver.load.emit(ModelChoice(1, 5, 100))
        qtbot.waitUntil(lambda: bool(infos), timeout=30_000)
        started = time.perf_counter()
        driver.stream.emit()
        qtbot.waitUntil(lambda: bool(seen) and seen[-1][1].images >= 20, timeout=30_000)
        worker.request_stop()
        arrived, tally = seen[-1]
        measured = tally.images / (arrived - started)
        assert tally.images_per_s == pytest.approx(measured, rel=0.10)
        assert tally.engine_images_per_s > 2 * tally.images_per_s
    finally:
        driver.shutdown.emit()
        assert thread.wait(10_000)


def test_the_energy_panel_says_what_its_ratios_mean(tiny_checkpoint):
    checkpoint = tiny_checkpoint(states=11)
    html, tooltip = energy_summary(checkpoint, 100)
    found = energy.compare(energy.EnergyParameters(), checkpoint.widths, 11, 100)
    ratio = found["ratios"]["activation_energy"]
    assert ratio < 1 and f"energy {ratio:.2f}× (paper 2.6×" in html
    assert "quantized activation costs more" in html
    assert f"{found['ratios']['inference_energy']:.2f}×" in html and "activations" in html
    # Item by item: the analog DAC and multiply-add against comparators and the multiplexer.
    assert "DAC" in tooltip and "10 comparators" in tooltip and "multiplexer" in tooltip
    assert "none was tuned" in tooltip and "not available" in tooltip


def test_the_inference_view_and_worker_import_no_torch():
    script = (
        "import sys\n"
        "import smtjlab.gui.inference_view, smtjlab.gui.inference_worker\n"
        "import smtjlab.inference.engine\n"
        "print('torch' in sys.modules)\n"
    )
    ran = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert ran.stdout.split()[-1] == "False"
