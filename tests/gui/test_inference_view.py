"""The inference view: the run's accuracy, tally and errors, no stale counters, the export."""

import csv

import numpy as np
import pytest
from PySide6.QtWidgets import QFileDialog, QMessageBox
from smtjlab.gui.inference_view import InferenceView, ModelChoice
from smtjlab.gui.inference_worker import InferenceWorker
from smtjlab.gui.messages import InferenceStep, InferenceTally
from smtjlab.gui.style import DECIDED_BRUSH, NEUTRAL_TEXT, WINNER_BRUSH
from smtjlab.gui.window import LabWindow
from smtjlab.inference.checkpoint import SHIPPED_NAMES, load_checkpoint

TIMEOUT = 30_000


def step(label, prediction, final=True, index=7, bits_done=100):
    counts = np.zeros(10)
    counts[prediction] = bits_done
    return InferenceStep(
        image_index=index,
        image=np.zeros((28, 28), np.uint8),
        label=label,
        counts=counts,
        bits_done=bits_done,
        length=100,
        final=final,
        prediction=prediction,
        model="tiny.npz",
        bits="ideal PRNG",
    )


@pytest.fixture
def view(qtbot):
    view = InferenceView()
    qtbot.addWidget(view)
    return view


def heights(view):
    return np.asarray(view.bars.opts["height"], dtype=float)


def test_accuracy_covers_the_whole_run_until_reset(view, qtbot):
    labels = [3, 1, 4, 1, 5, 9, 2, 6]
    predictions = [3, 1, 4, 7, 5, 9, 0, 6]
    view.set_streaming(True)
    for label, prediction in zip(labels[:4], predictions[:4], strict=True):
        view.show_step(step(label, prediction))
    view.set_streaming(False)  # a second stream, or single images, add to the same run
    view.set_streaming(True)
    for label, prediction in zip(labels[4:], predictions[4:], strict=True):
        view.show_step(step(label, prediction))
    view.show_step(step(-1, 8, index=-1))  # a drawn digit: not counted
    assert view.accuracy_label.text().endswith("(6/8)")
    assert "1 drawn digits not counted" in view.run_label.text()
    confusion = view.results.confusion
    assert confusion.sum() == 8 and confusion[1, 7] == 1 and confusion[2, 0] == 1
    table = view.confusion_view.table
    shown = sum(int(table.item(r, c).text() or 0) for r in range(10) for c in range(10))
    assert shown == 8
    assert [table.item(1, c).text() for c in (10, 11, 12)] == ["2", "1", "50.0 %"]
    assert view.errors_list.count() == 2 and view.panels.tabText(2) == "Misclassified (2)"

    with qtbot.waitSignal(view.results_changed) as status:  # the status bar line
        view.reset_button.click()
    assert status.args == ["inference –"]
    assert view.accuracy_label.text() == "–" and view.results.images == 0
    assert view.errors_list.count() == 0 and "since Reset" in view.run_label.text()
    view.show_step(step(2, 2))
    assert view.accuracy_label.text().endswith("(1/1)")


def test_every_error_of_the_run_is_kept(view):
    for k in range(40):
        view.show_step(step(k % 10, (k + 1) % 10, index=k))
    assert view.errors_list.count() == 40  # the recent strip holds 12; the list holds all
    assert view.panels.tabText(2) == "Misclassified (40)"
    assert "label 9, predicted 0" in view.errors_list.item(9).toolTip()


def test_a_drawn_digit_is_neutral_not_green(view):
    view.show_step(step(-1, 4, index=-1))
    caption = view.history_items[0][1]
    assert caption.styleSheet() == NEUTRAL_TEXT
    assert "no label" in caption.toolTip()
    brushes = view.bars.opts["brushes"]
    assert brushes[4] is DECIDED_BRUSH and brushes[4] is not WINNER_BRUSH
    view.show_step(step(4, 4))
    assert view.bars.opts["brushes"][4] is WINNER_BRUSH
    assert "0a6b2a" in view.history_items[0][1].styleSheet()  # green: right


def test_a_model_change_clears_the_previous_models_counters(view, qtbot):
    view.show_step(step(5, 5))
    assert heights(view).sum() > 0
    with qtbot.waitSignal(view.model_changed):
        view.states.setCurrentIndex(1)
    assert heights(view).sum() == 0 and view.prediction_label.text() == "–"
    assert "network changed" in view.counter_plot.getPlotItem().titleLabel.text


