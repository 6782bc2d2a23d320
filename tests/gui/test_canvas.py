import numpy as np
from smtjlab.gui.canvas import DigitCanvas, mnist_style


def test_drawn_stroke_becomes_a_centred_mnist_digit(qtbot):
    canvas = DigitCanvas()
    qtbot.addWidget(canvas)
    assert canvas.is_empty()
    # A small "1" drawn near the top-left corner.
    canvas.draw_stroke([(5.0, 3.0), (5.0, 11.0)])
    image = canvas.image()
    assert image.shape == (28, 28) and image.dtype == np.uint8
    assert image.max() > 200
    rows = np.nonzero(image)[0]
    assert rows.max() - rows.min() + 1 == 20  # the ink's box is scaled to 20 pixels tall
    mass = image.astype(float)
    cy = (mass.sum(axis=1) @ np.arange(28)) / mass.sum()
    cx = (mass.sum(axis=0) @ np.arange(28)) / mass.sum()
    assert abs(cy - 13.5) < 1.0 and abs(cx - 13.5) < 1.0


def test_clear_and_mouse_drawing(qtbot):
    canvas = DigitCanvas()
    qtbot.addWidget(canvas)
    canvas.show()
    with qtbot.waitSignal(canvas.stroke_finished, timeout=2000):
        qtbot.mousePress(canvas, qtbot_button(), pos=_point(30, 30))
        qtbot.mouseMove(canvas, _point(60, 100))
        qtbot.mouseRelease(canvas, qtbot_button(), pos=_point(60, 100))
    assert not canvas.is_empty()
    canvas.clear()
    assert canvas.is_empty()
    assert not canvas.image().any()


def test_empty_drawing_is_blank():
    assert not mnist_style(np.zeros((280, 280), np.uint8)).any()


def qtbot_button():
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton


def _point(x, y):
    from PySide6.QtCore import QPoint

    return QPoint(x, y)
