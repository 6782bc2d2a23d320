"""Live inference view: pick or draw a digit, watch the output counters grow bit by bit."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)
from smtjlab.gui.canvas import DigitCanvas
from smtjlab.gui.messages import InferenceStep, InferenceTally
from smtjlab.gui.style import BAR_BRUSH, BIG_NUMBER, LEADER_BRUSH, WINNER_BRUSH, WRONG_BRUSH
from smtjlab.inference.checkpoint import shipped_name
from smtjlab.inference.encoding import Encoding

LENGTHS = (100, 200, 300, 400, 500)
HISTORY = 12


@dataclass(frozen=True)
class ModelChoice:
    """Which shipped network to run, and at which bitstream length."""

    hidden_layers: int
    states: int
    length: int
    encoding: str = Encoding.SIGN_MAGNITUDE.value

    @property
    def checkpoint(self) -> str:
        return shipped_name(self.hidden_layers, self.states, "sc", self.encoding)


class InferenceView(QWidget):
    """Controls for the SC network, the growing counters, and the running accuracy."""

    classify_requested = Signal(object, int, int)  # image (28, 28) uint8, label, test index
    stream_requested = Signal()
    stop_requested = Signal()
    model_changed = Signal(object)  # ModelChoice
    image_requested = Signal(int)  # test-set index to show

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.hidden = QComboBox()
        self.hidden.addItems(["1 hidden layer", "3 hidden layers"])
        self.states = QComboBox()
        self.states.addItems(["5 states", "11 states"])
        self.encoding = QComboBox()
        self.encoding.addItems([encoding.value for encoding in Encoding])
        self.length = QComboBox()
        self.length.addItems([str(n) for n in LENGTHS])
        model_box = QGroupBox("Network (shipped SC-trained checkpoints)")
        model_form = QFormLayout(model_box)
        model_form.addRow("depth:", self.hidden)
        model_form.addRow("quantization:", self.states)
        model_form.addRow("encoding:", self.encoding)
        model_form.addRow("bitstream length L:", self.length)
        self.model_label = QLabel("")
        self.model_label.setWordWrap(True)
        # Room for five lines, so the controls below do not jump when the text changes.
        self.model_label.setMinimumHeight(5 * self.model_label.fontMetrics().lineSpacing())
        self.model_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        model_form.addRow(self.model_label)

        self.canvas = DigitCanvas()
        self.index = QSpinBox()
        self.index.setRange(0, 9999)
        self.index.setPrefix("test #")
        self.random_button = QPushButton("Random")
        self.clear_button = QPushButton("Clear / draw")
        self.classify_button = QPushButton("Classify this digit")
        self.source_label = QLabel("")
        self.source_label.setWordWrap(True)
        # Room for two lines whatever the text, so the buttons below never move under the mouse.
        self.source_label.setFixedHeight(2 * self.source_label.fontMetrics().lineSpacing() + 2)
        image_box = QGroupBox("Digit: an MNIST test image, or draw one")
        image_layout = QVBoxLayout(image_box)
        picker = QHBoxLayout()
        picker.addWidget(self.index, 1)
        picker.addWidget(self.random_button)
        image_layout.addLayout(picker)
        image_layout.addWidget(self.canvas, 0, Qt.AlignmentFlag.AlignHCenter)
        image_layout.addWidget(self.source_label)
        buttons = QHBoxLayout()
        buttons.addWidget(self.clear_button)
        buttons.addWidget(self.classify_button)
        image_layout.addLayout(buttons)

        self.stream_button = QPushButton("Stream test images")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)

        left = QVBoxLayout()
        left.addWidget(model_box)
        left.addWidget(image_box)
        stream = QHBoxLayout()
        stream.addWidget(self.stream_button)
        stream.addWidget(self.stop_button)
        left.addLayout(stream)
        left.addStretch(1)

        self.counter_plot = pg.PlotWidget()
        self.counter_plot.setLabel("bottom", "class")
        self.counter_plot.setLabel("left", "output counter")
        self.counter_plot.setMouseEnabled(x=False, y=False)
        self.counter_plot.hideButtons()
        self.counter_plot.getAxis("bottom").setTicks([[(i, str(i)) for i in range(10)]])
        self.counter_plot.setXRange(-0.6, 9.6, padding=0)
        self.counter_plot.setYRange(0, 1, padding=0)
        self.counter_plot.getAxis("left").enableAutoSIPrefix(False)
        self.bars = pg.BarGraphItem(
            x=np.arange(10), height=np.zeros(10), width=0.7, brush=BAR_BRUSH
        )
        self.counter_plot.addItem(self.bars)
        self.counter_plot.setTitle("Output-layer counters")

        self.prediction_label = QLabel("–")
        self.prediction_label.setStyleSheet(BIG_NUMBER)
        self.truth_label = QLabel("")
        self.accuracy_label = QLabel("–")
        self.accuracy_label.setStyleSheet(BIG_NUMBER)
        self.rate_label = QLabel("")
        self.energy_label = QLabel("")
        self.energy_label.setWordWrap(True)
        self.energy_label.setTextFormat(Qt.TextFormat.RichText)

        result_box = QGroupBox("Decision")
        result_form = QFormLayout(result_box)
        result_form.addRow("prediction:", self.prediction_label)
        result_form.addRow("true label:", self.truth_label)
        tally_box = QGroupBox("Running accuracy over the stream")
        tally_form = QFormLayout(tally_box)
        tally_form.addRow("accuracy:", self.accuracy_label)
        tally_form.addRow("throughput:", self.rate_label)
        energy_box = QGroupBox("Energy and latency estimate (per image)")
        energy_layout = QVBoxLayout(energy_box)
        energy_layout.addWidget(self.energy_label)

        self.history = QHBoxLayout()
        self.history.setSpacing(6)
        self.history_items: list[tuple[QLabel, QLabel]] = []
        for _ in range(HISTORY):
            thumb, caption = QLabel(), QLabel()
            thumb.setFixedSize(40, 40)
            thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
            caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
            item = QVBoxLayout()
            item.setSpacing(1)
            item.addWidget(thumb)
            item.addWidget(caption)
            self.history.addLayout(item)
            self.history_items.append((thumb, caption))
        self.history.addStretch(1)
        history_box = QGroupBox("Recent images: prediction (red = wrong)")
        history_box.setLayout(self.history)

        # Wide enough for the longest text each box shows ("4 …", the throughput line), so
        # the row does not shift when the first result arrives.
        char = self.fontMetrics().averageCharWidth()
        result_box.setMinimumWidth(21 * char)
        tally_box.setMinimumWidth(58 * char)
        results = QHBoxLayout()
        results.addWidget(result_box)
        results.addWidget(tally_box)
        results.addWidget(energy_box, 1)

        right = QVBoxLayout()
        right.addWidget(self.counter_plot, 1)
        right.addLayout(results)
        right.addWidget(history_box)

        layout = QHBoxLayout(self)
        left_widget = QWidget()
        left_widget.setLayout(left)
        left_widget.setFixedWidth(320)
        layout.addWidget(left_widget)
        layout.addLayout(right, 1)

        for combo in (self.hidden, self.states, self.encoding, self.length):
            combo.currentIndexChanged.connect(lambda _: self.model_changed.emit(self.choice()))
        self.index.valueChanged.connect(self.image_requested.emit)
        self.random_button.clicked.connect(self._random_image)
        self.clear_button.clicked.connect(self._start_drawing)
        self.canvas.stroke_finished.connect(self._drawn)
        self.classify_button.clicked.connect(self._classify_current)
        self.stream_button.clicked.connect(self.stream_requested.emit)
        self.stop_button.clicked.connect(self.stop_requested.emit)
        self._current: tuple[int, int] = (-1, -1)  # (test index, label) of the canvas image
        self._history: list[tuple[np.ndarray, int, int]] = []
        self._rng = np.random.default_rng()

    def choice(self) -> ModelChoice:
        return ModelChoice(
            hidden_layers=1 if self.hidden.currentIndex() == 0 else 3,
            states=5 if self.states.currentIndex() == 0 else 11,
            length=int(self.length.currentText()),
            encoding=self.encoding.currentText(),
        )

    def set_choice(self, choice: ModelChoice) -> None:
        self.hidden.setCurrentIndex(0 if choice.hidden_layers == 1 else 1)
        self.states.setCurrentIndex(0 if choice.states == 5 else 1)
        self.encoding.setCurrentText(choice.encoding)
        self.length.setCurrentText(str(choice.length))

    def set_streaming(self, streaming: bool) -> None:
        self.stream_button.setEnabled(not streaming)
        self.stop_button.setEnabled(streaming)
        self.classify_button.setEnabled(not streaming)
        for widget in (self.hidden, self.states, self.encoding, self.length):
            widget.setEnabled(not streaming)

    def show_model(self, text: str) -> None:
        self.model_label.setText(text)

    def show_test_image(self, index: int, image: np.ndarray, label: int) -> None:
        self._current = (index, label)
        self.canvas.set_image(image)
        self.source_label.setText(f"MNIST test image #{index} (label {label})")

    def show_step(self, step: InferenceStep) -> None:
        if step.image_index >= 0 and step.image_index != self._current[0]:
            self._current = (step.image_index, step.label)
            self.canvas.set_image(step.image)
            self.index.blockSignals(True)
            self.index.setValue(step.image_index)
            self.index.blockSignals(False)
            self.source_label.setText(f"MNIST test image #{step.image_index} (label {step.label})")
        counts = np.asarray(step.counts, dtype=float)
        winner = step.prediction
        brushes = [BAR_BRUSH] * 10
        correct = step.label < 0 or winner == step.label
        # The leader is amber while bits still arrive; green or red once the decision is final.
        brushes[winner] = (WINNER_BRUSH if correct else WRONG_BRUSH) if step.final else LEADER_BRUSH
        self.bars.setOpts(height=counts, brushes=brushes)
        top = max(float(counts.max()), 1.0)
        low = min(float(counts.min()), 0.0)
        margin = 0.05 * (top - low)
        self.counter_plot.setYRange(low - (margin if low < 0 else 0), top + margin, padding=0)
        self.counter_plot.setTitle(
            f"Output-layer counters after {step.bits_done} of {step.length} clock cycles"
        )
        self.prediction_label.setText(str(winner) if step.final else f"{winner} …")
        self.truth_label.setText(str(step.label) if step.label >= 0 else "(drawn)")
        if step.final:
            self._remember(step.image, winner, step.label)

    def show_tally(self, tally: InferenceTally) -> None:
        self.accuracy_label.setText(
            f"{100 * tally.accuracy:.1f} %  ({tally.correct}/{tally.images})"
        )
        self.rate_label.setText(f"{tally.images_per_s:.1f} images/s (engine, one image a call)")

    def show_energy(self, html: str) -> None:
        self.energy_label.setText(html)

    def _remember(self, image: np.ndarray, predicted: int, label: int) -> None:
        self._history.insert(0, (image, predicted, label))
        del self._history[HISTORY:]
        for (thumb_label, caption), (thumb, guess, truth) in zip(
            self.history_items, self._history, strict=False
        ):
            picture = np.ascontiguousarray(255 - thumb)
            qimage = QImage(picture.data, 28, 28, 28, QImage.Format.Format_Grayscale8).copy()
            thumb_label.setPixmap(QPixmap.fromImage(qimage).scaled(36, 36))
            wrong = truth >= 0 and guess != truth
            thumb_label.setStyleSheet("border: 2px solid #c62828;" if wrong else "")
            caption.setText(f"<b>{guess}</b>")
            caption.setStyleSheet("color: #b00020;" if wrong else "color: #0a6b2a;")
            caption.setToolTip(f"predicted {guess}, label {truth}")

    def _random_image(self) -> None:
        self.index.setValue(int(self._rng.integers(0, 10000)))

    def _start_drawing(self) -> None:
        self._current = (-1, -1)
        self.canvas.clear()
        self.source_label.setText("Drawing: use the mouse, then Classify.")

    def _drawn(self) -> None:
        self._current = (-1, -1)
        self.source_label.setText("Your drawing (centred the MNIST way when classified).")

    def _classify_current(self) -> None:
        index, label = self._current
        # A test image is sent by index so the worker uses the exact pixels, not the canvas copy.
        image = None if index >= 0 else self.canvas.image()
        self.classify_requested.emit(image, label, index)
