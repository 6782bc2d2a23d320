"""The lab window: five views over two worker threads, a log panel, and a status bar.

Threads: `BenchWorker` (every instrument call: SMU, scope, acquisition, calibration, bit
pools) and `InferenceWorker` (the SC network) each live in their own QThread. The window only
sends them queued signals and draws what they send back, so the GUI never waits on an
instrument. Stop, and closing the window, ramp the bias to 0 and turn the output off before
the threads end; closing while a device is biased or a run is active asks first, and the final
read-back state is shown before the window goes.

The menus are built in one place (`_build_menus`); every file written goes through the output
policy (`gui/files.py`). The last station file, the typed resources and the window's geometry
and layout are remembered in QSettings.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QDeadlineTimer, QSettings, QSize, Qt, QThread, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QTabWidget,
    QToolBar,
    QToolButton,
)
from smtjlab.gui.bench_worker import STATION_KEY, BenchWorker
from smtjlab.gui.calibration_view import STATES as CALIBRATION_STATES
from smtjlab.gui.calibration_view import CalibrationView
from smtjlab.gui.connect_view import TYPED_KEY, ConnectView
from smtjlab.gui.figures import add_save_figure
from smtjlab.gui.files import ask_input, ask_output, last_folder, output_for, remember_folder
from smtjlab.gui.inference_view import InferenceView, ModelChoice
from smtjlab.gui.inference_worker import InferenceWorker
from smtjlab.gui.live_view import LiveView
from smtjlab.gui.log_panel import LogPanel
from smtjlab.gui.messages import BenchState, LiveFrame, PoolStatus
from smtjlab.gui.pools_view import PoolsView
from smtjlab.gui.style import ERROR_TEXT, STOP_BUTTON, apply_style

from smtjlab import __version__
from smtjlab.errors import SmtjlabError

log = logging.getLogger("smtjlab.gui")

TABS = ("connect", "live", "calibration", "pools", "inference")
# How long closing waits for the bench thread to ramp down before it gives up and says so.
SHUTDOWN_TIMEOUT_MS = 30_000
# The window's size when nothing is remembered, shrunk to the screen it opens on.
DEFAULT_SIZE = QSize(1360, 860)
GUIDE = Path(__file__).resolve().parents[1] / "docs" / "gui.md"  # in a source checkout


class LabWindow(QMainWindow):
    """The smtjlab lab window. `mock` preselects the simulated bench on the Connect view.

    `bench` and `inference` replace the default workers (tests pass smaller, faster ones).
    """

    # Requests to the bench thread (queued: the worker lives in another thread).
    _discover = Signal(str)
    _connect = Signal(str, str, str)
    _disconnect = Signal()
    _start_live = Signal()
    _stop_live = Signal()
    _set_bias = Signal(float)
    _calibrate = Signal(int)
    _safe_stop = Signal()
    _record = Signal(str)
    _stop_record = Signal()
    _replay = Signal(str)
    _shutdown_bench = Signal()
    _refill = Signal()
    _shutdown_inference = Signal()
    _test_resource = Signal(str, str)
    _set_library = Signal(str)
    _use_station = Signal(object)
    _set_limits = Signal(object)
    _save_calibration = Signal(object)
    _save_pools = Signal(object)
    _use_calibration = Signal(object)
    # Requests to the inference thread.
    _load_model = Signal(object)
    _classify = Signal(object, int, int)
    _stream = Signal()
    _show_image = Signal(int)

    def __init__(
        self,
        mock: bool = True,
        bench: BenchWorker | None = None,
        inference: InferenceWorker | None = None,
        station=None,
        limits=None,
    ) -> None:
        super().__init__()
        apply_style(QApplication.instance())
        self.setWindowTitle("smtjlab — stochastic computing on s-MTJs")
        self.resize(fitted_size(DEFAULT_SIZE, self.screen().availableGeometry().size()))

        self.connect_view = ConnectView()
        self.live_view = LiveView()
        self.calibration_view = CalibrationView()
        self.pools_view = PoolsView()
        self.inference_view = InferenceView()
        self.tabs = QTabWidget()
        for view, title in (
            (self.connect_view, "Connect"),
            (self.live_view, "Live trace"),
            (self.calibration_view, "Calibration"),
            (self.pools_view, "Bit pools"),
            (self.inference_view, "Live inference"),
        ):
            self.tabs.addTab(view, title)
        self.setCentralWidget(self.tabs)

        self.log_panel = LogPanel()
        self.log_panel.attach()
        # Three lines at least, not Qt's 70 px: the window must fit a 768-pixel-high screen.
        self.log_panel.setMinimumHeight(3 * self.log_panel.fontMetrics().lineSpacing() + 8)
        dock = QDockWidget("Log", self)
        dock.setObjectName("log")
        dock.setWidget(self.log_panel)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
        self.resizeDocks([dock], [150], Qt.Orientation.Vertical)

        self._build_toolbar()
        self._build_menus()
        self._build_status_bar()
        for index, name in enumerate(TABS):
            add_save_figure(self.tabs.widget(index), name, self._show_error)

        self.bench = bench or BenchWorker(station=station, limits=limits)
        self.inference = inference or InferenceWorker()
        self.bench_thread = QThread(self)
        self.bench_thread.setObjectName("bench")
        self.inference_thread = QThread(self)
        self.inference_thread.setObjectName("inference")
        self.bench.moveToThread(self.bench_thread)
        self.inference.moveToThread(self.inference_thread)
        self._wire()
        self.bench_thread.start()
        self.inference_thread.start()

        self._frames = 0
        self._live = False
        self._records = 0  # the newest frame's record count
        self._records_before = 0  # ... one rate update ago
        self._hidden_frame: LiveFrame | None = None
        self._frame_clock = QTimer(self)
        self._frame_clock.timeout.connect(self._update_frame_rate)
        self._frame_clock.start(1000)
        self._closed = False
        self.ask_before_closing = True  # False for unattended runs (screenshots, signals)
        self._state = BenchState(connected=False)
        self._calibrating = False
        self._streaming = False

        # A station from the command line is preselected; the one opened last time is offered
        # (and preselected unless the mock bench was asked for).
        settings = QSettings()
        remembered = None if station is not None else self._remembered_station(settings)
        if remembered is not None:
            self._use_station.emit(remembered)
        if station is not None or remembered is not None:
            self._offer_station(station or remembered)
        self.connect_view.set_typed(
            *(str(settings.value(f"station/{key}", "")) for key in ("smu", "scope", "visa_library"))
        )
        self._restore_layout(settings)

        if station is not None or (remembered is not None and not mock):
            first = STATION_KEY
        else:
            first = "mock-model" if mock else TYPED_KEY
        self.connect_view.select_source(first)
        self._discover.emit(self.connect_view.source_key())
        self._load_model.emit(self.inference_view.choice())
        self._show_image.emit(0)
        log.info("Window ready. Connect a bench on the Connect tab.")

    # -- construction -------------------------------------------------------------------------

    def _build_toolbar(self) -> None:
        bar = QToolBar("Main")
        bar.setObjectName("main")
        bar.setMovable(False)
        self.addToolBar(bar)
        self.stop_action = QAction("■ STOP — bias to 0 V, output off", self)
        self.stop_action.setShortcut(QKeySequence("Ctrl+."))
        self.stop_action.setToolTip("Stop everything safely: ramp to 0 V, output off (Ctrl+.)")
        bar.addAction(self.stop_action)
        stop_button = bar.widgetForAction(self.stop_action)
        if isinstance(stop_button, QToolButton):
            stop_button.setStyleSheet(STOP_BUTTON)
        bar.addSeparator()
        self.record_action = QAction("● Record trace…", self)
        self.record_action.setCheckable(True)
        self.record_action.setToolTip("Write every live frame to a trace file (DESIGN §5.1)")
        self.replay_action = QAction("▶ Replay trace file…", self)
        self.replay_action.setToolTip("Connect a simulated bench that replays a trace file")
        bar.addAction(self.record_action)
        bar.addAction(self.replay_action)
        self.recording_label = QLabel("")  # the recording's size and duration as it grows
        bar.addWidget(self.recording_label)

    def _build_menus(self) -> None:
        """Every menu of the window, in one place."""

        def action(text: str, tip: str, slot, shortcut=None) -> QAction:
            made = QAction(text, self)
            made.setToolTip(tip)
            if shortcut is not None:
                made.setShortcut(QKeySequence(shortcut))
            made.triggered.connect(lambda _=False: slot())
            return made

        self.open_station_action = action(
            "Open station…",
            "Open a station file (TOML): its instruments, devices and limits",
            self.open_station,
            QKeySequence.StandardKey.Open,
        )
        self.load_limits_action = action(
            "Load limits…",
            "Bias limits from a file ([bias] table) for the next connection",
            self.load_limits,
        )
        self.load_calibration_action = action(
            "Load calibration…",
            "Serve the levels of a saved calibration (JSON) on this bench",
            self.load_calibration,
        )
        self.save_calibration_action = action(
            "Save calibration…",
            "Save the last calibration as JSON (the `calibrate -o` file)",
            self.save_calibration,
        )
        self.save_pools_action = action(
            "Save bit pools…",
            "Save every level's bit pool as a bit-pool file (HDF5)",
            self.save_pools,
        )
        self.load_model_action = action(
            "Load model…",
            "Run any checkpoint file (.npz or .safetensors) in the Live inference view",
            self.load_model,
        )
        self.quit_action = action(
            "Quit",
            "Close the window: ramp to 0 V, output off, then quit",
            self.close,
            QKeySequence.StandardKey.Quit,
        )
        for needs_data in (self.save_calibration_action, self.save_pools_action):
            needs_data.setEnabled(False)  # until there is a calibration, or bits in the pools

        files = self.menuBar().addMenu("&File")
        files.setToolTipsVisible(True)
        for item in (
            self.open_station_action,
            self.load_limits_action,
            None,
            self.load_calibration_action,
            self.save_calibration_action,
            self.save_pools_action,
            self.load_model_action,
            self.inference_view.export_action,
            None,
            self.record_action,
            self.replay_action,
            None,
            self.stop_action,
            self.quit_action,
        ):
            if item is None:
                files.addSeparator()
            else:
                files.addAction(item)

        self.guide_action = action(
            "Lab window guide (docs/gui.md)",
            "Open the guide to this window",
            self.open_guide,
            QKeySequence.StandardKey.HelpContents,
        )
        self.about_action = action("About smtjlab", "Version and what this is", self.about)
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.setToolTipsVisible(True)
        help_menu.addAction(self.guide_action)
        help_menu.addAction(self.about_action)

    def _build_status_bar(self) -> None:
        self.status_connection = QLabel("not connected")
        self.status_bias = QLabel("bias –")
        self.status_pools = QLabel("pools –")
        self.status_inference = QLabel("inference –")
        self.status_fps = QLabel("live off")
        self.status_error = QLabel("")
        self.status_error.setStyleSheet(ERROR_TEXT)
        self._error_clear = QTimer(self)
        self._error_clear.setSingleShot(True)
        self._error_clear.timeout.connect(lambda: self.status_error.setText(""))
        status = self.statusBar()
        for label in (
            self.status_connection,
            self.status_bias,
            self.status_pools,
            self.status_inference,
        ):
            label.setStyleSheet("padding: 0 10px; border-right: 1px solid #bbbbbb;")
            status.addWidget(label)
        status.addWidget(self.status_error, 1)
        status.addPermanentWidget(self.status_fps)

    def _wire(self) -> None:
        bench, infer = self.bench, self.inference
        # Window -> bench thread.
        self._discover.connect(bench.discover)
        self._connect.connect(bench.connect_bench)
        self._disconnect.connect(bench.disconnect_bench)
        self._start_live.connect(bench.start_live)
        self._stop_live.connect(bench.stop_live)
        self._set_bias.connect(bench.set_bias)
        self._calibrate.connect(bench.run_calibration)
        self._safe_stop.connect(bench.safe_stop)
        self._record.connect(bench.start_recording)
        self._stop_record.connect(bench.stop_recording)
        self._replay.connect(bench.replay)
        self._shutdown_bench.connect(bench.shutdown)
        self._refill.connect(bench.resume_filling)
        self._shutdown_inference.connect(infer.shutdown)
        # Window -> inference thread.
        self._load_model.connect(infer.load_model)
        self._classify.connect(infer.classify)
        self._stream.connect(infer.start_stream)
        self._show_image.connect(infer.show_test_image)
        # Bench thread -> inference thread: the pools the network draws its bits from.
        bench.pools_ready.connect(infer.set_bit_source)

        # Views -> requests.
        cv, lv, cal, iv = (
            self.connect_view,
            self.live_view,
            self.calibration_view,
            self.inference_view,
        )
        cv.discover_requested.connect(self._discover)
        cv.connect_requested.connect(self._connect)
        cv.disconnect_requested.connect(self._disconnect)
        cv.test_requested.connect(self._test_resource)
        cv.library_changed.connect(self._set_library)
        cv.station_requested.connect(self.open_station)
        cv.limits_requested.connect(self.load_limits)
        self._test_resource.connect(bench.test_resource)
        self._set_library.connect(bench.set_visa_library)
        self._use_station.connect(bench.use_station)
        self._set_limits.connect(bench.set_limits)
        self._save_calibration.connect(bench.save_calibration)
        self._save_pools.connect(bench.save_pools)
        self._use_calibration.connect(bench.use_calibration)
        lv.start_requested.connect(self._start_live)
        lv.stop_requested.connect(self._stop_live)
        lv.bias_requested.connect(self._set_bias)
        cal.run_requested.connect(self._calibrate)
        # Thread-safe flags, called in the GUI thread: a queued call would wait behind the
        # calibration (or stream) it is meant to stop.
        cal.stop_requested.connect(bench.request_abort, Qt.ConnectionType.DirectConnection)
        iv.model_changed.connect(self._load_model)
        iv.classify_requested.connect(self._classify)
        iv.stream_requested.connect(self._stream)
        iv.stop_requested.connect(infer.request_stop, Qt.ConnectionType.DirectConnection)
        iv.image_requested.connect(self._show_image)
        iv.results_changed.connect(self.status_inference.setText)
        self.pools_view.refill_requested.connect(self._refill)
        self.stop_action.triggered.connect(self.stop_all)
        self.record_action.triggered.connect(self._toggle_recording)
        self.replay_action.triggered.connect(self._choose_replay)
        self.tabs.currentChanged.connect(self._tab_changed)

        # Bench thread -> views.
        bench.resources.connect(cv.show_resources)
        bench.limits.connect(cv.show_limits)
        bench.state.connect(self._show_state)
        bench.state.connect(lv.show_state)
        bench.frame.connect(self._show_frame)
        bench.bias_result.connect(lv.show_bias_result)
        bench.live_running.connect(lv.set_running)
        bench.live_running.connect(self._set_live)
        bench.calibration_started.connect(cal.begin)
        bench.calibration_point.connect(cal.add_point)
        bench.calibration_progress.connect(cal.show_progress)
        bench.calibration_done.connect(cal.show_result)
        bench.calibration_stopped.connect(cal.show_stopped)
        bench.pools.connect(self._show_pools)
        bench.filling.connect(self.pools_view.show_filling)
        bench.error.connect(self._show_error)
        bench.resource_tested.connect(cv.show_tested)
        bench.saved.connect(self._show_saved)
        bench.calibration_started.connect(self._calibration_began)
        bench.calibration_done.connect(self._calibration_shown)
        bench.calibration_stopped.connect(self._calibration_ended)
        # Inference thread -> views.
        infer.model_info.connect(iv.show_model)
        infer.test_image.connect(iv.show_test_image)
        infer.step.connect(iv.show_step)
        infer.tally.connect(iv.show_tally)
        infer.energy.connect(iv.show_energy)
        infer.streaming.connect(iv.set_streaming)
        infer.streaming.connect(self._set_streaming)
        infer.error.connect(self._show_error)

    # -- actions ------------------------------------------------------------------------------

    def stop_all(self) -> None:
        """The red button: stop inference and acquisition, ramp to 0 V, output off."""
        log.warning("STOP: halting inference and acquisition, ramping the bias to 0 V")
        self.inference.request_stop()
        self.bench.request_abort()
        self._safe_stop.emit()

    def connect_mock(self, source: str = "mock-model") -> None:
        """Connect a bench that needs no choice of resources (a mock, the station file)."""
        self.connect_view.select_source(source)
        self._connect.emit(source, "", "")

    def start_live(self) -> None:
        self._start_live.emit()

    def set_bias(self, volts: float) -> None:
        self.live_view.bias_box.setValue(volts)
        self._set_bias.emit(volts)

    def calibrate(self, states: int | None = None) -> None:
        """Calibrate for `states` (default: the network's), shown on the Calibration view."""
        states = states or self.inference_view.choice().states
        for name, value in CALIBRATION_STATES.items():
            if value == states:
                self.calibration_view.states.setCurrentText(name)
        self._calibrate.emit(states)

    def start_stream(self) -> None:
        self._stream.emit()

    def show_tab(self, name: str) -> None:
        self.tabs.setCurrentIndex(TABS.index(name))

    # -- files (the File menu) ----------------------------------------------------------------

    def open_station(self, path: str | Path | None = None) -> None:
        """Offer and preselect a station file (asks for one without `path`)."""
        if self._state.connected:
            self._show_error("disconnect first: a station is chosen before the bench opens")
            return
        path = path or ask_input(self, "Open a station file", "Station (*.toml);;All files (*)")
        if path is None:
            return
        from smtjlab.station import Station

        try:
            station = Station.load(path)
        except SmtjlabError as error:
            self._show_error(str(error))
            return
        QSettings().setValue("station/file", str(Path(path).resolve()))
        self._use_station.emit(station)
        self._offer_station(station)
        self.connect_view.select_source(STATION_KEY)
        self._discover.emit(STATION_KEY)

    def load_limits(self, path: str | Path | None = None) -> None:
        """Open every bench from now on with the limits of a limits file (`gui --limits`)."""
        if self._state.connected:
            self._show_error("disconnect first: the limits apply when the bench opens")
            return
        path = path or ask_input(self, "Load bias limits", "Limits (*.toml);;All files (*)")
        if path is None:
            return
        from smtjlab.instruments.safety import load_limits

        try:
            limits = load_limits(path)
        except SmtjlabError as error:
            self._show_error(str(error))
            return
        self._set_limits.emit(limits)

    def save_calibration(self, path: str | Path | None = None) -> None:
        """Write the last calibration as JSON, the file `smtjlab calibrate -o` writes."""
        output = self._output(path, "Save the calibration", "calibration.json", "JSON (*.json)")
        if output is not None:
            self._save_calibration.emit(output)

    def load_calibration(self, path: str | Path | None = None) -> None:
        """Serve a saved calibration's levels on the connected bench and fill their pools."""
        if not self._state.connected:
            self._show_error("connect a bench first: a calibration's biases are served by it")
            return
        path = path or ask_input(self, "Load a calibration", "JSON (*.json);;All files (*)")
        if path is None:
            return
        from smtjlab.acquisition.calibration import Calibration

        try:
            calibration = Calibration.load(path)
        except SmtjlabError as error:
            self._show_error(str(error))
            return
        self._use_calibration.emit(calibration)

    def save_pools(self, path: str | Path | None = None) -> None:
        """Write every level's bit pool in the bit-pool file format (`--bits FILE` reads it)."""
        output = self._output(path, "Save the bit pools", "bit-pools.h5", "Bit pools (*.h5)")
        if output is not None:
            self._save_pools.emit(output)

    def load_model(self, path: str | Path | None = None) -> None:
        """Run any checkpoint file in the Live inference view."""
        path = path or ask_input(
            self, "Load a model", "Checkpoints (*.npz *.safetensors);;All files (*)"
        )
        if path is None:
            return
        from smtjlab.inference.checkpoint import load_checkpoint

        try:
            checkpoint = load_checkpoint(path)  # checked here: a bad file is one line, at once
        except SmtjlabError as error:
            self._show_error(str(error))
            return
        length = self.inference_view.choice().length
        choice = ModelChoice(len(checkpoint.hidden), checkpoint.states, length, path=str(path))
        self.inference_view.use_file(choice)

    def _output(self, path: str | Path | None, title: str, name: str, filters: str):
        """The checked output for `path`, or one the user picks; None if refused or cancelled."""
        try:
            if path is not None:
                return output_for(self, path)
            return ask_output(self, title, name, filters)
        except SmtjlabError as error:
            self._show_error(str(error))
            return None

    def _show_saved(self, path: str) -> None:
        self.statusBar().showMessage(f"saved {path}", 5000)

    # -- help ---------------------------------------------------------------------------------

    def open_guide(self) -> None:
        if not GUIDE.is_file():
            self._show_error("the guide docs/gui.md is in the project's source tree, not installed")
            return
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(GUIDE)))

    def about(self) -> None:
        box = QMessageBox(
            QMessageBox.Icon.Information,
            "About smtjlab",
            f"smtjlab {__version__}: stochastic computing on the telegraph noise of stochastic "
            "magnetic tunnel junctions. Quantized SC-MLPs classify MNIST from s-MTJ bits, live "
            "(arXiv 2504.06414). Guide: docs/gui.md.",
            QMessageBox.StandardButton.Ok,
            self,
        )
        box.exec()

    # -- stations and settings ----------------------------------------------------------------

    def _offer_station(self, station) -> None:
        self.connect_view.add_source(f"Station — {Path(station.where).name}", STATION_KEY)
        self.connect_view.show_station(f"Station file: {station.where}")

    def _remembered_station(self, settings: QSettings):
        """The station file opened last time, if it still loads (else the log says why)."""
        path = str(settings.value("station/file", ""))
        if not path:
            return None
        from smtjlab.station import Station

        try:
            return Station.load(path)
        except SmtjlabError as error:
            log.warning("the station opened last time does not load: %s", error)
            return None

    def _restore_layout(self, settings: QSettings) -> None:
        geometry = settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = settings.value("window/state")
        if state is not None:
            self.restoreState(state)
        self._fit_to_screen()

    def _save_layout(self) -> None:
        settings = QSettings()
        settings.setValue("window/geometry", self.saveGeometry())
        settings.setValue("window/state", self.saveState())
        for key, value in self.connect_view.typed().items():
            settings.setValue(f"station/{key}", value)

    def _fit_to_screen(self) -> None:
        """No larger than the screen's available area, frame included, and inside it."""
        if self.isMaximized() or self.isFullScreen():
            return  # the window manager fits those itself
        available = self.screen().availableGeometry()
        frame = self.frameGeometry().size() - self.geometry().size()
        self.resize(fitted_size(self.size(), available.size() - frame))
        position = self.frameGeometry()
        if not available.contains(position):
            position.moveTopLeft(available.topLeft())
            self.move(position.topLeft())

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._fit_to_screen()  # the frame's size is known once the window is shown

    def _toggle_recording(self, checked: bool) -> None:
        if not checked:
            self._stop_record.emit()
            return
        start = str(last_folder() / "live.h5")
        path, _ = QFileDialog.getSaveFileName(self, "Record live frames to", start, "HDF5 (*.h5)")
        if not path:
            self.record_action.setChecked(False)
            return
        remember_folder(path)
        self._record.emit(path)

    def _choose_replay(self) -> None:
        path = ask_input(self, "Replay a trace file", "HDF5 (*.h5)")
        if path is not None:
            self._replay.emit(str(path))

    # -- views --------------------------------------------------------------------------------

    def _show_state(self, state: BenchState) -> None:
        self._state = state
        self.connect_view.show_state(state)
        self.calibration_view.show_connected(state.connected)
        self.status_connection.setText(
            f"connected: {state.source}" if state.connected else "not connected"
        )
        output = "ON" if state.output_on else "off"
        self.status_bias.setText(f"bias {state.bias_v:+.3f} V, output {output}")
        self.record_action.setChecked(bool(state.recording))
        self.recording_label.setText(state.recording_summary())
        self.record_action.setText(
            f"● Recording to {Path(state.recording).name}" if state.recording else "● Record trace…"
        )

    def _set_live(self, running: bool) -> None:
        self._live = running

    def _set_streaming(self, streaming: bool) -> None:
        self._streaming = streaming

    def _calibration_began(self, low_v: float, high_v: float) -> None:
        self._calibrating = True

    def _calibration_ended(self, message: str) -> None:
        self._calibrating = False

    def _calibration_shown(self, result) -> None:
        self._calibrating = False
        self.save_calibration_action.setEnabled(True)

    def _show_frame(self, frame: LiveFrame) -> None:
        self._records = frame.records
        # A hidden live view is not drawn (the CPU is the network's); it gets the newest
        # frame when its tab is shown.
        if self.live_view.isVisible():
            self.live_view.show_frame(frame)
            self._frames += 1
            self._hidden_frame = None
        else:
            self._hidden_frame = frame
        self.bench.frame_shown()

    def _tab_changed(self, index: int) -> None:
        if self.tabs.widget(index) is not self.live_view:
            return
        if self._hidden_frame is not None:
            self.live_view.show_frame(self._hidden_frame)
            self._hidden_frame = None
        # A fresh second for the frame counter, so its first figure is not diluted by the
        # time the view was hidden.
        self._frames = 0
        self._records_before = self._records
        self._frame_clock.start(1000)

    def _show_pools(self, status: PoolStatus) -> None:
        self.pools_view.show_status(status)
        self.save_pools_action.setEnabled(min(status.fill_bits, default=0) > 0)
        lowest = min(status.fill) if status.fill else 0.0
        self.status_pools.setText(f"{len(status.levels)} pools, lowest fill {100 * lowest:.0f} %")

    def _show_error(self, message: str) -> None:
        log.error(message)
        # One line in the status bar (a station file's mistakes come one per line).
        first, *more = message.splitlines() or [""]
        self.status_error.setStyleSheet(ERROR_TEXT)
        self.status_error.setText(f"{first} (and {len(more)} more in the log)" if more else first)
        self.status_error.setToolTip(message)
        self._error_clear.start(15_000)

    def _update_frame_rate(self) -> None:
        # The status bar counts records acquired, which go on (into the pools) whatever tab is
        # shown; the live view counts the frames it drew.
        records = self._records - self._records_before
        self._records_before = self._records
        self.status_fps.setText(f"live: {records} records/s" if self._live else "live off")
        self.live_view.show_display_rate(self._frames, records, self.live_view.points_shown())
        self._frames = 0

    # -- shutdown -----------------------------------------------------------------------------

    def shutdown(self) -> bool:
        """Stop both threads; the bench ramps to 0 V and turns the output off first.

        Returns False if the bench thread did not finish in time (then the log says so).
        While it waits, a shown window keeps painting and says it is ramping down.
        """
        if self._closed:
            return True
        self._closed = True
        self._frame_clock.stop()
        self.inference.request_stop()
        self.bench.request_abort()
        self._shutdown_inference.emit()
        # The bench ramps to 0 V, turns the output off, closes, then ends its own thread.
        self._shutdown_bench.emit()
        if self.isVisible():
            for part in (self.centralWidget(), self.menuBar(), *self.findChildren(QToolBar)):
                part.setEnabled(False)  # nothing new is asked of a bench that is closing
            self.status_error.setStyleSheet("font-weight: 600;")
            self.status_error.setText("Closing: ramping every source to 0 V, output off …")
        self.inference_thread.wait()
        deadline = QDeadlineTimer(SHUTDOWN_TIMEOUT_MS)
        finished = False
        while not finished and not deadline.hasExpired():
            QApplication.processEvents()  # the state the bench sends as it closes is shown
            finished = self.bench_thread.wait(50)
        if not finished:
            log.critical("The bench thread did not stop in time: check the SMU output by hand.")
            self.status_error.setStyleSheet(ERROR_TEXT)
            self.status_error.setText("The bench did not confirm 0 V and output off!")
        elif self.isVisible():
            self.status_error.setText("Closed: the state read back is shown")
        self.log_panel.detach()
        return finished

    def busy(self) -> list[str]:
        """What closing now would interrupt: a biased device, or a run that is active."""
        state, found = self._state, []
        if state.connected and state.output_on:
            found.append(f"the device is biased at {state.bias_v:+.3f} V, output on")
        if self._live:
            found.append("live acquisition is running")
        if self._calibrating:
            found.append("a calibration is running")
        if self._streaming:
            found.append("test images are streaming through the network")
        if state.recording:
            found.append(f"a trace is being recorded to {Path(state.recording).name}")
        return found

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._closed:
            event.accept()
            return
        busy = self.busy() if self.ask_before_closing else []
        if busy:
            answer = QMessageBox.question(
                self,
                "Close smtjlab?",
                "Now " + "; ".join(busy) + ".\n\nClosing stops everything, ramps every source "
                "to 0 V and turns its output off. Close the window?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.No,
            )
            if answer != QMessageBox.StandardButton.Yes:
                log.info("close cancelled: the bench is left as it is")
                event.ignore()
                return
        self._save_layout()
        finished = self.shutdown()
        if self.ask_before_closing or not finished:
            self._show_final_state(finished)
        event.accept()

    def _show_final_state(self, finished: bool) -> None:
        """The state read back from every source as the bench closed, before the window goes."""
        lines = self.bench.final_state
        if finished and not lines:
            return  # no bench was open: nothing was biased
        safe = finished and all(line.endswith("output off") for line in lines)
        if not finished:
            text = "The bench did not confirm 0 V and output off. Check the SMU by hand."
        elif safe:
            text = "Every source ramped to 0 V and its output is off. Read back:"
        else:
            text = "The bench closed, but not every source reads back safe. Check by hand:"
        box = QMessageBox(
            QMessageBox.Icon.Information if safe else QMessageBox.Icon.Critical,
            "smtjlab: final state",
            text + ("\n\n" + "\n".join(lines) if lines else ""),
            QMessageBox.StandardButton.Ok,
            self,
        )
        box.exec()


def fitted_size(wanted: QSize, available: QSize) -> QSize:
    """`wanted`, shrunk where it is larger than `available`."""
    return wanted.boundedTo(available)