def test_the_throughput_shown_is_the_streams(view):
    view.show_tally(InferenceTally(images=20, correct=18, elapsed_s=6.0, compute_s=0.5))
    text = view.rate_label.text()
    assert text.startswith("3.3 images/s") and "20 in 6.0 s" in text and "engine alone 40" in text


@pytest.fixture
def window(qtbot, tiny_model):
    # Inference only: no bench is connected, so the network uses ideal PRNG bits.
    window = LabWindow(
        mock=True, inference=InferenceWorker(step_interval_ms=5, resolve=lambda c: str(tiny_model))
    )
    qtbot.addWidget(window)
    window.show()
    window.show_tab("inference")
    yield window
    window.close()


def test_a_stopped_stream_leaves_no_half_counted_image(qtbot, window, in_gui_thread):
    view = window.inference_view
    qtbot.waitUntil(lambda: "L = 100" in view.model_label.text(), timeout=TIMEOUT)
    steps = []
    in_gui_thread(window.inference.step, object).connect(steps.append)
    window.inference.step_interval_ms = 40  # paced, so the stop lands early in an image
    window.start_stream()
    # Stop early in an image: at most one more snapshot is sent, and it is not the last.
    qtbot.waitUntil(lambda: bool(steps) and 1 < steps[-1].bits_done < 40, timeout=TIMEOUT)
    view.stop_button.click()
    qtbot.waitUntil(lambda: view.stream_button.isEnabled(), timeout=TIMEOUT)
    assert not steps[-1].final
    assert heights(view).sum() == 0 and view.prediction_label.text() == "–"
    assert "was not classified" in view.counter_plot.getPlotItem().titleLabel.text


def test_export_after_a_stream_reads_back_as_the_tally(
    qtbot, window, tmp_path, monkeypatch, in_gui_thread
):
    view = window.inference_view
    qtbot.waitUntil(lambda: "L = 100" in view.model_label.text(), timeout=TIMEOUT)
    tallies = []
    in_gui_thread(window.inference.tally, object).connect(tallies.append)
    window.start_stream()
    qtbot.waitUntil(lambda: bool(tallies) and tallies[-1].images >= 15, timeout=TIMEOUT)
    window.stop_action.trigger()
    qtbot.waitUntil(lambda: view.stream_button.isEnabled(), timeout=TIMEOUT)
    results = view.results
    assert results.images >= 15
    assert window.status_inference.text().startswith(f"{tallies[-1].images} images")

    # File → Export results, through the window's menu.
    path = tmp_path / "run.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
    actions = {a.text(): a for a in window.menuBar().actions()[0].menu().actions()}
    actions["Export results…"].trigger()
    assert "Exported" in view.export_message.text()
    with open(path, newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == len(results.rows) == results.images
    assert sum(row["label"] == row["prediction"] for row in rows) == results.correct
    assert {row["bits"] for row in rows} == {"ideal PRNG"}
    assert {row["model"] for row in rows} == {str(window.inference.resolve(None))}
    with open(tmp_path / "run-confusion.csv", newline="", encoding="utf-8") as stream:
        matrix = list(csv.DictReader(stream))
    assert sum(int(row["images"]) for row in matrix) == results.images

    # Again: the files exist, and nothing is replaced unless the user says so.
    monkeypatch.setattr(QMessageBox, "question", lambda *a: QMessageBox.StandardButton.No)
    before = path.read_bytes()
    view.show_step(step(1, 1))
    actions["Export results…"].trigger()
    assert path.read_bytes() == before


def test_every_choice_of_the_model_list_is_a_shipped_sc_trained_checkpoint(qtbot):
    view = InferenceView()
    qtbot.addWidget(view)
    chosen = []
    view.model_changed.connect(chosen.append)
    encodings = [view.encoding.itemText(i) for i in range(view.encoding.count())]
    assert encodings == ["sign-magnitude", "bipolar"]
    names = set()
    for encoding in encodings:
        for hidden in (1, 3):
            for states in (5, 11):
                view.set_choice(ModelChoice(hidden, states, 200, encoding))
                choice = view.choice()
                assert choice == ModelChoice(hidden, states, 200, encoding)
                checkpoint = load_checkpoint(choice.checkpoint)
                assert checkpoint.encoding == encoding and checkpoint.train_mode == "sc"
                names.add(choice.checkpoint)
    assert names == {name for name in SHIPPED_NAMES if "-sc" in name}
    assert chosen[-1].encoding == "bipolar"
