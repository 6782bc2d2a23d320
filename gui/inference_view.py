"""Live inference view: pick or draw a digit, watch the output counters grow bit by bit.

Beside the counters it keeps the run's results (`gui/run_results.py`): the accuracy over every
labelled image since the window opened or since Reset, a confusion matrix with the per-class
tally, every misclassified image, and File → Export results.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSettings, QSize, Qt, Signal
from PySide6.QtGui import QAction, QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from smtjlab.gui.canvas import DigitCanvas
from smtjlab.gui.confusion_view import ConfusionView
from smtjlab.gui.messages import InferenceStep, InferenceTally
from smtjlab.gui.run_results import Classified, RunResults, confusion_path
from smtjlab.gui.style import (
    BAR_BRUSH,
    BIG_NUMBER,
    DECIDED_BRUSH,
    ERROR_TEXT,
    LEADER_BRUSH,
    NEUTRAL_TEXT,
    OK_TEXT,
    WINNER_BRUSH,
    WRONG_BRUSH,
)
from smtjlab.inference.checkpoint import shipped_name
from smtjlab.inference.encoding import Encoding

from smtjlab.errors import SmtjlabError

log = logging.getLogger("smtjlab.gui.inference")

LENGTHS = (100, 200, 300, 400, 500)
HISTORY = 12
THUMB = 36  # px, the thumbnails of the recent strip and the misclassified list


@dataclass(frozen=True)
class ModelChoice:
    """Which network to run (a shipped one, or a checkpoint file), at which bitstream length."""

    hidden_layers: int
    states: int
    length: int
    encoding: str = Encoding.SIGN_MAGNITUDE.value
    path: str = ""  # a checkpoint file loaded with File → Load model…

    @property
    def checkpoint(self) -> str:
        return self.path or shipped_name(self.hidden_layers, self.states, "sc", self.encoding)


class InferenceView(QWidget):
    """Controls for the SC network, the growing counters, and the running accuracy."""

    classify_requested = Signal(object, int, int)  # image (28, 28) uint8, label, test index
    stream_requested = Signal()
    stop_requested = Signal()
    model_changed = Signal(object)  # ModelChoice
    image_requested = Signal(int)  # test-set index to show
    results_changed = Signal(str)  # the run's tally in one line, for the status bar

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.hidden = QComboBox()
        self.hidden.setToolTip("Depth of the shipped network (File → Load model… runs any other)")
        self.hidden.addItems(["1 hidden layer", "3 hidden layers"])
        self.states = QComboBox()
        self.states.setToolTip("Quantization states of weights and activations")
        self.states.addItems(["5 states", "11 states"])
        self.encoding = QComboBox()
        self.encoding.setToolTip("Stream encoding of the shipped network (docs/sc-semantics.md)")
        self.encoding.addItems([encoding.value for encoding in Encoding])
        self.length = QComboBox()
        self.length.setToolTip("Bitstream length L: clock cycles per image")
        self.length.addItems([str(n) for n in LENGTHS])
        model_box = QGroupBox("Network (shipped SC-trained checkpoints)")
        model_form = QFormLayout(model_box)
        model_form.setVerticalSpacing(2)  # four rows of choices in a 768-pixel-high window
        model_form.addRow("depth:", self.hidden)
        model_form.addRow("quantization:", self.states)
        model_form.addRow("encoding:", self.encoding)
        model_form.addRow("bitstream length L:", self.length)
        self.model_label = QLabel("")
        self.model_label.setWordWrap(True)
        # Room for four lines, so the controls below do not jump when the text changes (five
        # would push the window past a 768-pixel-high screen, with the encoding row).
        self.model_label.setMinimumHeight(4 * self.model_label.fontMetrics().lineSpacing())
        self.model_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        model_form.addRow(self.model_label)

        self.canvas = DigitCanvas()
        self.index = QSpinBox()
        self.index.setToolTip("The MNIST test image to classify")
        self.index.setRange(0, 9999)
        self.index.setPrefix("test #")
        self.random_button = QPushButton("Random")
        self.random_button.setToolTip("Pick a random MNIST test image")
        self.clear_button = QPushButton("Clear / draw")
        self.clear_button.setToolTip("Clear the canvas and draw a digit with the mouse")
        self.classify_button = QPushButton("Classify this digit")
        self.classify_button.setToolTip("Run this digit once through the SC network")
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
        self.stream_button.setToolTip(
            "Classify test images one after another, with a running accuracy"
        )
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop the stream after the image in progress")
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
        self.confusion_view = ConfusionView()
        self.errors_list = QListWidget()
        self.errors_list.setViewMode(QListView.ViewMode.IconMode)
        self.errors_list.setIconSize(QSize(THUMB, THUMB))
        self.errors_list.setResizeMode(QListView.ResizeMode.Adjust)
        self.errors_list.setMovement(QListView.Movement.Static)
        self.errors_list.setUniformItemSizes(True)
        self.errors_list.setToolTip("Every misclassified image of this run: label → prediction")
        self.panels = QTabWidget()
        self.panels.addTab(self.counter_plot, "Output counters")
        self.panels.addTab(self.confusion_view, "Confusion matrix")
        self.panels.addTab(self.errors_list, "")

        self.prediction_label = QLabel("–")
        self.prediction_label.setStyleSheet(BIG_NUMBER)
        self.truth_label = QLabel("")
        self.accuracy_label = QLabel("–")
        self.accuracy_label.setStyleSheet(BIG_NUMBER)
        self.accuracy_label.setToolTip(
            "Right / labelled images since the window opened or since Reset, streamed or "
            "classified one at a time. Drawn digits have no label and are not counted."
        )
        self.run_label = QLabel("")
        self.run_label.setWordWrap(True)
        self.rate_label = QLabel("–")
        self.rate_label.setToolTip(
            "Images of the current stream over its wall time, display pacing included; "
            "in brackets what the engine alone would do (images over the time spent in it)."
        )
        self.reset_button = QPushButton("Reset")
        self.reset_button.setToolTip("Start a new run: clear the accuracy, tally and errors")
        self.export_action = QAction("Export results…", self)
        self.export_action.setToolTip(
            "Write every classified image of this run (CSV) and the confusion matrix (CSV)"
        )
        self.export_button = QToolButton()
        self.export_button.setDefaultAction(self.export_action)
        self.export_message = QLabel("")
        self.export_message.setWordWrap(True)
        self.energy_label = QLabel("")
        self.energy_label.setWordWrap(True)
        self.energy_label.setTextFormat(Qt.TextFormat.RichText)

        result_box = QGroupBox("Decision")
        result_form = QFormLayout(result_box)
        result_form.addRow("prediction:", self.prediction_label)
        result_form.addRow("true label:", self.truth_label)
        tally_box = QGroupBox("Accuracy over this run")
        tally_form = QFormLayout(tally_box)
        tally_form.addRow("accuracy:", self.accuracy_label)
        tally_form.addRow(self.run_label)
        tally_form.addRow("throughput:", self.rate_label)
        run_buttons = QHBoxLayout()
        run_buttons.addWidget(self.reset_button)
        run_buttons.addWidget(self.export_button)
        run_buttons.addStretch(1)
        tally_form.addRow(run_buttons)
        tally_form.addRow(self.export_message)
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
        history_box = QGroupBox(
            "Recent images: prediction (green = right, red = wrong, grey = drawn, no label)"
        )
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
        right.addWidget(self.panels, 1)
        right.addLayout(results)
        right.addWidget(history_box)

        layout = QHBoxLayout(self)
        left_widget = QWidget()
        left_widget.setLayout(left)
        left_widget.setFixedWidth(320)
        layout.addWidget(left_widget)
        layout.addLayout(right, 1)

        self._file: ModelChoice | None = None  # a loaded checkpoint file, until a shipped pick
        for combo in (self.hidden, self.states, self.encoding):
            combo.currentIndexChanged.connect(self._shipped_chosen)
        for combo in (self.hidden, self.states, self.encoding, self.length):
            combo.currentIndexChanged.connect(self._model_changed)
        self.index.valueChanged.connect(self.image_requested.emit)
        self.random_button.clicked.connect(self._random_image)
        self.clear_button.clicked.connect(self._start_drawing)
        self.canvas.stroke_finished.connect(self._drawn)
        self.classify_button.clicked.connect(self._classify_current)
        self.stream_button.clicked.connect(self.stream_requested.emit)
        self.stop_button.clicked.connect(self.stop_requested.emit)
        self.reset_button.clicked.connect(self.reset_results)
        self.export_action.triggered.connect(self._choose_export)
        self._current: tuple[int, int] = (-1, -1)  # (test index, label) of the canvas image
        self._history: list[tuple[np.ndarray, int, int]] = []
        self._rng = np.random.default_rng()
        self._last_step: InferenceStep | None = None
        self.results = RunResults()
        self._run_started = "since the window opened"
        self._show_results()

    def choice(self) -> ModelChoice:
        if self._file is not None:
            return replace(self._file, length=int(self.length.currentText()))
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

    def use_file(self, choice: ModelChoice) -> None:
        """Run the checkpoint file of `choice` (its depth and states read from the file)."""
        self._file = choice
        self.model_changed.emit(self.choice())

    def _shipped_chosen(self, _: int) -> None:
        self._file = None

    def set_streaming(self, streaming: bool) -> None:
        """The network is busy (a stream, or one image) or idle again."""
        self.stream_button.setEnabled(not streaming)
        self.stop_button.setEnabled(streaming)
        self.classify_button.setEnabled(not streaming)
        for widget in (self.hidden, self.states, self.encoding, self.length):
            widget.setEnabled(not streaming)
        step = self._last_step
        if not streaming and step is not None and not step.final:
            # Stopped half-way through an image: its counters are no decision.
            what = f"test image #{step.image_index}" if step.image_index >= 0 else "the drawing"
            self._clear_counters(
                f"Stopped after {step.bits_done} of {step.length} cycles: {what} was not classified"
            )
            self._last_step = None

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
        # The leader is amber while bits still arrive; once the decision is final it is green
        # (right), red (wrong) or grey (a drawn digit: no label to judge it by).
        if not step.final:
            brushes[winner] = LEADER_BRUSH
        elif step.label < 0:
            brushes[winner] = DECIDED_BRUSH
        else:
            brushes[winner] = WINNER_BRUSH if winner == step.label else WRONG_BRUSH
        self._last_step = step
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
            row = self.results.add(step)
            self._remember(step.image, winner, step.label)
            if row.wrong:
                self._add_error(step.image, row)
            self._show_results()

    def show_tally(self, tally: InferenceTally) -> None:
        """The current stream's throughput (the accuracy is the run's, from the results)."""
        self.rate_label.setText(
            f"{tally.images_per_s:.1f} images/s ({tally.images} in {tally.elapsed_s:.1f} s; "
            f"engine alone {tally.engine_images_per_s:.0f}/s)"
        )

    def reset_results(self) -> None:
        """Start a new run: the accuracy, tally, confusion matrix and errors start from zero."""
        self.results.reset()
        self.errors_list.clear()
        self._run_started = f"since Reset at {time.strftime('%H:%M:%S')}"
        self.rate_label.setText("–")
        self._show_results()

    def export_results(self, path: str | Path, force: bool = False) -> tuple[Path, Path]:
        """Write the run's results CSV and its confusion matrix beside it; the paths written.

        Refuses an existing file unless `force` (an `OutputError`, nothing written).
        """
        written = self.results.export(path, force=force)
        text = (
            f"Exported {len(self.results.rows)} images to {written[0].name} and {written[1].name}."
        )
        self.export_message.setStyleSheet(OK_TEXT)
        self.export_message.setText(text)
        log.info("%s (%s)", text, written[0].parent)
        return written

    def show_energy(self, html: str, tooltip: str) -> None:
        self.energy_label.setText(html)
        self.energy_label.setToolTip(tooltip)

    def _model_changed(self) -> None:
        # The counters shown belong to the previous network: clear them before the new one loads.
        self._last_step = None
        self._clear_counters("Output-layer counters (network changed: classify or stream)")
        self.model_changed.emit(self.choice())

    def _clear_counters(self, title: str) -> None:
        self.bars.setOpts(height=np.zeros(10), brushes=[BAR_BRUSH] * 10)
        self.counter_plot.setYRange(0, 1, padding=0)
        self.counter_plot.setTitle(title)
        self.prediction_label.setText("–")

    def _show_results(self) -> None:
        results = self.results
        self.accuracy_label.setText(
            f"{100 * results.accuracy:.1f} %  ({results.correct}/{results.images})"
            if results.images
            else "–"
        )
        notes = [self._run_started]
        if results.unlabelled:
            notes.append(f"{results.unlabelled} drawn digits not counted (no label)")
        models = results.models()
        if len(models) > 1:
            notes.append(f"mixes {len(models)} networks: {'; '.join(models)}")
        self.run_label.setText("; ".join(notes))
        self.confusion_view.show_matrix(results.confusion)
        errors = self.errors_list.count()
        self.panels.setTabText(2, f"Misclassified ({errors})")
        self.export_action.setEnabled(bool(results.rows))
        self.results_changed.emit(results.summary())

    def _add_error(self, image: np.ndarray, row: Classified) -> None:
        item = QListWidgetItem(QIcon(thumbnail(image)), f"{row.label}→{row.prediction}")
        where = f"test image #{row.test_image}" if row.test_image >= 0 else "a drawing"
        item.setToolTip(
            f"{where}: label {row.label}, predicted {row.prediction} ({row.model}, "
            f"L = {row.length}, {row.bits})"
        )
        self.errors_list.addItem(item)

    def _remember(self, image: np.ndarray, predicted: int, label: int) -> None:
        self._history.insert(0, (image, predicted, label))
        del self._history[HISTORY:]
        for (thumb_label, caption), (thumb, guess, truth) in zip(
            self.history_items, self._history, strict=False
        ):
            thumb_label.setPixmap(thumbnail(thumb))
            wrong = truth >= 0 and guess != truth
            thumb_label.setStyleSheet("border: 2px solid #c62828;" if wrong else "")
            caption.setText(f"<b>{guess}</b>")
            if truth < 0:
                caption.setStyleSheet(NEUTRAL_TEXT)
                caption.setToolTip(f"predicted {guess}; a drawn digit, no label")
            else:
                caption.setStyleSheet(ERROR_TEXT if wrong else OK_TEXT)
                caption.setToolTip(f"predicted {guess}, label {truth}")

    def _choose_export(self) -> None:
        start = Path(str(QSettings().value("last_folder", str(Path.cwd())))) / "results.csv"
        path, _ = QFileDialog.getSaveFileName(
            self,
            "Export results (CSV; the confusion matrix goes beside it)",
            str(start),
            "CSV (*.csv)",
            options=QFileDialog.Option.DontConfirmOverwrite,
        )
        if not path:
            return
        QSettings().setValue("last_folder", str(Path(path).parent))
        existing = [p.name for p in (Path(path), confusion_path(path)) if p.exists()]
        force = False
        if existing:
            answer = QMessageBox.question(
                self, "Replace files?", f"Replace {' and '.join(existing)}?"
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
            force = True
        try:
            self.export_results(path, force=force)
        except (SmtjlabError, OSError) as error:  # refused, or the disk said no mid-write
            self.export_message.setStyleSheet(ERROR_TEXT)
            self.export_message.setText(f"Not exported: {error}")
            log.error("results not exported: %s", error)

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


def thumbnail(image: np.ndarray) -> QPixmap:
    """A 28×28 digit, dark ink on white, scaled to the strips' thumbnail size."""
    picture = np.ascontiguousarray(255 - np.asarray(image, dtype=np.uint8).reshape(28, 28))
    qimage = QImage(picture.data, 28, 28, 28, QImage.Format.Format_Grayscale8).copy()
    return QPixmap.fromImage(qimage).scaled(THUMB, THUMB)
