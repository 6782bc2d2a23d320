"""Every instrument call of the window, in one worker thread, through `smtjlab.bench.Bench`.

`BenchWorker` lives in the bench QThread. The window talks to it only through queued signals,
so a slow instrument, a ramp or a timeout never freezes the GUI. Live acquisition is a chain
of timer ticks (one scope record each), so requests such as a bias change or Stop are served
between records. Two methods may be called directly from the GUI thread: `request_abort`
(a running calibration stops at its next measurement) and `frame_shown` (the view has drawn
the last frame, so the next record may be sent; records that arrive meanwhile are still
digitized, pooled and recorded, just not drawn).

After a calibration the live loop fills one bit pool per level (a `BitBank`, the engine's
bit source), visiting the calibrated biases in turn. Setting a bias by hand pauses that.

Instrument and data errors become `error` messages; the worker keeps running.
"""

from __future__ import annotations

import logging
import math
import threading
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot
from smtjlab.acquisition.bitstream import autocorrelation, choose_interval, decimate
from smtjlab.acquisition.calibration import Calibration, calibrate, target_levels
from smtjlab.acquisition.digitize import DigitizeError
from smtjlab.acquisition.pool import BitBank, BitPool
from smtjlab.acquisition.randomness import monobit
from smtjlab.acquisition.record import trace_name
from smtjlab.gui.messages import (
    BenchState,
    CalibrationPoint,
    CalibrationResult,
    LiveFrame,
    PoolStatus,
    Resource,
)
from smtjlab.gui.style import si

from smtjlab.errors import SmtjlabError

log = logging.getLogger("smtjlab.gui.bench")

HISTOGRAM_BINS = 120
ROLES = {"Keithley2400": "smu", "InfiniiVision": "scope"}
MOCK_SOURCES = {"mock-model": "model", "mock-replay": "replay"}
POOL_BITS = 1 << 20  # per level; the pools keep refilling live, replacing their oldest bits
RECORDS_PER_VISIT = 3  # records taken at one level before ramping to the next
RECENT_BITS = 10_000  # the randomness indicators look at this many of the newest bits
RASTER_BITS = 400
POOL_STATUS_EVERY = 4  # records between pool-status updates


class Aborted(Exception):
    """The user pressed Stop during a calibration.

    Not an SmtjlabError: the sweep skips a bias whose measurement fails with one, and would go
    on to the next.
    """


