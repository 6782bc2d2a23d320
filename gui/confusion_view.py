"""The confusion matrix and per-class tally of the run, as a table.

Rows are the true labels, columns the predictions; the last three columns are the per-class
tally (images, correct, accuracy). A cell's colour grows with its share of its row: green on
the diagonal, red off it, so the classes the network confuses stand out.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from smtjlab.gui.run_results import CLASSES

TALLY_HEADERS = ("images", "correct", "accuracy")


class ConfusionView(QWidget):
    """A 10 × 10 confusion matrix with a per-class tally beside it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.caption = QLabel("")
        self.caption.setWordWrap(True)
        self.table = QTableWidget(CLASSES, CLASSES + len(TALLY_HEADERS))
        self.table.setHorizontalHeaderLabels(
            [f"→{j}" for j in range(CLASSES)] + list(TALLY_HEADERS)
        )
        self.table.setVerticalHeaderLabels([f"{j}" for j in range(CLASSES)])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setToolTip(
            "Rows: true label; columns →j: predicted j. Counts the labelled images of this run "
            "(drawn digits have no label and are not counted)."
        )
        for row in range(CLASSES):
            for column in range(self.table.columnCount()):
                item = QTableWidgetItem("")
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                self.table.setItem(row, column, item)
        layout = QVBoxLayout(self)
        layout.addWidget(self.caption)
        layout.addWidget(self.table, 1)
        self.show_matrix(np.zeros((CLASSES, CLASSES), dtype=np.int64))

    def show_matrix(self, confusion: np.ndarray) -> None:
        """Draw `confusion[label, prediction]`."""
        total = int(confusion.sum())
        self.caption.setText(
            f"Confusion matrix of this run: {total} labelled images, "
            f"{int(np.trace(confusion))} right. Rows: true label; columns: prediction."
        )
        for label in range(CLASSES):
            row = confusion[label]
            images, correct = int(row.sum()), int(row[label])
            for prediction in range(CLASSES):
                count = int(row[prediction])
                item = self.table.item(label, prediction)
                item.setText(str(count) if count else "")
                share = count / images if images else 0.0
                red, green = (0, 150) if prediction == label else (200, 40)
                alpha = int(200 * share) if count else 0
                item.setBackground(QBrush(QColor(red, green, 60, alpha)))
            tally = (
                str(images),
                str(correct),
                f"{100 * correct / images:.1f} %" if images else "–",
            )
            for offset, text in enumerate(tally):
                self.table.item(label, CLASSES + offset).setText(text)
