"""The run's results: tally, confusion matrix, and the CSV export read back."""

import csv

import numpy as np
import pytest
from smtjlab.gui.messages import InferenceStep
from smtjlab.gui.run_results import COLUMNS, RunResults, confusion_path

from smtjlab.outputs import OutputError


def final_step(label, prediction, index=0, model="mlp1-s5-sc", seed=0):
    counts = np.random.default_rng(seed).integers(-500, 500, size=10)
    return InferenceStep(
        image_index=index,
        image=np.zeros((28, 28), np.uint8),
        label=label,
        counts=counts,
        bits_done=100,
        length=100,
        final=True,
        prediction=prediction,
        model=model,
        bits="ideal PRNG",
    )


@pytest.fixture
def results():
    rng = np.random.default_rng(5)
    run = RunResults()
    for k in range(57):
        label = int(rng.integers(10))
        prediction = label if rng.random() < 0.8 else int(rng.integers(10))
        run.add(final_step(label, prediction, index=k, seed=k))
    run.add(final_step(-1, 3, index=-1, seed=99))  # a drawn digit
    return run


def test_the_tally_counts_labelled_images_only(results):
    assert len(results.rows) == 58 and results.images == 57 and results.unlabelled == 1
    assert results.confusion.sum() == 57
    assert results.correct == sum(row.prediction == row.label for row in results.rows[:57])
    assert sum(images for images, _ in results.per_class()) == 57
    assert sum(correct for _, correct in results.per_class()) == results.correct
    assert sum(row.wrong for row in results.rows) == 57 - results.correct
    assert results.models() == ["mlp1-s5-sc, L = 100"]
    assert not any(row.wrong for row in results.rows if not row.labelled)
    results.reset()
    assert results.images == 0 and not results.rows and results.accuracy == 0.0
    assert results.models() == []


def test_export_reads_back_as_the_tally(results, tmp_path):
    path = tmp_path / "run.csv"
    written = results.export(path)
    assert written == (path, tmp_path / "run-confusion.csv")
    with open(path, newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    assert tuple(rows[0]) == COLUMNS
    assert len(rows) == len(results.rows)
    labelled = [row for row in rows if row["label"] != ""]
    assert len(labelled) == results.images
    assert sum(row["label"] == row["prediction"] for row in labelled) == results.correct
    for row, kept in zip(rows, results.rows, strict=True):
        assert [int(row[f"D{j}"]) for j in range(10)] == list(kept.counts)
        assert int(row["prediction"]) == kept.prediction
        assert (row["model"], row["bits"], row["length"]) == ("mlp1-s5-sc", "ideal PRNG", "100")
    assert rows[-1]["label"] == "" and rows[-1]["test_image"] == ""  # the drawn digit

    with open(written[1], newline="", encoding="utf-8") as stream:
        matrix = list(csv.DictReader(stream))
    counts = np.array([[int(row[f"predicted_{j}"]) for j in range(10)] for row in matrix])
    assert np.array_equal(counts, results.confusion)
    assert sum(int(row["images"]) for row in matrix) == results.images
    assert sum(int(row["correct"]) for row in matrix) == results.correct


def test_export_never_overwrites_silently(results, tmp_path):
    path = tmp_path / "run.csv"
    confusion_path(path).write_text("someone's file\n")
    with pytest.raises(OutputError, match="exists"):
        results.export(path)
    assert not path.exists()  # both paths are checked before either is written
    assert confusion_path(path).read_text() == "someone's file\n"
    results.export(path, force=True)
    assert confusion_path(path).read_text().startswith("label,")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run-confusion.csv", "run.csv"]
