"""Connect view: choose a bench (mock, station file, or resources typed per role), test each
instrument's *IDN?, see and load the safety limits, connect."""

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
from smtjlab.gui.style import ERROR_TEXT, OK_TEXT

SOURCES = {
    "Mock bench — s-MTJ model": "mock-model",
    "Mock bench — recorded traces (replay)": "mock-replay",
    "Instruments typed below (PyVISA)": "visa",
}
TYPED_KEY = "visa"  # the source key whose resources the user types per role
# PyVISA library specs offered for typed resources; any other spec may be typed.
VISA_LIBRARIES = {
    "": "system VISA, else pyvisa-py",
    "@py": "pyvisa-py (pure Python)",
    "@smtjlab": "mock instruments (simulated bench)",
}
# What the station layer can read a device with today: the Bench records through a scope.
DIGITIZER_NOTE = (
    "Serial digitizer: not offered here. The bench reads devices through a scope; the serial "
    "bit digitizer has its own driver (instruments/serial_digitizer.py) but no station role "
    "the bench can open yet."
)


class ConnectView(QWidget):
    """Choose the bench, see what is on it, and connect."""

    discover_requested = Signal(str)  # source key
    connect_requested = Signal(str, str, str)  # source key, SMU resource, scope resource
    disconnect_requested = Signal()
    test_requested = Signal(str, str)  # role ("smu" or "scope"), resource
    library_changed = Signal(str)  # the PyVISA library spec of typed resources
    station_requested = Signal()  # the user asks to open a station file
    limits_requested = Signal()  # the user asks to load a limits file

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.sources = dict(SOURCES)
        self.source = QComboBox()
        self.source.addItems(list(self.sources))
        self.source.setToolTip(
            "The bench to connect: a mock bench, a station file, or the instruments typed below"
        )
        self.discover_button = QPushButton("Discover")
        self.discover_button.setToolTip("List every instrument of this bench with its *IDN?")
        self.station_button = QPushButton("Open station…")
        self.station_button.setToolTip("Open a station file (TOML, docs/design.md §5.5)")
        self.connect_button = QPushButton("Connect")
        self.connect_button.setToolTip("Open the instruments through the bench (smtjlab.bench)")
        self.disconnect_button = QPushButton("Disconnect")
        self.disconnect_button.setToolTip("Ramp every source to 0 V, output off, and close")
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

        # One editable box per role: discovery fills the list, any VISA resource may be typed.
        self.smu_choice = _resource_box("GPIB0::24::INSTR", "source-measure unit")
        self.scope_choice = _resource_box("TCPIP0::192.168.1.20::inst0::INSTR", "oscilloscope")
        self.smu_test = QPushButton("Test")
        self.smu_test.setToolTip("Open this resource and ask its *IDN?; name its driver")
        self.scope_test = QPushButton("Test")
        self.scope_test.setToolTip("Open this resource and ask its *IDN?; name its driver")
        self.smu_result = _result_label()
        self.scope_result = _result_label()
        self.library = QComboBox()
        self.library.setEditable(True)
        for spec, meaning in VISA_LIBRARIES.items():
            self.library.addItem(spec, meaning)
        self.library.lineEdit().setPlaceholderText(VISA_LIBRARIES[""])
        self.library.setToolTip(
            "PyVISA library for the typed resources: '' the system's VISA (else pyvisa-py), "
            "'@py' pyvisa-py, '@smtjlab' the mock instruments, or any library spec"
        )
        self.digitizer_note = QLabel(DIGITIZER_NOTE)
        self.digitizer_note.setWordWrap(True)
        self.digitizer_note.setStyleSheet("color: #555555;")

        self.station_label = QLabel("")
        self.station_label.setWordWrap(True)
        self.state_label = QLabel("Not connected.")
        self.state_label.setWordWrap(True)

        self.limits_box = QGroupBox("Safety limits: every bias goes through them")
        limits_layout = QVBoxLayout(self.limits_box)
        self.limits_form = QFormLayout()
        limits_layout.addLayout(self.limits_form)
        self.limits_button = QPushButton("Load limits…")
        self.limits_button.setToolTip(
            "Replace the limits with a limits file ([bias] table, as `--limits FILE`);"
            " they apply when the bench opens"
        )
        limits_layout.addWidget(self.limits_button, 0, Qt.AlignmentFlag.AlignLeft)
        # A fixed width, so a long limits-file path wraps instead of narrowing the table.
        self.limits_box.setFixedWidth(48 * self.fontMetrics().averageCharWidth())

        top = QHBoxLayout()
        top.addWidget(QLabel("Bench:"))
        top.addWidget(self.source, 1)
        top.addWidget(self.discover_button)
        top.addWidget(self.station_button)

        roles = QGroupBox("Instrument per role")
        pick = QFormLayout(roles)
        pick.addRow("Source-measure unit:", _row(self.smu_choice, self.smu_test))
        pick.addRow("", self.smu_result)
        pick.addRow("Digitizer (scope):", _row(self.scope_choice, self.scope_test))
        pick.addRow("", self.scope_result)
        pick.addRow("VISA library:", self.library)
        pick.addRow(self.digitizer_note)
        buttons = QHBoxLayout()
        buttons.addWidget(self.connect_button)
        buttons.addWidget(self.disconnect_button)
        buttons.addStretch(1)

        left = QVBoxLayout()
        left.addWidget(self.station_label)
        left.addWidget(QLabel("Discovered instruments:"))
        left.addWidget(self.table)
        left.addWidget(roles)
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
        self.source.currentIndexChanged.connect(self._source_changed)
        self.station_button.clicked.connect(self.station_requested.emit)
        self.limits_button.clicked.connect(self.limits_requested.emit)
        self.connect_button.clicked.connect(self._request_connect)
        self.disconnect_button.clicked.connect(self.disconnect_requested.emit)
        self.smu_test.clicked.connect(lambda: self._test("smu"))
        self.scope_test.clicked.connect(lambda: self._test("scope"))
        self.library.currentTextChanged.connect(self.library_changed.emit)
        for box, role in ((self.smu_choice, "smu"), (self.scope_choice, "scope")):
            box.currentTextChanged.connect(lambda text, role=role: self._chosen(role, text))
        self._typed = {"smu": "", "scope": ""}
        self._connected = False
        self._enable()

    def source_key(self) -> str:
        return self.sources[self.source.currentText()]

    def add_source(self, text: str, key: str) -> None:
        """Offer one more bench (the station file); a bench already offered under `key` is
        renamed to `text`."""
        for old, value in list(self.sources.items()):
            if value == key:
                del self.sources[old]
                self.source.blockSignals(True)
                self.source.setItemText(self.source.findText(old), text)
                self.source.blockSignals(False)
                self.sources[text] = key
                return
        self.sources[text] = key
        self.source.addItem(text)

    def select_source(self, key: str) -> None:
        """Show `key` as the chosen bench without asking for a discovery (the caller does)."""
        self.source.blockSignals(True)
        for text, value in self.sources.items():
            if value == key:
                self.source.setCurrentText(text)
        self.source.blockSignals(False)
        self._enable()

    def show_station(self, text: str) -> None:
        """Say which station file is loaded (empty: none)."""
        self.station_label.setText(text)

    def typed(self) -> dict[str, str]:
        """The resources chosen for the typed bench and its library (what the window
        remembers), whichever bench the boxes show now."""
        return {**self._typed, "visa_library": self.library.currentText().strip()}

    def set_typed(self, smu: str, scope: str, visa_library: str) -> None:
        self._typed = {"smu": smu, "scope": scope}
        self.library.setEditText(visa_library)
        if self.source_key() == TYPED_KEY:
            self.smu_choice.setEditText(smu)
            self.scope_choice.setEditText(scope)

    def show_resources(self, resources: list[Resource]) -> None:
        self.table.setRowCount(len(resources))
        for box in (self.smu_choice, self.scope_choice):
            box.blockSignals(True)  # filling them is not the user's choice
            box.clear()
        for row, resource in enumerate(resources):
            for column, text in enumerate((resource.name, resource.role, resource.idn)):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.table.setItem(row, column, item)
            if resource.role == "smu":
                self.smu_choice.addItem(resource.name)
            elif resource.role == "scope":
                self.scope_choice.addItem(resource.name)
        # On the typed bench what the user chose stays; discovery only offers what it found.
        for box, role in ((self.smu_choice, "smu"), (self.scope_choice, "scope")):
            if self.source_key() == TYPED_KEY:
                if self._typed[role]:
                    box.setEditText(self._typed[role])
                self._typed[role] = box.currentText().strip()
            box.blockSignals(False)
        self._enable()

    def show_tested(self, role: str, resource: str, ok: bool, text: str) -> None:
        """The outcome of a Test: the *IDN? reply and its driver, or why it failed."""
        label = self.smu_result if role == "smu" else self.scope_result
        label.setText(text)
        label.setToolTip(f"{resource}: {text}")
        label.setStyleSheet(OK_TEXT if ok else ERROR_TEXT)

    def show_limits(self, limits: dict[str, str]) -> None:
        while self.limits_form.rowCount():
            self.limits_form.removeRow(0)
        for name, value in limits.items():
            label = QLabel(value.replace("/", "/\u200b"))  # a path may wrap after any folder
            label.setToolTip(value)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setWordWrap(True)
            self.limits_form.addRow(f"{name}:", label)

    def show_state(self, state: BenchState) -> None:
        self._connected = state.connected
        if state.connected:
            output = "on" if state.output_on else "off"
            self.state_label.setText(
                f"<b>Connected</b> to {state.description} — bias {state.bias_v:+.3f} V, "
                f"output {output}."
            )
        else:
            self.state_label.setText("Not connected.")
        self._enable()

    def _enable(self) -> None:
        """Every control as the state allows: nothing that changes the bench while it is open."""
        free = not self._connected
        typed = self.source_key() == TYPED_KEY
        for widget in (self.source, self.discover_button, self.station_button, self.limits_button):
            widget.setEnabled(free)
        for widget in (self.smu_choice, self.scope_choice, self.library):
            widget.setEnabled(free and typed)
        self.smu_test.setEnabled(free and typed and bool(self._typed["smu"]))
        self.scope_test.setEnabled(free and typed and bool(self._typed["scope"]))
        chosen = bool(self._typed["smu"] and self._typed["scope"])
        self.connect_button.setEnabled(free and (chosen or not typed))
        self.disconnect_button.setEnabled(self._connected)

    def _chosen(self, role: str, text: str) -> None:
        if self.source_key() == TYPED_KEY:
            self._typed[role] = text.strip()
        self._enable()

    def _source_changed(self, _: int) -> None:
        for label in (self.smu_result, self.scope_result):
            label.setText("")
        if self.source_key() == TYPED_KEY:  # the boxes show the typed choice again at once
            for box, role in ((self.smu_choice, "smu"), (self.scope_choice, "scope")):
                box.blockSignals(True)
                box.setEditText(self._typed[role])
                box.blockSignals(False)
        self._enable()
        self.discover_requested.emit(self.source_key())

    def _test(self, role: str) -> None:
        box = self.smu_choice if role == "smu" else self.scope_choice
        self.show_tested(role, box.currentText(), True, "asking *IDN?…")
        self.test_requested.emit(role, box.currentText().strip())

    def _request_connect(self) -> None:
        typed = self.typed()
        self.connect_requested.emit(self.source_key(), typed["smu"], typed["scope"])


def _resource_box(example: str, what: str) -> QComboBox:
    box = QComboBox()
    box.setEditable(True)
    box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
    box.lineEdit().setPlaceholderText(f"e.g. {example}")
    box.setToolTip(f"The {what}'s VISA resource: pick a discovered one or type any, e.g. {example}")
    box.setMinimumContentsLength(36)
    box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    return box


def _result_label() -> QLabel:
    label = QLabel("")
    label.setWordWrap(True)
    # Two lines whatever the text (the whole of it is the tooltip), so nothing above moves.
    label.setFixedHeight(2 * label.fontMetrics().lineSpacing() + 2)
    label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def _row(*widgets: QWidget) -> QHBoxLayout:
    row = QHBoxLayout()
    row.addWidget(widgets[0], 1)
    for widget in widgets[1:]:
        row.addWidget(widget)
    return row
