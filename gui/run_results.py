"""The results of a window's run: every classified image, the tally over them, the CSV export.

The inference view keeps one `RunResults` from the moment the window opens (or its Reset):
every image the network decided, streamed or classified one at a time, drawn or from the test
set. Accuracy, the per-class tally and the confusion matrix count the labelled images only;
a drawn digit has no label, so it is neither right nor wrong.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from smtjlab.gui.messages import InferenceStep

from smtjlab.outputs import OutputFile

CLASSES = 10
COUNTER_COLUMNS = tuple(f"D{j}" for j in range(CLASSES))
COLUMNS = (
    "index",  # order in the run, from 0
    "test_image",  # index into the MNIST test set; empty for a drawn digit
    "label",  # empty when unknown (a drawn digit)
    "prediction",
    *COUNTER_COLUMNS,  # the output-layer counters at the end of the bitstream
    "length",  # L, the bitstream length
    "model",
    "bits",  # where the network's bits came from
)
CONFUSION_COLUMNS = ("label", *(f"predicted_{j}" for j in range(CLASSES)), "images", "correct")


@dataclass(frozen=True)
class Classified:
    """One decided image."""

    test_image: int  # -1: a drawn digit
    label: int  # -1: unknown
    prediction: int
    counts: tuple[int, ...]
    length: int
    model: str
    bits: str

    @property
    def labelled(self) -> bool:
        return self.label >= 0

    @property
    def wrong(self) -> bool:
        return self.labelled and self.prediction != self.label


def confusion_path(results: str | os.PathLike) -> Path:
    """The confusion matrix written beside a results file: `run.csv` -> `run-confusion.csv`."""
    path = Path(results)
    return path.with_name(f"{path.stem}-confusion{path.suffix or '.csv'}")


class RunResults:
    """Every image decided since the window opened or since `reset`."""

    def __init__(self) -> None:
        self.rows: list[Classified] = []
        self.confusion = np.zeros((CLASSES, CLASSES), dtype=np.int64)  # [label, prediction]
        self._models: dict[str, None] = {}  # "model, L = n", in order of first use

    def add(self, step: InferenceStep) -> Classified:
        """Record the final step of an image."""
        row = Classified(
            test_image=step.image_index,
            label=step.label,
            prediction=step.prediction,
            counts=tuple(int(c) for c in step.counts),
            length=step.length,
            model=step.model,
            bits=step.bits,
        )
        self.rows.append(row)
        self._models.setdefault(f"{row.model}, L = {row.length}")
        if row.labelled:
            self.confusion[row.label, row.prediction] += 1
        return row

    def reset(self) -> None:
        self.rows.clear()
        self.confusion[:] = 0
        self._models.clear()

    @property
    def images(self) -> int:
        """Labelled images (the ones accuracy counts)."""
        return int(self.confusion.sum())

    @property
    def correct(self) -> int:
        return int(np.trace(self.confusion))

    @property
    def unlabelled(self) -> int:
        return len(self.rows) - self.images

    @property
    def accuracy(self) -> float:
        return self.correct / self.images if self.images else 0.0

    def per_class(self) -> list[tuple[int, int]]:
        """(images, correct) of each true class."""
        return [(int(self.confusion[j].sum()), int(self.confusion[j, j])) for j in range(CLASSES)]

    def models(self) -> list[str]:
        """The distinct "model, L = n" the rows came from, in order of first use."""
        return list(self._models)

    def summary(self) -> str:
        """One line for the status bar."""
        if not self.images:
            return f"{self.unlabelled} drawn digits" if self.unlabelled else "inference –"
        return f"{self.images} images, accuracy {100 * self.accuracy:.1f} % (this run)"

    def export(self, path: str | os.PathLike, force: bool = False) -> tuple[Path, Path]:
        """Write every row to `path` and the confusion matrix beside it (`confusion_path`).

        Both paths are checked before either is written (an existing file is refused unless
        `force`); each is written to a temporary file that replaces it only when complete.
        """
        results = OutputFile(path, force=force)
        confusion = OutputFile(confusion_path(path), force=force)
        with results.writing() as rows_temp, confusion.writing() as matrix_temp:
            with open(rows_temp, "w", newline="", encoding="utf-8") as stream:
                writer = csv.writer(stream)
                writer.writerow(COLUMNS)
                for index, row in enumerate(self.rows):
                    writer.writerow(
                        (
                            index,
                            row.test_image if row.test_image >= 0 else "",
                            row.label if row.labelled else "",
                            row.prediction,
                            *row.counts,
                            row.length,
                            row.model,
                            row.bits,
                        )
                    )
            with open(matrix_temp, "w", newline="", encoding="utf-8") as stream:
                writer = csv.writer(stream)
                writer.writerow(CONFUSION_COLUMNS)
                for label, (images, correct) in enumerate(self.per_class()):
                    writer.writerow((label, *self.confusion[label].tolist(), images, correct))
        return results.path, confusion.path
