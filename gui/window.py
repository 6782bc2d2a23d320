"""The lab window: five views over two worker threads, a log panel, and a status bar.

Threads: `BenchWorker` (every instrument call: SMU, scope, acquisition, calibration, bit
pools) and `InferenceWorker` (the SC network) each live in their own QThread. The window only
sends them queued signals and draws what they send back, so the GUI never waits on an
instrument. Stop, and closing the window, ramp the bias to 0 and turn the output off before
the threads end.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QThread, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
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
from smtjlab.gui.calibration_view import CalibrationView
from smtjlab.gui.connect_view import ConnectView
from smtjlab.gui.inference_view import InferenceView
from smtjlab.gui.inference_worker import InferenceWorker
from smtjlab.gui.live_view import LiveView
from smtjlab.gui.log_panel import LogPanel
from smtjlab.gui.messages import BenchState, InferenceTally, LiveFrame, PoolStatus
from smtjlab.gui.pools_view import PoolsView
from smtjlab.gui.style import ERROR_TEXT, STOP_BUTTON, apply_style

log = logging.getLogger("smtjlab.gui")

TABS = ("connect", "live", "calibration", "pools", "inference")
# How long closing waits for the bench thread to ramp down before it gives up and says so.
SHUTDOWN_TIMEOUT_MS = 30_000


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
        self.resize(1360, 860)

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
        dock = QDockWidget("Log", self)
        dock.setObjectName("log")
        dock.setWidget(self.log_panel)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
        self.resizeDocks([dock], [150], Qt.Orientation.Vertical)

        self._build_toolbar()
        self._build_status_bar()

        self.bench = bench or BenchWorker(station=station, limits=limits)
        if station is not None:
            self.connect_view.add_source(f"Station — {station.where}", STATION_KEY)
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

        first = STATION_KEY if station is not None else "mock-model" if mock else "visa"
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
        self.quit_action = QAction("Quit", self)
        self.quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        self.quit_action.setToolTip("Close the window: ramp to 0 V, output off, then quit")
        menu = self.menuBar().addMenu("&File")
        menu.addAction(self.record_action)
        menu.addAction(self.replay_action)
        menu.addSeparator()
        menu.addAction(self.stop_action)
        menu.addAction(self.quit_action)

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
        self.pools_view.refill_requested.connect(self._refill)
        self.stop_action.triggered.connect(self.stop_all)
        self.record_action.triggered.connect(self._toggle_recording)
        self.replay_action.triggered.connect(self._choose_replay)
        self.quit_action.triggered.connect(self.close)
        self.tabs.currentChanged.connect(self._tab_changed)

        # Bench thread -> views.
        bench.resources.connect(cv.show_resources)
        bench.limits.connect(cv.show_limits)
        bench.state.connect(self._show_state)
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
        # Inference thread -> views.
        infer.model_info.connect(iv.show_model)
        infer.test_image.connect(iv.show_test_image)
        infer.step.connect(iv.show_step)
        infer.tally.connect(self._show_tally)
        infer.energy.connect(iv.show_energy)
        infer.streaming.connect(iv.set_streaming)
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
        self._calibrate.emit(states or self.inference_view.choice().states)

    def start_stream(self) -> None:
        self._stream.emit()

    def show_tab(self, name: str) -> None:
        self.tabs.setCurrentIndex(TABS.index(name))

    def _toggle_recording(self, checked: bool) -> None:
        if not checked:
            self._stop_record.emit()
            return
        start = str(Path(QSettings().value("last_folder", str(Path.cwd()))) / "live.h5")
        path, _ = QFileDialog.getSaveFileName(self, "Record live frames to", start, "HDF5 (*.h5)")
        if not path:
            self.record_action.setChecked(False)
            return
        QSettings().setValue("last_folder", str(Path(path).parent))
        self._record.emit(path)

    def _choose_replay(self) -> None:
        start = str(QSettings().value("last_folder", str(Path.cwd())))
        path, _ = QFileDialog.getOpenFileName(self, "Replay a trace file", start, "HDF5 (*.h5)")
        if path:
            QSettings().setValue("last_folder", str(Path(path).parent))
            self._replay.emit(path)

    # -- views --------------------------------------------------------------------------------

    def _show_state(self, state: BenchState) -> None:
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
        lowest = min(status.fill) if status.fill else 0.0
        self.status_pools.setText(f"{len(status.levels)} pools, lowest fill {100 * lowest:.0f} %")

    def _show_tally(self, tally: InferenceTally) -> None:
        self.inference_view.show_tally(tally)
        self.status_inference.setText(
            f"{tally.images} images, accuracy {100 * tally.accuracy:.1f} %"
        )

    def _show_error(self, message: str) -> None:
        log.error(message)
        self.status_error.setText(message)
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
        self.inference_thread.wait()
        finished = self.bench_thread.wait(SHUTDOWN_TIMEOUT_MS)
        if not finished:
            log.critical("The bench thread did not stop in time: check the SMU output by hand.")
        self.log_panel.detach()
        return finished

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.shutdown():
            QMessageBox.critical(
                self,
                "smtjlab",
                "The bench did not confirm 0 V and output off. Check the SMU by hand.",
            )
        event.accept()