class BenchWorker(QObject):
    """Owns the bench; lives in the bench QThread; every slot runs there."""

    resources = Signal(object)  # list[Resource]
    limits = Signal(object)  # dict[str, str]
    state = Signal(object)  # BenchState
    frame = Signal(object)  # LiveFrame
    bias_result = Signal(bool, str)
    live_running = Signal(bool)
    calibration_started = Signal(float, float)  # the sweep's bias range
    calibration_point = Signal(object)  # CalibrationPoint
    calibration_done = Signal(object)  # CalibrationResult
    calibration_stopped = Signal(str)
    pools = Signal(object)  # PoolStatus
    pools_ready = Signal(object)  # the BitBank, once every pool holds `ready_bits`
    filling = Signal(bool)  # whether the live loop is refilling the pools
    error = Signal(str)

    def __init__(
        self,
        points: int | None = None,
        calibration_options: dict | None = None,
        ready_bits: int = POOL_BITS,
    ) -> None:
        super().__init__()
        self.points = points  # scope record length; None: the Bench default (1 M)
        # Every pool holds this many bits before the network may program its weights from it.
        self.ready_bits = ready_bits
        self.calibration_options = calibration_options or {}
        self._abort = threading.Event()
        self._display_free = threading.Event()
        self._display_free.set()
        self._rm = None
        self._source_key = ""
        self._bench = None
        self._description = ""
        self._timer: QTimer | None = None
        self._records = 0
        self._seconds = 0.0
        self._calibration: Calibration | None = None
        self._bank: BitBank | None = None
        self._filling = False
        self._level_index = 0
        self._visit = 0
        self._announced = False
        self._writer = None
        self._recording = ""
        self._record_name = ""
        self._record_names: list[str] = []
        self._record_bias = math.nan
        self._scope_idn = ""

    # -- thread-safe, called from the GUI thread ----------------------------------------------

    def request_abort(self) -> None:
        """Stop a running calibration at its next measurement."""
        self._abort.set()

    def frame_shown(self) -> None:
        self._display_free.set()

    # -- connection ---------------------------------------------------------------------------

    @Slot(str)
    def discover(self, source_key: str) -> None:
        """List the instruments of a bench: the mock one, or what VISA finds."""
        from smtjlab.instruments.discovery import list_instruments

        if self._bench is not None:
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
        self._emit_limits()

    @Slot(str, str, str)
    def connect_bench(self, source_key: str, smu_name: str, scope_name: str) -> None:
        from smtjlab.instruments.discovery import open_instrument
        from smtjlab.instruments.safety import load_limits
        from smtjlab.mocks.visa_library import KEITHLEY_RESOURCE, SCOPE_RESOURCE

        from smtjlab.bench import Bench

        if self._bench is not None:
            self.error.emit("already connected; disconnect first")
            return
        smu = scope = None
        try:
            if self._rm is None or source_key != self._source_key:
                self.discover(source_key)
            if self._rm is None:
                return
            mock = source_key in MOCK_SOURCES or source_key.startswith("replay")
            if mock:
                smu_name = smu_name or KEITHLEY_RESOURCE
                scope_name = scope_name or SCOPE_RESOURCE
            if not smu_name or not scope_name:
                raise SmtjlabError("pick a source-measure unit and a scope to connect")
            limits = load_limits()
            smu = open_instrument(smu_name, self._rm, limits=limits)
            scope = open_instrument(scope_name, self._rm)
            options = {"points": self.points} if self.points else {}
            # The mock bench synthesizes or replays; only real instruments measure.
            source = "synthetic" if mock else "measured"
            self._bench = Bench(smu, scope, source=source, **options)
            self._scope_idn = scope.idn
        except SmtjlabError as error:
            for instrument in (smu, scope):
                if instrument is not None:
                    instrument.close()  # the SMU ramps to 0 V and turns its output off
            self._bench = None
            self.error.emit(f"connect failed: {error}")
            self._emit_state()
            return
        self._description = f"{smu.name} + {scope.name}"
        self._emit_limits()
        log.info("connected: %s (%s)", self._description, source_key)
        self._emit_state()

    def _emit_limits(self) -> None:
        from smtjlab.instruments.safety import load_limits

        try:
            limits = self._bench.limits if self._bench is not None else load_limits()
        except SmtjlabError as error:
            self.error.emit(str(error))
            return
        self.limits.emit(
            {
                "|V| max": f"{limits.max_abs_v:g} V",
                "current compliance": si(limits.compliance_a, "A"),
                "ramp": f"{1e3 * limits.ramp_step_v:g} mV steps, {limits.ramp_rate_v_per_s:g} V/s",
                "set in": limits.source,
            }
        )

    @Slot()
    def disconnect_bench(self) -> None:
        self.stop_live()
        self.stop_recording()
        self._stop_filling()
        self._close_bench()
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

    def _close_bench(self) -> None:
        if self._bench is None:
            return
        try:
            self._bench.close()  # ramps to 0 V and turns the output off first
            log.info("disconnected: bias ramped to 0 V, output off")
        except SmtjlabError as error:
            self.error.emit(f"closing the bench: {error}")
        self._bench = None

    # -- bias ---------------------------------------------------------------------------------

    @Slot(float)
    def set_bias(self, volts: float) -> None:
        if self._bench is None:
            self.bias_result.emit(False, "Not connected: connect a bench first.")
            return
        try:
            self._bench.set_bias(volts)
        except SmtjlabError as error:
            log.warning("bias request refused: %s", error)
            self.bias_result.emit(False, f"{error}. Nothing was sent to the SMU.")
            self._emit_state()
            return
        if self._filling:
            self._stop_filling()
            log.info("pool refill paused while the bias is set by hand")
        self.bias_result.emit(True, f"Ramped to {volts:+.3f} V.")
        self._emit_state()

    @Slot()
    def safe_stop(self) -> None:
        """Stop acquisition and pool filling; ramp the bias to 0 V and turn the output off."""
        self._stop_timer()
        self._stop_filling()
        if self._bench is not None:
            try:
                self._bench.smu.shutdown()
                log.warning("stopped: bias ramped to 0 V, output off")
            except SmtjlabError as error:
                self.error.emit(f"STOP: {error}")
        self._abort.clear()
        self._emit_state()

    @Slot()
    def shutdown(self) -> None:
        """Close for good (the window is closing): ramp down, close, then end this thread."""
        self._abort.set()
        self._stop_timer()
        self.stop_recording()
        self._close_bench()
        self._emit_state()
        if self._timer is not None:
            self._timer.deleteLater()
            self._timer = None
        QThread.currentThread().quit()

    # -- calibration and pools ----------------------------------------------------------------

    @Slot(int)
    def run_calibration(self, states: int) -> None:
        """Sweep, fit and solve the levels an N-state network needs; then fill their pools.

        Blocks this thread for the calibration (seconds on the mock); Stop interrupts it at
        the next measurement through `request_abort`.
        """
        from smtjlab.bench import SWEEP_RANGE

        if self._bench is None:
            self.calibration_stopped.emit("Not connected: connect a bench first.")
            return
        was_live = self._timer is not None and self._timer.isActive()
        self._stop_timer()
        self._stop_filling()
        self._abort.clear()
        self.calibration_started.emit(*SWEEP_RANGE)
        phase = {"name": ""}

        def measure(bias_v: float, n_bits: int) -> np.ndarray:
            if self._abort.is_set():
                raise Aborted("calibration stopped by the user")
            bits = self._bench.measure_bits(bias_v, n_bits)
            if phase["name"] == "sweep":
                self.calibration_point.emit(CalibrationPoint(bias_v, float(bits.mean())))
            self._emit_state()
            return bits

        def progress(items, description, total):
            phase["name"] = description
            return items

        levels = target_levels(states)
        log.info("calibrating %d levels for %d states", len(levels), states)
        try:
            for bias in SWEEP_RANGE:
                self._bench.limits.check_bias(bias)
            result = calibrate(
                measure, levels, SWEEP_RANGE, progress=progress, **self.calibration_options
            )
        except (Aborted, SmtjlabError) as error:
            if isinstance(error, Aborted):
                self._abort.clear()
                self.calibration_stopped.emit(f"Stopped: {error}.")
            else:
                self.calibration_stopped.emit(f"Calibration failed: {error}")
                self.error.emit(f"calibration failed: {error}")
            self._emit_state()
            # The live view the user had goes on, at the sweep's last bias (a global STOP
            # queued behind this ends it again).
            if was_live:
                self.start_live()
            return
        self._calibration = result
        self.calibration_done.emit(
            CalibrationResult(
                v50=result.fit.v50,
                width=result.fit.width,
                points=[CalibrationPoint(pt.bias_v, pt.p_high) for pt in result.points],
                levels=[(lv.p_target, lv.bias_v, lv.p_measured) for lv in result.levels],
            )
        )
        log.info(
            "calibrated: V50 = %.4f V, w = %.2f mV; levels %s",
            result.fit.v50,
            1e3 * result.fit.width,
            ", ".join(f"{lv.p_target:.3g} at {lv.bias_v:+.4f} V" for lv in result.levels),
        )
        self._start_filling()
        self.start_live()  # the pools fill from the live loop

    @Slot()
    def resume_filling(self) -> None:
        if self._calibration is None:
            self.error.emit("No calibration yet: run one to fill the bit pools.")
            return
        self._filling = True
        self.filling.emit(True)
        self.start_live()

    def _start_filling(self) -> None:
        self._bank = BitBank(
            BitPool(level.p_target, POOL_BITS, bias_v=level.bias_v)
            for level in self._calibration.levels
        )
        self._filling = True
        self.filling.emit(True)
        self._draws: dict[float, tuple[int, int]] = {}
        self._announced = False
        self._level_index = 0
        self._visit = 0

    def _stop_filling(self) -> None:
        if self._filling:
            self._filling = False
            self.filling.emit(False)

    def _next_level(self):
        """The calibrated level to record at now: each in turn, a few records per visit."""
        levels = self._calibration.levels
        if self._visit >= RECORDS_PER_VISIT:
            self._visit = 0
            self._level_index = (self._level_index + 1) % len(levels)
        self._visit += 1
        return levels[self._level_index]

    # -- live acquisition ---------------------------------------------------------------------

    @Slot()
    def start_live(self) -> None:
        if self._bench is None:
            self.error.emit("Not connected: connect a bench to start the live view.")
            return
        if self._timer is None:
            self._timer = QTimer(self)
            self._timer.timeout.connect(self._tick)
        if not self._timer.isActive():
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
            self._acquire_one()
        except Exception as error:  # the last line of defence: a message, never a dead thread
            log.exception("live acquisition failed")
            self._stop_timer()
            self.error.emit(f"live acquisition stopped: unexpected {type(error).__name__}: {error}")

    def _acquire_one(self) -> None:
        bench = self._bench
        try:
            level = self._next_level() if self._filling else None
            if level is not None and bench.bias_v != level.bias_v:
                bench.set_bias(level.bias_v)
                self._emit_state()
            record = bench.record()
        except SmtjlabError as error:
            self._stop_timer()
            self.error.emit(f"live acquisition stopped: {error}")
            return
        self._record(record)
        try:
            found = bench.digitize(record)
        except DigitizeError as error:
            # For example no switching at this bias (p near 0 or 1): draw the trace anyway.
            log.debug("%s", error)
            found = None
        self._records += 1
        self._seconds += len(record.data) / record.sample_rate
        if level is not None and found is not None:
            self._pool_bits(level, found)
        if self._display_free.is_set():
            self._display_free.clear()
            self.frame.emit(self._frame(record, found))

    def _pool_bits(self, level, found) -> None:
        pool = self._bank.pool(level.p_target)
        try:
            pool.append(decimate(found.states, choose_interval(found.tau_c_samples)).bits)
        except SmtjlabError as error:
            log.info("record at %.4f V gave no bits: %s", level.bias_v, error)
            return
        if self._records % POOL_STATUS_EVERY == 0:
            self.pools.emit(self._pool_status())
        if not self._announced and all(p.n_bits >= self.ready_bits for p in self._bank.pools):
            self._announced = True
            log.info("bit pools ready: the network may now draw its bits from them")
            self.pools_ready.emit(self._bank)

    def _pool_status(self) -> PoolStatus:
        pools = self._bank.pools
        recent = [pool.bits()[-RECENT_BITS:] for pool in pools]
        # Raster rows are RASTER_BITS wide; a pool with fewer bits is padded on the left with
        # 2, which the view draws grey ("no bits yet").
        raster = np.full((len(pools), RASTER_BITS), 2, dtype=np.uint8)
        for row, bits in zip(raster, recent, strict=True):
            tail = bits[-RASTER_BITS:]
            row[RASTER_BITS - len(tail) :] = tail
        return PoolStatus(
            levels=[pool.p_target for pool in pools],
            fill=[pool.n_bits / pool.capacity_bits for pool in pools],
            fill_bits=[pool.n_bits for pool in pools],
            measured=[pool.p_measured for pool in pools],
            raster=raster,
            lag1=[autocorrelation(bits, 1) for bits in recent],
            monobit_p=[
                monobit(bits, pool.p_target).p_value if len(bits) else math.nan
                for bits, pool in zip(recent, pools, strict=True)
            ],
            overlap=[self._recent_overlap(pool) for pool in pools],
            window_bits=RECENT_BITS,
        )

    def _recent_overlap(self, pool: BitPool) -> float:
        """Share of the segments drawn since the last status that overlapped another."""
        now = (pool.drawn_segments, pool.overlapping_segments)
        before = self._draws.get(pool.p_target, (0, 0))
        self._draws[pool.p_target] = now
        drawn = now[0] - before[0]
        return (now[1] - before[1]) / drawn if drawn else math.nan

    def _frame(self, record, found) -> LiveFrame:
        volts = record.volts
        counts, edges = _histogram(record)
        nan = math.nan
        return LiveFrame(
            volts=volts,
            sample_rate=record.sample_rate,
            t0=self._seconds - len(volts) / record.sample_rate,
            hist_edges=edges,
            hist_counts=counts,
            low_v=found.low_v if found else nan,
            high_v=found.high_v if found else nan,
            threshold_v=found.threshold_v if found else nan,
            p_high=found.p_high if found else nan,
            tau_c=found.tau_c_s if found else nan,
            bias_v=record.bias_voltage,
            records=self._records,
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
        log.info("recording every live record to %s", path)
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

    def _record(self, record) -> None:
        if self._writer is None:
            return
        try:
            if self._record_bias != record.bias_voltage:
                # One trace per visit to a bias; a bias visited again gets a numbered name.
                self._record_bias = record.bias_voltage
                name = trace_name(1, record.bias_voltage)
                visits = sum(1 for taken in self._record_names if taken.startswith(name))
                self._record_name = name if not visits else f"{name}_{visits + 1}"
                self._record_names.append(self._record_name)
                self._writer.create(
                    self._record_name,
                    sample_rate=record.sample_rate,
                    bias_voltage=record.bias_voltage,
                    dtype=record.data.dtype,
                    volts_per_code=record.volts_per_code,
                    offset_volts=record.offset_volts,
                    source=record.source,
                    instrument=self._scope_idn,
                    channel=1,
                )
            self._writer.append(self._record_name, record.data)
        except SmtjlabError as error:
            self.error.emit(f"recording stopped: {error}")
            self.stop_recording()

    # -- state --------------------------------------------------------------------------------

    def _emit_state(self) -> None:
        smu = self._bench.smu if self._bench is not None else None
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


def _histogram(record) -> tuple[np.ndarray, np.ndarray]:
    """Counts and volt edges of a record; raw ADC codes get whole codes per bin."""
    if record.volts_per_code is None:
        return np.histogram(record.data[::8], bins=HISTOGRAM_BINS)
    codes = record.data[::8].astype(np.int64)
    low, high = int(codes.min()), int(codes.max())
    # Whole codes per bin, so no bin catches one code more than its neighbours (a comb).
    step = max(1, -(-(high - low + 1) // HISTOGRAM_BINS))
    counts = np.bincount((codes - low) // step)
    edges_codes = low - 0.5 + step * np.arange(len(counts) + 1)
    return counts, edges_codes * record.volts_per_code + record.offset_volts
