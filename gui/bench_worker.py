"""Every instrument call of the window, in one worker thread.

`BenchWorker` lives in the bench QThread. The window talks to it only through queued signals,
so a slow instrument, a ramp or a timeout never freezes the GUI. Live acquisition is a chain
of timer ticks (one scope record each), so requests such as a bias change or Stop are served
between records. Two flags may be set directly from the GUI thread: `request_abort` (stop a
calibration or the live loop at the next check) and `frame_shown` (the view has drawn the
previous frame, so a new one may be sent; records that arrive meanwhile are still digitized
and recorded, just not drawn).

Instrument and data errors become `error` messages; the worker keeps running.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot
from smtjlab.acquisition.record import trace_name
from smtjlab.gui.messages import BenchState, LiveFrame, Resource
from smtjlab.gui.style import si

from smtjlab.errors import SmtjlabError

log = logging.getLogger("smtjlab.gui.bench")

FRAME_POINTS = 1_000_000  # one scope record: 100 ms at 10 MS/s
SAMPLE_RATE = 10e6
HISTOGRAM_BINS = 120
ROLES = {"Keithley2400": "smu", "InfiniiVision": "scope"}
MOCK_SOURCES = {"mock-model": "model", "mock-replay": "replay"}


class BenchWorker(QObject):
    """Owns the instruments; lives in the bench QThread; every slot runs there."""

    resources = Signal(object)  # list[Resource]
    limits = Signal(object)  # dict[str, str]
    state = Signal(object)  # BenchState
    frame = Signal(object)  # LiveFrame
    bias_result = Signal(bool, str)
    live_running = Signal(bool)
    calibration_started = Signal()
    calibration_point = Signal(object)  # CalibrationPoint
    calibration_done = Signal(object)  # CalibrationResult
    calibration_stopped = Signal(str)
    pools = Signal(object)  # PoolStatus
    pools_ready = Signal(object)  # a bit source (PoolBits) for the inference thread
    error = Signal(str)

    def __init__(self, frame_points: int = FRAME_POINTS, sample_rate: float = SAMPLE_RATE) -> None:
        super().__init__()
        self.frame_points = frame_points
        self.sample_rate = sample_rate
        self._abort = threading.Event()
        self._display_free = threading.Event()
        self._display_free.set()
        self._rm = None
        self._source_key = ""
        self._smu = None
        self._scope = None
        self._description = ""
        self._timer: QTimer | None = None
        self._frames = 0
        self._started = 0.0
        self._samples_seen = 0
        self._writer = None
        self._recording = ""
        self._record_name = ""
        self._record_names: list[str] = []
        self._record_bias = math.nan
        self._data_source = "synthetic"
        self._scope_idn = ""

    # -- thread-safe, called from the GUI thread ----------------------------------------------

    def request_abort(self) -> None:
        """Stop a running calibration (and pool filling) at its next check."""
        self._abort.set()

    def frame_shown(self) -> None:
        self._display_free.set()

    # -- connection ---------------------------------------------------------------------------

    @Slot(str)
    def discover(self, source_key: str) -> None:
        """List the instruments of a bench: the mock one, or what VISA finds."""
        from smtjlab.instruments.discovery import list_instruments

        if self._smu is not None:
            return
        try:
            self._rm = self._resource_manager(source_key)
            self._source_key = source_key
            found = list_instruments(self._rm)
        except (SmtjlabError, OSError, ValueError) as error:
            self._rm = None
            self.resources.emit([])
            self.error.emit(f"discovery failed: {error}")
            return
        listed = [
            Resource(
                item.resource,
                item.idn or (item.problem or "no answer"),
                ROLES.get(item.driver or "", "unknown"),
            )
            for item in found
        ]
        log.info("discovered %d instrument(s) on %s", len(listed), source_key)
        self.resources.emit(listed)

    @Slot(str, str, str)
    def connect_bench(self, source_key: str, smu_name: str, scope_name: str) -> None:
        from smtjlab.instruments.discovery import open_instrument
        from smtjlab.instruments.safety import load_limits
        from smtjlab.mocks.visa_library import KEITHLEY_RESOURCE, SCOPE_RESOURCE

        if self._smu is not None:
            self.error.emit("already connected; disconnect first")
            return
        try:
            if self._rm is None or source_key != self._source_key:
                self.discover(source_key)
            if self._rm is None:
                return
            if source_key in MOCK_SOURCES:
                smu_name = smu_name or KEITHLEY_RESOURCE
                scope_name = scope_name or SCOPE_RESOURCE
            if not smu_name or not scope_name:
                raise SmtjlabError("pick a source-measure unit and a scope to connect")
            limits = load_limits()
            self._smu = open_instrument(smu_name, self._rm, limits=limits)
            self._scope = open_instrument(scope_name, self._rm)
            self._configure_scope()
            self._scope_idn = self._scope.idn
        except SmtjlabError as error:
            self._close_instruments()
            self.error.emit(f"connect failed: {error}")
            self._emit_state()
            return
        self._description = f"{_model(self._smu)} + {_model(self._scope)}"
        # The mock bench synthesizes or replays; only real instruments measure.
        self._data_source = "measured" if source_key == "visa" else "synthetic"
        self.limits.emit(
            {
                "|V| max": f"{limits.max_abs_v:g} V",
                "current compliance": si(limits.compliance_a, "A"),
                "ramp": f"{1e3 * limits.ramp_step_v:g} mV steps, {limits.ramp_rate_v_per_s:g} V/s",
                "from": limits.source,
            }
        )
        log.info("connected: %s (%s)", self._description, source_key)
        self._emit_state()

    @Slot()
    def disconnect_bench(self) -> None:
        self.stop_live()
        self.stop_recording()
        self._close_instruments()
        log.info("disconnected; the SMU was ramped to 0 V and its output turned off")
        self._emit_state()

    @Slot(str)
    def replay(self, path: str) -> None:
        """Reconnect to a mock bench that replays the trace file at `path`."""
        from smtjlab.mocks.bench import SimulatedBench
        from smtjlab.mocks.visa_library import mock_resource_manager

        self.disconnect_bench()
        try:
            self._rm = mock_resource_manager(SimulatedBench(source="replay", recording=path))
        except (SmtjlabError, OSError, ValueError) as error:
            self.error.emit(f"cannot replay {path}: {error}")
            return
        self._source_key = f"replay {Path(path).name}"
        self.connect_bench(self._source_key, "", "")

    def _resource_manager(self, source_key: str):
        if source_key in MOCK_SOURCES:
            from smtjlab.mocks.bench import SimulatedBench
            from smtjlab.mocks.visa_library import mock_resource_manager

            return mock_resource_manager(SimulatedBench(source=MOCK_SOURCES[source_key]))
        import pyvisa

        try:
            return pyvisa.ResourceManager()
        except (OSError, ValueError):
            return pyvisa.ResourceManager("@py")  # no vendor VISA: the pure-Python backend

    def _configure_scope(self) -> None:
        # The vertical setup `smtjlab acquire` uses: 0.025 V/div about 0.15 V holds both
        # readout levels of the divider over the whole safe bias range.
        channel = self._scope.channel(1)
        channel.scale = 0.025
        channel.offset = 0.15
        self._scope.configure_record(self.frame_points, self.sample_rate)

    def _close_instruments(self) -> None:
        for instrument in (self._smu, self._scope):
            if instrument is None:
                continue
            try:
                instrument.close()  # the SMU ramps to 0 V and turns the output off first
            except SmtjlabError as error:
                self.error.emit(f"closing {_model(instrument)}: {error}")
        self._smu = self._scope = None

    # -- bias ---------------------------------------------------------------------------------

    @Slot(float)
    def set_bias(self, volts: float) -> None:
        if self._smu is None:
            self.bias_result.emit(False, "Not connected: connect a bench first.")
            return
        try:
            self._smu.set_bias(volts)
        except SmtjlabError as error:
            log.warning("bias request refused: %s", error)
            self.bias_result.emit(False, f"Refused: {error}. Nothing was sent.")
            self._emit_state()
            return
        self.bias_result.emit(True, f"Ramped to {volts:+.3f} V.")
        self._emit_state()

    @Slot()
    def safe_stop(self) -> None:
        """Stop acquisition; ramp the bias to 0 V and turn the output off."""
        self._stop_timer()
        if self._smu is not None:
            try:
                self._smu.shutdown()
                log.warning("stopped: bias ramped to 0 V, output off")
            except SmtjlabError as error:
                self.error.emit(f"STOP: {error}")
        self._abort.clear()
        self._emit_state()

    @Slot()
    def shutdown(self) -> None:
        """Close for good (window closing): stop, ramp down, close, and end this thread."""
        self._abort.set()
        self._stop_timer()
        self.stop_recording()
        self._close_instruments()
        self._emit_state()
        if self._timer is not None:
            self._timer.deleteLater()
            self._timer = None
        QThread.currentThread().quit()

    # -- live acquisition ---------------------------------------------------------------------

    @Slot()
    def start_live(self) -> None:
        if self._scope is None:
            self.error.emit("Not connected: connect a bench to start the live view.")
            return
        if self._timer is None:
            self._timer = QTimer(self)
            self._timer.timeout.connect(self._tick)
        if not self._timer.isActive():
            self._started = time.perf_counter()
            self._samples_seen = 0
            self._display_free.set()
            self._timer.start(0)
            self.live_running.emit(True)
            log.info("live acquisition started")

    @Slot()
    def stop_live(self) -> None:
        if self._timer is not None and self._timer.isActive():
            self._stop_timer()
            log.info("live acquisition stopped")

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self.live_running.emit(False)

    def _tick(self) -> None:
        try:
            volts, rate, codes = self._acquire()
        except SmtjlabError as error:
            self._stop_timer()
            self.error.emit(f"acquisition stopped: {error}")
            return
        self._record(volts, codes, rate)
        self._samples_seen += len(volts)
        if self._display_free.is_set():
            self._display_free.clear()
            self.frame.emit(self._frame(volts, rate))

    def _acquire(self) -> tuple[np.ndarray, float, tuple | None]:
        """One scope record of channel 1: (volts, sample rate, (codes, volts/code, offset))."""
        self._scope.digitize(1)
        wave = self._scope.fetch(1, points=self.frame_points)
        return wave.volts, wave.sample_rate, wave.signed_codes()

    def _frame(self, volts: np.ndarray, rate: float) -> LiveFrame:
        from smtjlab.acquisition.digitize import digitize

        bias = self._smu.bias_v
        try:
            found = digitize(volts, rate, name=f"live record at {bias:+.3f} V")
            low, high, threshold = found.low_v, found.high_v, found.threshold_v
            p_high, tau_c = found.p_high, found.tau_c_s
        except SmtjlabError as error:
            # No switching at this bias (p near 0 or 1): draw the trace, say why stats are absent.
            log.debug("%s", error)
            low = high = threshold = p_high = tau_c = math.nan
        counts, edges = np.histogram(volts[::8], bins=HISTOGRAM_BINS)
        self._frames += 1
        return LiveFrame(
            volts=volts,
            sample_rate=rate,
            t0=self._samples_seen / rate - len(volts) / rate,
            hist_edges=edges,
            hist_counts=counts,
            low_v=low,
            high_v=high,
            threshold_v=threshold,
            p_high=p_high,
            tau_c=tau_c,
            bias_v=bias,
            frame_index=self._frames,
        )

    # -- recording ----------------------------------------------------------------------------

    @Slot(str)
    def start_recording(self, path: str) -> None:
        from smtjlab.acquisition.tracefile import TraceWriter

        self.stop_recording()
        try:
            self._writer = TraceWriter(path)
        except SmtjlabError as error:
            self.error.emit(f"cannot record to {path}: {error}")
            return
        self._recording = path
        self._record_names = []
        self._record_bias = math.nan
        log.info("recording live records to %s", path)
        self._emit_state()

    @Slot()
    def stop_recording(self) -> None:
        if self._writer is None:
            return
        try:
            self._writer.close()
        finally:
            self._writer = None
            log.info("recording closed: %s", self._recording)
            self._recording = ""
            self._emit_state()

    def _record(self, volts: np.ndarray, codes: tuple | None, rate: float) -> None:
        if self._writer is None:
            return
        bias = self._smu.bias_v
        try:
            if self._record_bias != bias:
                # One dataset per visit to a bias; a bias visited again gets a numbered name.
                self._record_bias = bias
                name = trace_name(1, bias)
                visits = sum(1 for taken in self._record_names if taken.startswith(name))
                self._record_name = name if not visits else f"{name}_{visits + 1}"
                self._record_names.append(self._record_name)
                scale = {}
                if codes is not None:
                    scale = {
                        "dtype": codes[0].dtype,
                        "volts_per_code": codes[1],
                        "offset_volts": codes[2],
                    }
                self._writer.create(
                    self._record_name,
                    sample_rate=rate,
                    bias_voltage=bias,
                    source=self._data_source,
                    instrument=self._scope_idn,
                    channel=1,
                    **scale,
                )
            self._writer.append(self._record_name, codes[0] if codes is not None else volts)
        except SmtjlabError as error:
            self.error.emit(f"recording stopped: {error}")
            self.stop_recording()

    # -- state --------------------------------------------------------------------------------

    def _emit_state(self) -> None:
        smu = self._smu
        self.state.emit(
            BenchState(
                connected=smu is not None,
                description=self._description,
                bias_v=smu.bias_v if smu is not None else 0.0,
                output_on=bool(smu is not None and smu.output_enabled),
                source=self._source_key,
                recording=self._recording,
            )
        )


def _model(instrument) -> str:
    return getattr(instrument, "name", type(instrument).__name__)
