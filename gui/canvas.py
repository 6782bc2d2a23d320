"""A 28×28 digit canvas: draw with the mouse, read back an MNIST-style uint8 image.

Strokes are drawn at 10× resolution with a round pen, then reduced the way MNIST itself was
made (LeCun et al.): the ink's bounding box is scaled to fit 20×20 pixels, and the result is
placed in the 28×28 frame so that its centre of mass sits at the centre. Without that step a
digit drawn off-centre or small is something the network never saw in training.
"""

from __future__ import annotations

import itertools

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

SIDE = 28
SCALE = 10
PEN_WIDTH = 22  # at 10× scale: a stroke ~2 MNIST pixels wide, like a pen-drawn digit


class DigitCanvas(QWidget):
    """Draw a digit with the left mouse button; right button or `clear()` wipes it."""

    changed = Signal()
    stroke_finished = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ink = QImage(SIDE * SCALE, SIDE * SCALE, QImage.Format.Format_Grayscale8)
        self._ink.fill(0)
        self._last: QPointF | None = None
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.setFixedSize(QSize(SIDE * SCALE // 2, SIDE * SCALE // 2))
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setToolTip("Draw a digit with the left mouse button; right-click clears.")

    # -- public -------------------------------------------------------------------------------

    def clear(self) -> None:
        self._ink.fill(0)
        self.update()
        self.changed.emit()

    def is_empty(self) -> bool:
        return not self._pixels().any()

    def set_image(self, image: np.ndarray) -> None:
        """Show a 28×28 uint8 image (for example an MNIST test digit) as the current ink."""
        image = np.ascontiguousarray(image, dtype=np.uint8).reshape(SIDE, SIDE)
        small = QImage(image.data, SIDE, SIDE, SIDE, QImage.Format.Format_Grayscale8).copy()
        self._ink = small.scaled(
            SIDE * SCALE,
            SIDE * SCALE,
            Qt.AspectRatioMode.IgnoreAspectRatio,
            Qt.TransformationMode.FastTransformation,
        ).convertToFormat(QImage.Format.Format_Grayscale8)
        self.update()
        self.changed.emit()

    def draw_stroke(self, points: list[tuple[float, float]]) -> None:
        """Draw a polyline given in 28×28 pixel coordinates (for scripts and tests)."""
        painter = self._painter()
        scaled = [QPointF(x * SCALE, y * SCALE) for x, y in points]
        for start, end in itertools.pairwise(scaled):
            painter.drawLine(start, end)
        painter.end()
        self.update()
        self.changed.emit()
        self.stroke_finished.emit()

    def image(self) -> np.ndarray:
        """The drawing as an MNIST-style (28, 28) uint8 image: 20×20 box, centred by mass."""
        return mnist_style(self._pixels())

    # -- drawing ------------------------------------------------------------------------------

    def _pixels(self) -> np.ndarray:
        ptr = self._ink.constBits()
        stride = self._ink.bytesPerLine()
        rows = np.frombuffer(ptr, dtype=np.uint8).reshape(self._ink.height(), stride)
        return rows[:, : self._ink.width()].copy()

    def _painter(self) -> QPainter:
        painter = QPainter(self._ink)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(QColor(255, 255, 255), PEN_WIDTH)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        painter.setPen(pen)
        return painter

    def _to_ink(self, point: QPointF) -> QPointF:
        return QPointF(
            point.x() * self._ink.width() / self.width(),
            point.y() * self._ink.height() / self.height(),
        )

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.RightButton:
            self.clear()
            return
        if event.button() == Qt.MouseButton.LeftButton:
            self._last = self._to_ink(event.position())
            painter = self._painter()
            painter.drawPoint(self._last)
            painter.end()
            self.update()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._last is None:
            return
        point = self._to_ink(event.position())
        painter = self._painter()
        painter.drawLine(self._last, point)
        painter.end()
        self._last = point
        self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._last is not None:
            self._last = None
            self.changed.emit()
            self.stroke_finished.emit()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.drawImage(QRect(QPoint(0, 0), self.size()), self._ink)
        painter.setPen(QPen(QColor("#888888"), 1))
        painter.drawRect(self.rect().adjusted(0, 0, -1, -1))
        painter.end()


def mnist_style(ink: np.ndarray) -> np.ndarray:
    """Reduce a large grayscale drawing to 28×28 the MNIST way (see the module docstring)."""
    rows = np.flatnonzero(ink.max(axis=1))
    cols = np.flatnonzero(ink.max(axis=0))
    if rows.size == 0:
        return np.zeros((SIDE, SIDE), dtype=np.uint8)
    box = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    height, width = box.shape
    factor = 20.0 / max(height, width)
    new_h, new_w = max(1, round(height * factor)), max(1, round(width * factor))
    box = np.ascontiguousarray(box)
    source = QImage(box.data, width, height, width, QImage.Format.Format_Grayscale8)
    small_image = source.scaled(
        new_w,
        new_h,
        Qt.AspectRatioMode.IgnoreAspectRatio,
        Qt.TransformationMode.SmoothTransformation,
    ).convertToFormat(QImage.Format.Format_Grayscale8)
    stride = small_image.bytesPerLine()
    small = (
        np.frombuffer(small_image.constBits(), dtype=np.uint8)
        .reshape(new_h, stride)[:, :new_w]
        .astype(np.float64)
    )
    total = small.sum()
    if total == 0:
        return np.zeros((SIDE, SIDE), dtype=np.uint8)
    cy = (small.sum(axis=1) @ np.arange(new_h)) / total
    cx = (small.sum(axis=0) @ np.arange(new_w)) / total
    top = round(SIDE / 2 - cy - 0.5)
    left = round(SIDE / 2 - cx - 0.5)
    top = min(max(top, 0), SIDE - new_h)
    left = min(max(left, 0), SIDE - new_w)
    out = np.zeros((SIDE, SIDE), dtype=np.float64)
    out[top : top + new_h, left : left + new_w] = small
    return np.clip(np.round(out), 0, 255).astype(np.uint8)
