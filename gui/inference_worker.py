"""The SC network in its own thread: classify one digit, or a stream of MNIST test images.

Each image goes through the packed-bit engine (`ScEngine.forward`, recording its streams).
The output layer's counters are then replayed clock cycle by clock cycle from those same
streams, so the view can show them growing as the bits arrive; the replay's last cycle is
checked against the engine's own counters. Bits come from the bench's bit pools once a
calibration has filled them, and from an ideal PRNG until then (the view says which).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot
from smtjlab.gui.inference_view import ModelChoice
from smtjlab.gui.messages import InferenceStep, InferenceTally
from smtjlab.inference.encoding import Encoding

from smtjlab.errors import SmtjlabError

log = logging.getLogger("smtjlab.gui.inference")

STEPS_PER_IMAGE = 12  # counter snapshots shown per image
STEP_INTERVAL_MS = 25  # display pacing of the snapshots; 0 runs as fast as possible


def unpack_streams(streams: np.ndarray, length: int) -> np.ndarray:
    """(…, words) uint64 LSB-first streams -> (…, length) uint8 bits (DESIGN packing)."""
    as_bytes = np.ascontiguousarray(streams).view(np.uint8)
    bits = np.unpackbits(as_bytes, axis=-1, bitorder="little")
    return bits[..., :length]


def counter_trajectory(
    inputs: np.ndarray,
    weights: np.ndarray,
    sign: np.ndarray,
    encoding: Encoding,
    length: int,
) -> np.ndarray:
    """The output counters D_j(t) after every clock cycle t = 1 … L, shape (L, classes).

    `inputs` (in, words) are one image's input streams of the output layer, `weights`
    (classes, in, words) its weight streams and `sign` (classes, in) the digital weight signs;
    the encoding turns their bits into counter steps (docs/sc-semantics.md).
    """
    x = unpack_streams(inputs, length).astype(bool)
    w = unpack_streams(weights, length).astype(bool)
    return np.cumsum(encoding.counter_steps(x, w, sign), axis=1).T


class InferenceWorker(QObject):
    """Lives in the inference QThread; every slot runs there."""

    model_info = Signal(str)
    test_image = Signal(int, object, int)  # index, (28, 28) uint8, label
    step = Signal(object)  # InferenceStep
    tally = Signal(object)  # InferenceTally
    energy = Signal(str, str)  # the energy panel's HTML and its tooltip
    streaming = Signal(bool)  # busy (a stream, or one image) or idle again
    error = Signal(str)

    def __init__(
        self,
        step_interval_ms: int = STEP_INTERVAL_MS,
        resolve: Callable[[ModelChoice], str] = lambda choice: choice.checkpoint,
    ) -> None:
        super().__init__()
        self.step_interval_ms = step_interval_ms
        self.resolve = resolve  # ModelChoice -> checkpoint name or path
        self._stop = threading.Event()
        self._choice: ModelChoice | None = None
        self._checkpoint = None
        self._engine = None
        self._pool_source = None
        self._images: np.ndarray | None = None
        self._labels: np.ndarray | None = None
        self._timer: QTimer | None = None
        self._queue: list[tuple[int, np.ndarray, int]] = []
        self._pending: list[InferenceStep] = []
        self._next_index = 0
        self._images_done = 0
        self._correct = 0
        self._stream_started = 0.0  # perf_counter at the start of the stream
        self._compute_s = 0.0
        self._stream = False  # the queue refills from the test set (a stream, not one image)
        self._busy = False  # a stream or one image is being shown
        self._model_name = ""
        self._bits_name = ""

    # -- thread-safe, called from the GUI thread ----------------------------------------------

    def request_stop(self) -> None:
        self._stop.set()

    # -- slots (inference thread) -------------------------------------------------------------

    @Slot(object)
    def load_model(self, choice: ModelChoice) -> None:
        self._choice = choice
        self._engine = None
        self._model_name = str(self.resolve(choice))
        try:
            from smtjlab.inference.checkpoint import load_checkpoint

            self._checkpoint = load_checkpoint(self._model_name)
        except SmtjlabError as error:
            self._checkpoint = None
            self.model_info.emit(f"<span style='color:#b00020'>{error}</span>")
            self.error.emit(str(error))
            return
        self._build_engine()
        self.energy.emit(*energy_summary(self._checkpoint, choice.length))

    @Slot(object)
    def set_bit_source(self, source) -> None:
        """Use the bench's bit pools (a `BitBank`) from now on; weights are redrawn once."""
        self._pool_source = source
        if self._engine is not None and source is not None:
            self._build_engine()

    @Slot(int)
    def show_test_image(self, index: int) -> None:
        try:
            images, labels = self._test_set()
        except SmtjlabError as error:
            self.error.emit(str(error))
            return
        index = int(index) % len(images)
        self.test_image.emit(index, images[index], int(labels[index]))

    @Slot(object, int, int)
    def classify(self, image, label: int, index: int) -> None:
        """Classify one digit: a drawn image, or test image `index` (image is None)."""
        if index >= 0:
            try:
                images, labels = self._test_set()
            except SmtjlabError as error:
                self.error.emit(str(error))
                return
            image, label = images[index], int(labels[index])
        self._stop.clear()
        self._set_busy(True)
        self._queue = [(index, np.asarray(image, dtype=np.uint8), label)]
        self._run_queue(stream=False)

    @Slot()
    def start_stream(self) -> None:
        """Classify test images one after another until stopped; tally them as they end."""
        if self._busy:
            return
        started = time.perf_counter()  # the stream's clock starts at the request
        try:
            self._test_set()
        except SmtjlabError as error:
            self.error.emit(str(error))
            return
        self._stop.clear()
        self._images_done = self._correct = 0
        self._compute_s = 0.0
        self._stream_started = started
        self._set_busy(True)
        self._queue = []
        self._run_queue(stream=True)

    @Slot()
    def shutdown(self) -> None:
        """Stop for good (window closing) and end this thread; its timer dies with it."""
        self._stop.set()
        self._finish()
        if self._timer is not None:
            self._timer.deleteLater()
            self._timer = None
        QThread.currentThread().quit()

    # -- work ---------------------------------------------------------------------------------

    def _test_set(self) -> tuple[np.ndarray, np.ndarray]:
        if self._images is None:
            from smtjlab.inference.mnist import load_mnist

            self._images, self._labels = load_mnist("test")
            self._next_index = int(np.random.default_rng().integers(len(self._images)))
        return self._images, self._labels

    def _build_engine(self) -> None:
        from smtjlab.inference.bitsource import IdealBits
        from smtjlab.inference.engine import ScEngine, device_levels

        choice, checkpoint = self._choice, self._checkpoint
        if choice is None or checkpoint is None:
            return
        source, bits = IdealBits(), "ideal PRNG"
        where = "ideal PRNG bits (no bit pools yet: connect and calibrate)"
        pools = self._pool_source
        if pools is not None:
            missing = [
                p
                for p in device_levels(checkpoint)
                if not any(abs(p - level) < 1e-6 for level in pools.levels)
            ]
            if missing:
                where = (
                    f"ideal PRNG bits: the pools hold {len(pools.levels)} levels, this model "
                    f"needs {len(device_levels(checkpoint))} (calibrate for "
                    f"{checkpoint.states} states)"
                )
            else:
                source, bits, where = pools, "s-MTJ bit pools", "the s-MTJ bit pools"
        try:
            self._engine = ScEngine(checkpoint, choice.length, bits=source)
        except SmtjlabError as error:
            self._engine = None
            self.error.emit(f"cannot program {choice.checkpoint} at L = {choice.length}: {error}")
            return
        self._bits_name = bits
        hidden = "-".join(str(width) for width in checkpoint.hidden)
        self.model_info.emit(
            f"<b>{choice.checkpoint}</b>: 784-{hidden}-10, {checkpoint.states} states, "
            f"{checkpoint.encoding}, L = {choice.length}; shipped test accuracy "
            f"{100 * checkpoint.test_accuracy:.2f} % (deterministic).<br>Bits: {where}."
        )
        log.info("programmed %s at L = %d with %s", choice.checkpoint, choice.length, where)

    def _run_queue(self, stream: bool) -> None:
        """Start pacing out the snapshots; refill from the test set while streaming."""
        if self._timer is None:
            self._timer = QTimer(self)
            self._timer.timeout.connect(self._tick)
        self._stream = stream
        self._pending = []
        self._timer.start(self.step_interval_ms)

    def _tick(self) -> None:
        if self._stop.is_set():
            self._finish()
            return
        if not self._pending:
            if not self._queue and self._stream:
                images, labels = self._test_set()
                index = self._next_index % len(images)
                self._next_index += 1
                self._queue.append((index, images[index], int(labels[index])))
            if not self._queue:
                self._finish()
                return
            try:
                self._pending = self._infer(*self._queue.pop(0))
            except SmtjlabError as error:
                self.error.emit(str(error))
                self._finish()
                return
            except Exception as error:  # the last line of defence: a message, not a dead thread
                log.exception("inference failed")
                self.error.emit(f"inference stopped: unexpected {type(error).__name__}: {error}")
                self._finish()
                return
        step = self._pending.pop(0)
        self.step.emit(step)
        if step.final and self._stream and step.label >= 0:
            self._images_done += 1
            self._correct += int(step.prediction == step.label)
            elapsed = time.perf_counter() - self._stream_started
            self.tally.emit(
                InferenceTally(self._images_done, self._correct, elapsed, self._compute_s)
            )

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.streaming.emit(busy)

    def _finish(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._pending = []
        self._queue = []
        self._set_busy(False)

    def _infer(self, index: int, image: np.ndarray, label: int) -> list[InferenceStep]:
        if self._engine is None:
            raise SmtjlabError("no network is loaded (see the model line for why)")
        engine, checkpoint = self._engine, self._checkpoint
        start = time.perf_counter()
        result = engine.forward(image.reshape(1, 28, 28), record=True)
        self._compute_s += time.perf_counter() - start
        # The output layer's weight streams as the engine programmed them (drawn once).
        output = checkpoint.layers[-1]
        trajectory = counter_trajectory(
            result.streams[-1][0],
            engine.weight_streams[-1],
            np.sign(output.weights),
            checkpoint.encoding,
            engine.length,
        )
        if not np.array_equal(trajectory[-1], result.sums[-1][0]):
            raise SmtjlabError(
                "the counter replay disagrees with the engine's output counters "
                f"({trajectory[-1].tolist()} vs {result.sums[-1][0].tolist()})"
            )
        cycles = np.unique(np.linspace(1, engine.length, STEPS_PER_IMAGE).round().astype(int))
        return [
            InferenceStep(
                image_index=index,
                image=image,
                label=label,
                counts=trajectory[t - 1],
                bits_done=int(t),
                length=engine.length,
                final=bool(t == engine.length),
                prediction=int(np.argmax(self._scores_at(trajectory[t - 1], int(t)))),
                model=self._model_name,
                bits=self._bits_name,
            )
            for t in cycles
        ]

    def _scores_at(self, counts: np.ndarray, cycles: int) -> np.ndarray:
        """Output scores s·D/t + b estimated from the first t cycles (exact at t = L)."""
        output = self._checkpoint.layers[-1]
        return output.scale * np.asarray(counts) / cycles + output.bias


def energy_summary(checkpoint, length: int) -> tuple[str, str]:
    """The per-image energy and latency estimate of `inference.energy`, for the view.

    Returns the panel's HTML (the figures and what the two ratios mean) and its tooltip (where
    the activation ratio comes from, item by item, and why it is not the paper's).
    """
    from dataclasses import replace

    from smtjlab.gui.style import si
    from smtjlab.inference import energy

    params = energy.EnergyParameters()
    found = energy.compare(params, checkpoint.widths, checkpoint.states, length)
    whole, act, ratios = found["inference"], found["activation"], found["ratios"]
    paper = found["paper"]
    rows = "".join(
        f"<tr><td>{title}</td><td>{si(whole[key]['energy'], 'J')}</td>"
        f"<td>{si(whole[key]['latency'], 's')}</td><td>{si(act[key]['latency'], 's')}</td></tr>"
        for key, title in (("quantized", "quantized (this)"), ("analog", "analog s-MTJ"))
    )
    items = whole["quantized"]["items"]
    activations = items["activations"] / whole["quantized"]["energy"]
    weights = items["weight streams"] / whole["quantized"]["energy"]
    html = (
        "<table cellspacing='4'><tr><th></th><th>energy</th><th>latency</th>"
        f"<th>one activation</th></tr>{rows}</table>"
        f"Per image, analog ÷ quantized {ratios['inference_energy']:.2f}×: all activations "
        f"together are only {100 * activations:.2f} % of an image's energy, the weight "
        f"streams' device bits {100 * weights:.0f} %.<br>"
        f"One activation, analog ÷ quantized: latency {ratios['activation_latency']:.1f}× "
        f"(paper {paper['activation_latency']:g}×); energy "
        f"{ratios['activation_energy']:.2f}× (paper {paper['energy']:g}×; below 1× the "
        "quantized activation costs more here). Hover for why; docs/energy-model.md."
    )

    def itemised(design: str) -> str:
        # The multiplexer's energy is paid per bit, not per activation: it is listed as such.
        parts = [
            f"{name} {si(item['energy'], 'J')}"
            for name, item in act[design]["items"].items()
            if item["energy"]
        ]
        per_bit = act[design]["mux_energy_per_bit"]
        if per_bit:
            parts.append(
                f"multiplexer crossed by each of the L = {length} bits {si(length * per_bit, 'J')}"
            )
        return " + ".join(parts) + f" = {si(act[design]['energy'], 'J')}"

    slow = energy.compare(
        replace(params, tau_c=10e-9), checkpoint.widths, checkpoint.states, length
    )
    tooltip = (  # rich text, so Qt wraps its lines
        "<p>What the activation energy ratio compares (one neuron, count → first output "
        f"bit):<br>analog: {itemised('analog')}<br>quantized: {itemised('quantized')}</p>"
        "<p>The per-operation figures are from the literature (45 nm logic, a "
        f"{params.dac_bits}-bit C-DAC, τc = {si(params.tau_c, 's')}); none was tuned to the "
        "paper, whose own energy model is not available. Its 2.6× needs a costlier analog "
        "path than modelled here (a higher-resolution or current-steering DAC, a buffer per "
        "neuron) or slower devices, whose bias burns longer: at τc = 10 ns this model gives "
        f"{slow['ratios']['activation_energy']:.2f}×.</p>"
        "<p>Per image the activations are a small share, so this ratio barely moves the "
        "image's energy.</p>"
    )
    return html, tooltip
