"""The confusion matrix table: counts where they belong, the per-class tally beside them."""

import numpy as np
from smtjlab.gui.confusion_view import ConfusionView


def test_the_table_shows_counts_and_the_per_class_tally(qtbot):
    view = ConfusionView()
    qtbot.addWidget(view)
    confusion = np.zeros((10, 10), dtype=np.int64)
    confusion[3, 3], confusion[3, 8], confusion[7, 7] = 9, 1, 4
    view.show_matrix(confusion)
    table = view.table
    assert (table.item(3, 3).text(), table.item(3, 8).text(), table.item(8, 3).text()) == (
        "9",
        "1",
        "",
    )
    assert [table.item(3, c).text() for c in (10, 11, 12)] == ["10", "9", "90.0 %"]
    assert [table.item(0, c).text() for c in (10, 11, 12)] == ["0", "0", "–"]
    assert "14 labelled images, 13 right" in view.caption.text()
    # The diagonal is shaded green, a confusion red, an empty cell not at all.
    right, wrong = table.item(3, 3).background().color(), table.item(3, 8).background().color()
    assert right.green() > right.red() and wrong.red() > wrong.green()
    assert table.item(8, 3).background().color().alpha() == 0
