"""Connect view: discovered instruments with their *IDN?, the active safety limits, connect."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from smtjlab.gui.messages import BenchState, Resource

SOURCES = {
    "Mock bench — s-MTJ model": "mock-model",
    "Mock bench — recorded traces (replay)": "mock-replay",
    "Real instruments (PyVISA)": "visa",
}


class ConnectView(QWidget):
    """Choose the bench, see what is on it, and connect."""

    discover_requested = Signal(str)  # source key
    connect_requested = Signal(str, str, str)  # source key, SMU resource, scope resource
    disconnect_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.sources = dict(SOURCES)
        self.source = QComboBox()
        self.source.addItems(list(self.sources))
        self.discover_button = QPushButton("Discover")
        self.connect_button = QPushButton("Connect")
        self.disconnect_button = QPushButton("Disconnect")
        self.disconnect_button.setEnabled(False)

        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Resource", "Role", "*IDN?"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.setWordWrap(False)
        self.table.setMaximumHeight(180)

        self.smu_choice = QComboBox()
        self.scope_choice = QComboBox()
        self.state_label = QLabel("Not connected.")
        self.state_label.setWordWrap(True)

        self.limits_box = QGroupBox("Active safety limits (every bias goes through these)")
        self.limits_form = QFormLayout(self.limits_box)

        top = QHBoxLayout()
        top.addWidget(QLabel("Bench:"))
        top.addWidget(self.source, 1)
        top.addWidget(self.discover_button)

        pick = QFormLayout()
        pick.addRow("Source-measure unit:", self.smu_choice)
        pick.addRow("Digitizer (scope):", self.scope_choice)
        buttons = QHBoxLayout()
        buttons.addWidget(self.connect_button)
        buttons.addWidget(self.disconnect_button)
        buttons.addStretch(1)

        left = QVBoxLayout()
        left.addWidget(QLabel("Discovered instruments:"))
        left.addWidget(self.table)
        left.addLayout(pick)
        left.addLayout(buttons)
        left.addWidget(self.state_label)
        left.addStretch(1)
        right = QVBoxLayout()
        right.addWidget(self.limits_box)
        right.addStretch(1)
        body = QHBoxLayout()
        # The limits take their natural width; the rest goes to the table, whose IDN column
        # holds replies of 80 characters.
        body.addLayout(left, 1)
        body.addLayout(right)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(body, 1)

        self.discover_button.clicked.connect(
            lambda: self.discover_requested.emit(self.source_key())
        )
        self.source.currentIndexChanged.connect(
            lambda _: self.discover_requested.emit(self.source_key())
        )
        self.connect_button.clicked.connect(self._request_connect)
        self.disconnect_button.clicked.connect(self.disconnect_requested.emit)

    def source_key(self) -> str:
        return self.sources[self.source.currentText()]

    def add_source(self, text: str, key: str) -> None:
        """Offer one more bench, e.g. the station file given on the command line."""
        self.sources[text] = key
        self.source.addItem(text)

    def select_source(self, key: str) -> None:
        """Show `key` as the chosen bench without asking for a discovery (the caller does)."""
        self.source.blockSignals(True)
        for text, value in self.sources.items():
            if value == key:
                self.source.setCurrentText(text)
        self.source.blockSignals(False)

    def show_resources(self, resources: list[Resource]) -> None:
        self.table.setRowCount(len(resources))
        self.smu_choice.clear()
        self.scope_choice.clear()
        for row, resource in enumerate(resources):
            for column, text in enumerate((resource.name, resource.role, resource.idn)):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.table.setItem(row, column, item)
            if resource.role == "smu":
                self.smu_choice.addItem(resource.name)
            elif resource.role == "scope":
                self.scope_choice.addItem(resource.name)
        self.connect_button.setEnabled(self.smu_choice.count() > 0)

    def show_limits(self, limits: dict[str, str]) -> None:
        while self.limits_form.rowCount():
            self.limits_form.removeRow(0)
        for name, value in limits.items():
            label = QLabel(value)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.limits_form.addRow(f"{name}:", label)

    def show_state(self, state: BenchState) -> None:
        self.connect_button.setEnabled(not state.connected and self.smu_choice.count() > 0)
        self.disconnect_button.setEnabled(state.connected)
        self.source.setEnabled(not state.connected)
        self.discover_button.setEnabled(not state.connected)
        if state.connected:
            output = "on" if state.output_on else "off"
            self.state_label.setText(
                f"<b>Connected</b> to {state.description} — bias {state.bias_v:+.3f} V, "
                f"output {output}."
            )
        else:
            self.state_label.setText("Not connected.")

    def _request_connect(self) -> None:
        self.connect_requested.emit(
            self.source_key(), self.smu_choice.currentText(), self.scope_choice.currentText()
        )
