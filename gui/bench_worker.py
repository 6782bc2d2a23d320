"""Every instrument call of the window, in one worker thread, through `smtjlab.bench.Bench`.

The worker holds threading and messages only: the bench is opened from a station (the mock
station, a station file, or two VISA resources) and every workflow (calibration, states to bits,
trace recording) is the Bench's or the acquisition layer's own.

`BenchWorker` lives in the bench QThread. The window talks to it only through queued signals,
so a slow instrument, a ramp or a timeout never freezes the GUI. Live acquisition is a chain
of timer ticks (one scope record each), so requests such as a bias change or Stop are served
between records. Two methods may be called directly from the GUI thread: `request_abort`
(a running calibration stops at its next measurement) and `frame_shown` (the view has drawn
the last frame, so the next record may be sent; records that arrive meanwhile are still
digitized, pooled and recorded, just not drawn).

After a calibration the live loop fills one bit pool per level (a `BitBank`, the engine's
bit source), visiting the calibrated biases in turn. Setting a bias by hand pauses that. A
station with several devices is an array: it is calibrated with `Bench.calibrate_array` (each
device for the levels it serves) and its pools are filled with `Bench.fill_array` (every
serving device at its level at once), `ARRAY_ROUND_BITS` per level and tick.

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
from smtjlab.acquisition.bitstream import autocorrelation
from smtjlab.acquisition.calibration import (
    ArrayCalibration,
    Calibration,
    assign_levels,
    calibration_plan,
    target_levels,
)
from smtjlab.acquisition.digitize import DigitizeError
from smtjlab.acquisition.pool import BitBank, BitPool
from smtjlab.acquisition.randomness import ALPHA, monobit
from smtjlab.acquisition.record import LiveRecording
from smtjlab.gui.messages import (
    BenchState,
    CalibrationPoint,
    CalibrationProgress,
    CalibrationResult,
    LiveFrame,
    PoolStatus,
    Resource,
)
from smtjlab.gui.style import si

from smtjlab.errors import SmtjlabError

log = logging.getLogger("smtjlab.gui.bench")

HISTOGRAM_BINS = 120
ROLE_LABELS = {"source": "smu", "scope": "scope", "digitizer": "digitizer"}
MOCK_SOURCES = {"mock-model": "model", "mock-replay": "replay"}
STATION_KEY = "station"  # the source key of the station file given with `gui --station`
TYPED_ROLES = {"smu": "source", "scope": "scope"}  # the Connect view's boxes and their roles
POOL_BITS = 1 << 20  # per level; the pools keep refilling live, replacing their oldest bits
RECORDS_PER_VISIT = 3  # records taken at one level before ramping to the next
RECENT_BITS = 10_000  # the randomness indicators look at this many of the newest bits
RASTER_BITS = 400
POOL_STATUS_EVERY = 4  # records between pool-status updates
RECORDING_STATUS_S = 0.5  # how often a growing recording's size and duration are sent
ARRAY_ROUND_BITS = 50_000  # bits per level an array's fill adds per tick (about one record)


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
    calibration_progress = Signal(object)  # CalibrationProgress
    calibration_done = Signal(object)  # CalibrationResult
    calibration_stopped = Signal(str)
    pools = Signal(object)  # PoolStatus
    pools_ready = Signal(object)  # the BitBank, once every pool holds `ready_bits`
    filling = Signal(bool)  # whether the live loop is refilling the pools
    error = Signal(str)
    # The Connect view's typed resources, station files and limits (gui-shell).
    resource_tested = Signal(str, str, bool, str)  # role, resource, ok, *IDN? and driver or why
    saved = Signal(str)  # a file the worker wrote (calibration, pools)

    def __init__(
        self,
        points: int | None = None,
        calibration_options: dict | None = None,
        ready_bits: int = POOL_BITS,
        station=None,
        limits=None,
    ) -> None:
        super().__init__()
        self.station = station  # from `gui --station`: offered as the "station" source key
        self.limits_override = limits  # from `gui --limits`: replaces every station's limits
        self.points = points  # scope record length; None: the Bench default (1 M)
        # Every pool holds this many bits before the network may program its weights from it.
        self.ready_bits = ready_bits
        self.calibration_options = calibration_options or {}
        self._abort = threading.Event()
        self._display_free = threading.Event()
        self._display_free.set()
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
        self._writer: LiveRecording | None = None
        self._recording = ""
        self._recording_shown = 0.0  # monotonic time its size was last sent
        self._replay_path = ""
        self.visa_library = ""  # PyVISA library of typed resources ("" the system's, "@smtjlab")
        self.final_state: list[str] = []  # the last closed bench's `smu: 0.000 V, output off`

    # -- thread-safe, called from the GUI thread ----------------------------------------------

    def request_abort(self) -> None:
        """Stop a running calibration at its next measurement."""
        self._abort.set()

    def frame_shown(self) -> None:
        self._display_free.set()

    # -- connection ---------------------------------------------------------------------------

    def _station(self, source_key: str, resources: tuple[str, ...] = ()):
        """The station a source key names: the mock ones, the `--station` file, or VISA."""
        from smtjlab.instruments.safety import load_limits

        from smtjlab.station import Station

        if source_key in MOCK_SOURCES:
            station = Station.mock(MOCK_SOURCES[source_key])
        elif source_key.startswith("replay"):
            station = Station.mock("replay", recording=self._replay_path)
        elif source_key == STATION_KEY and self.station is not None:
            station = self.station
        else:
            station = typed_station(resources, load_limits(), self.visa_library)
        return station.with_limits(self.limits_override) if self.limits_override else station

    @Slot(str)
    def discover(self, source_key: str) -> None:
        """List the instruments of a bench: a mock or station one, or what VISA finds."""
        from smtjlab.instruments.discovery import list_instruments

        from smtjlab.bench import resource_manager

        if self._bench is not None:
            return
        try:
            found = list_instruments(resource_manager(self._station(source_key)))
        except (SmtjlabError, OSError, ValueError) as error:
            self.resources.emit([])
            self.error.emit(f"discovery failed: {error}")
            return
        self._source_key = source_key
        listed = [
            Resource(
                item.resource,
                item.idn or (item.problem or "no answer"),
                ROLE_LABELS.get(item.role or "", "unknown"),
            )
            for item in found
        ]
        log.info("discovered %d instrument(s) on %s", len(listed), source_key)
        self.resources.emit(listed)
        self._emit_limits()

    @Slot(str, str, str)
    def connect_bench(self, source_key: str, smu_name: str, scope_name: str) -> None:
        from smtjlab.bench import Bench

        if self._bench is not None:
            self.error.emit("already connected; disconnect first")
            return
        try:
            real = source_key not in MOCK_SOURCES and not source_key.startswith("replay")
            if real and source_key != STATION_KEY and not (smu_name and scope_name):
                raise SmtjlabError("pick a source-measure unit and a scope to connect")
            station = self._station(source_key, (smu_name, scope_name))
            options = {"points": self.points} if self.points else {}
            self._bench = Bench.open(station, **options)
        except SmtjlabError as error:
            self._bench = None  # Bench.open closed what it had opened, sources at 0 V
            self.error.emit(f"connect failed: {error}")
            self._emit_state()
            return
        self._source_key = source_key
        self._seconds = 0.0  # a new bench is a new run: its clock starts at 0 s of trace
        bench = self._bench
        self._description = f"{bench.source.name} + {bench.readout.name}"
        self._emit_limits()
        log.info("connected: %s (%s)", self._description, source_key)
        self._emit_state()

    def _emit_limits(self) -> None:
        from smtjlab.instruments.safety import load_limits

        try:
            if self._bench is not None:
                limits = self._bench.limits
            elif self._source_key:  # the limits the chosen bench will open with
                limits = self._station(self._source_key).limits
            else:
                limits = self.limits_override or load_limits()
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
        self.disconnect_bench()
        self._replay_path = path
        self.connect_bench(f"replay {Path(path).name}", "", "")

    def _close_bench(self) -> None:
        if self._bench is None:
            return
        try:
            self._bench.close()  # ramps to 0 V and turns the output off first
            log.info("disconnected: bias ramped to 0 V, output off")
        except SmtjlabError as error:
            self.error.emit(f"closing the bench: {error}")
        finally:
            self.final_state = list(self._bench.final_state)
        for line in self.final_state:
            log.info("final state: %s", line)
        self._bench = None

    # -- typed resources, station files, limits (the Connect view) ----------------------------

    @Slot(str)
    def set_visa_library(self, spec: str) -> None:
        """The PyVISA library that typed resources are opened with."""
        self.visa_library = spec

    @Slot(object)
    def use_station(self, station) -> None:
        """Offer `station` (a `Station`, from File → Open station…) as the "station" bench."""
        self.station = station

    @Slot(object)
    def set_limits(self, limits) -> None:
        """Open every bench from now on with `limits` (a `BiasLimits`, from a limits file)."""
        if self._bench is not None:
            self.error.emit("limits apply when a bench opens: disconnect first")
            return
        self.limits_override = limits
        log.info("limits from %s: |V| <= %g V", limits.source, limits.max_abs_v)
        self._emit_limits()

    @Slot(str, str)
    def test_resource(self, role: str, resource: str) -> None:
        """Open `resource`, ask its *IDN? and name the driver that knows it (role smu or scope)."""
        from smtjlab.instruments import registry
        from smtjlab.instruments.discovery import identify

        from smtjlab.bench import resource_manager
        from smtjlab.station import Station

        wanted = TYPED_ROLES[role]
        try:
            probe = Station.from_resources([resource], visa_library=self.visa_library)
            idn = identify(resource_manager(probe), resource)
            driver = registry.by_idn(idn, resource)
        except SmtjlabError as error:
            self.resource_tested.emit(role, resource, False, str(error))
            return
        if driver.role != wanted:
            self.resource_tested.emit(
                role,
                resource,
                False,
                f"{idn}: its driver {driver.model} is a {driver.role}, not a {wanted}",
            )
            return
        log.info("%s answers *IDN? %s (driver %s)", resource, idn, driver.model)
        self.resource_tested.emit(role, resource, True, f"{idn} (driver {driver.model})")

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
                self._bench.shutdown()
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
        the next measurement through `request_abort`. A stopped or failed calibration leaves
        the last good one in place: its pools stay in use, and refill if they were refilling.
        """
        from smtjlab.bench import SWEEP_RANGE, CalibrationStopped

        if self._bench is None:
            self.calibration_stopped.emit("Not connected: connect a bench first.")
            return
        was_live = self._timer is not None and self._timer.isActive()
        was_filling = self._filling
        self._stop_timer()
        self._stop_filling()
        self._abort.clear()
        # The sweep stays inside the bench's limits (`gui --limits` may be narrower than it).
        limit = self._bench.limits.max_abs_v
        sweep_range = (max(SWEEP_RANGE[0], -limit), min(SWEEP_RANGE[1], limit))
        if sweep_range != SWEEP_RANGE:
            log.info("sweep %.3f to %.3f V: within the limits (|V| <= %g V)", *sweep_range, limit)
        self.calibration_started.emit(*sweep_range)
        levels = target_levels(states)
        devices = [spec.name for spec in self._bench.station.devices]
        served = assign_levels(levels, devices) if len(devices) > 1 else {devices[0]: levels}
        progress, on_point = self._calibration_progress(
            [len(served.get(name, [])) for name in devices]
        )
        calibrate = self._bench.calibrate_array if len(devices) > 1 else self._bench.calibrate
        log.info(
            "calibrating %d levels for %d states on %d device(s)", len(levels), states, len(devices)
        )
        try:
            result = calibrate(
                levels,
                sweep_range,
                progress,
                on_point=on_point,
                stop=self._abort,
                **self.calibration_options,
            )
        except SmtjlabError as error:
            if isinstance(error, CalibrationStopped):
                self._abort.clear()
                self.calibration_stopped.emit(f"Stopped: {error}.")
            else:
                self.calibration_stopped.emit(f"Calibration failed: {error}")
                self.error.emit(f"calibration failed: {error}")
            self._emit_state()
            # The live view and the pools the user had go on, at the sweep's last bias (a
            # global STOP queued behind this ends them again).
            if was_filling:
                self._filling = True
                self.filling.emit(True)
            if was_live:
                self.start_live()
            return
        self._calibration = result
        self._note_calibration()
        self.calibration_done.emit(calibration_message(result))
        log.info(
            "calibrated: V50 = %.4f V, w = %.2f mV; levels %s",
            result.fit.v50,
            1e3 * result.fit.width,
            ", ".join(f"{lv.p_target:.3g} at {lv.bias_v:+.4f} V" for lv in result.levels),
        )
        for warning in _warnings(result):
            log.warning("calibration: %s", warning)
        self._start_filling()
        self.start_live()  # the pools fill from the live loop

    # -- saving and loading (File menu, gui-shell) ----------------------------------------------

    @Slot(object)
    def save_calibration(self, output) -> None:
        """Write the last calibration to `output` (an `OutputFile`), as `calibrate -o` does."""
        if self._calibration is None:
            self.error.emit("no calibration to save: run one first")
            return
        try:
            with output.writing() as temp:
                self._calibration.save(temp)
        except (SmtjlabError, OSError) as error:
            self.error.emit(f"saving the calibration: {error}")
            return
        log.info("calibration saved to %s", output.path)
        self.saved.emit(str(output.path))

    @Slot(object)
    def save_pools(self, output) -> None:
        """Write every bit pool to `output` (an `OutputFile`) in the bit-pool file format."""
        if self._bank is None:
            self.error.emit("no bit pools to save: calibrate first, then let them fill")
            return
        attrs = {"source": self._bench.origin} if self._bench is not None else {}
        try:
            with output.writing() as temp:
                self._bank.save(temp, **attrs)
        except (SmtjlabError, OSError) as error:
            self.error.emit(f"saving the bit pools: {error}")
            return
        log.info("bit pools saved to %s", output.path)
        self.saved.emit(str(output.path))

    @Slot(object)
    def use_calibration(self, calibration: Calibration) -> None:
        """Serve the levels of a loaded calibration: show it, then fill its pools live."""
        if self._bench is None:
            self.error.emit("connect a bench first: a calibration's biases are served by it")
            return
        smu = calibration.meta.get("smu")
        if smu and smu != self._bench.instruments[self._bench.device.source].idn:
            log.warning("the loaded calibration was made with another SMU: %s", smu)
        self._stop_timer()
        self._stop_filling()
        self._calibration = calibration
        self._note_calibration()
        self.calibration_done.emit(calibration_message(calibration))
        log.info(
            "calibration loaded: levels %s",
            ", ".join(f"{lv.p_target:.3g} at {lv.bias_v:+.4f} V" for lv in calibration.levels),
        )
        self._start_filling()
        self.start_live()

    def _calibration_progress(self, served: list[int]):
        """(progress, on_point) for `Bench.calibrate`: step N of M, and the time left.

        The time left is the bits still to measure (each level's first try only) at the
        seconds per bit measured so far: a lower bound, since a level may need more tries.
        """
        options = self.calibration_options
        keys = ("sweep_points", "sweep_bits", "verify_bits")
        plan = calibration_plan(served, **{key: options[key] for key in keys if key in options})
        started = time.monotonic()
        done = [0, 0]  # steps started, bits measured

        def progress(items, phase, total):
            for item in items:
                rate = (time.monotonic() - started) / done[1] if done[1] else math.nan
                left = sum(plan[done[0] :]) * rate
                done[0] += 1
                self.calibration_progress.emit(
                    CalibrationProgress(min(done[0], len(plan)), len(plan), phase, left)
                )
                yield item

        def on_point(phase: str, bias_v: float, bits: np.ndarray) -> None:
            done[1] += len(bits)
            if phase == "sweep":
                device = self._bench.device.name if len(served) > 1 else ""
                self.calibration_point.emit(CalibrationPoint(bias_v, float(bits.mean()), device))
            self._emit_state()

        return progress, on_point

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
        self._monobit = MonobitWatch()
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
        array = self._filling and isinstance(self._calibration, ArrayCalibration)
        try:
            level = self._next_level() if self._filling and not array else None
            if array:
                self._fill_array_round()
            elif level is not None and bench.bias_v != level.bias_v:
                bench.set_bias(level.bias_v)
                self._emit_state()
            record = bench.record()  # an array's: the selected device's, for the live view
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
            pool.append(self._bench.bits_of(found))
        except SmtjlabError as error:
            log.info("record at %.4f V gave no bits: %s", level.bias_v, error)
            return
        if self._records % POOL_STATUS_EVERY == 0:
            self.pools.emit(self._pool_status())
        self._announce_ready()

    def _fill_array_round(self) -> None:
        """Every serving device of an array at its level at once: each pool gains bits.

        A drifted device stops it with `DriftError` (its bits are not used).
        """
        round_bank = self._bench.fill_array(self._calibration, bits_per_level=ARRAY_ROUND_BITS)
        for fresh in round_bank.pools:
            self._bank.pool(fresh.p_target).append(fresh.bits())
        self.pools.emit(self._pool_status())
        self._emit_state()
        self._announce_ready()

    def _announce_ready(self) -> None:
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
        lag1 = [autocorrelation(bits, 1) for bits in recent]
        monobits = [
            self._monobit.update(pool, bits, rho)
            for pool, bits, rho in zip(pools, recent, lag1, strict=True)
        ]
        return PoolStatus(
            levels=[pool.p_target for pool in pools],
            fill=[pool.n_bits / pool.capacity_bits for pool in pools],
            fill_bits=[pool.n_bits for pool in pools],
            measured=[pool.p_measured for pool in pools],
            raster=raster,
            lag1=lag1,
            monobit_p=[p_value for p_value, _ in monobits],
            monobit_failures=[failures for _, failures in monobits],
            overlap=[self._recent_overlap(pool) for pool in pools],
            window_bits=RECENT_BITS,
            devices=(
                [name for name, _ in self._calibration.assignment]
                if isinstance(self._calibration, ArrayCalibration)
                else []
            ),
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
        """Write every live record to a new trace file, with the instruments' *IDN?, the
        limits and the calibration in force (`LiveRecording`)."""
        self.stop_recording()
        bench = self._bench
        try:
            self._writer = LiveRecording(
                path,
                instrument=bench.readout.idn if bench is not None else "",
                smu=bench.instruments[bench.device.source].idn if bench is not None else "",
                limits=bench.limits if bench is not None else None,
            )
        except SmtjlabError as error:
            self.error.emit(f"cannot record to {path}: {error}")
            return
        self._note_calibration()
        self._recording = path
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
            self._writer.add(record)
        except SmtjlabError as error:
            self.error.emit(f"recording stopped: {error}")
            self.stop_recording()
            return
        if time.monotonic() - self._recording_shown >= RECORDING_STATUS_S:
            self._emit_state()  # the toolbar shows the recording's size and duration

    def _note_calibration(self) -> None:
        """Tell the recording the calibration in force (traces begun from now on carry it)."""
        from smtjlab.console import strict_json

        if self._writer is None or self._calibration is None:
            return
        calibration = self._calibration
        self._writer.set_calibration(
            strict_json(
                {
                    **calibration.summary(),
                    "timestamp": calibration.timestamp,
                    "meta": calibration.meta,
                }
            )
        )

    # -- state --------------------------------------------------------------------------------

    def _emit_state(self) -> None:
        smu = self._bench.source if self._bench is not None else None
        self.state.emit(
            BenchState(
                connected=smu is not None,
                description=self._description,
                bias_v=smu.bias_v if smu is not None else 0.0,
                output_on=bool(smu is not None and smu.output_enabled),
                source=self._source_key,
                recording=self._recording,
                recording_bytes=self._writer.size_bytes if self._writer is not None else 0,
                recording_seconds=self._writer.seconds if self._writer is not None else 0.0,
            )
        )
        self._recording_shown = time.monotonic()


class MonobitWatch:
    """The monobit test of each pool's newest `RECENT_BITS`, on windows that share no bit.

    A window is tested once it shares no bit with the last one tested (64 more bits than a
    window: up to 63 wait outside `BitPool.bits()` for a whole word), with the lag-1
    correlation measured on it accounted for, so successive verdicts are independent: an
    on-target pool fails one at the rate ALPHA and two in a row at ALPHA², which is what the
    Bit-pools view's red means.
    """

    FRESH_BITS = RECENT_BITS + 64

    def __init__(self) -> None:
        # Per level: (pool.appended when last tested, its p-value, failures in a row).
        self._last: dict[float, tuple[int, float, int]] = {}

    def update(self, pool: BitPool, bits: np.ndarray, lag1: float) -> tuple[float, int]:
        """(p-value, failures in a row) of the newest tested window of `pool`."""
        default = (-self.FRESH_BITS, math.nan, 0)
        tested, p_value, failures = self._last.get(pool.p_target, default)
        if len(bits) == RECENT_BITS and pool.appended - tested >= self.FRESH_BITS:
            p_value = monobit(bits, pool.p_target, lag1).p_value
            failures = failures + 1 if p_value < ALPHA else 0
            self._last[pool.p_target] = (pool.appended, p_value, failures)
        return p_value, failures


def calibration_message(result: Calibration | ArrayCalibration) -> CalibrationResult:
    """What the Calibration view draws; an array's per device (its worst fit in the label)."""
    own = result.devices if isinstance(result, ArrayCalibration) else {"": result}
    qualities = {name: cal.quality() for name, cal in own.items()}
    nearest = {
        (name, level.p_target): level.nearest_v
        for name, quality in qualities.items()
        for level in quality.coverage.levels
    }
    serving = (
        [name for name, _ in result.assignment]
        if isinstance(result, ArrayCalibration)
        else [""] * len(result.levels)
    )
    return CalibrationResult(
        v50=result.fit.v50,
        width=result.fit.width,
        points=[
            CalibrationPoint(pt.bias_v, pt.p_high, name)
            for name, cal in own.items()
            for pt in cal.points
        ],
        levels=[(lv.p_target, lv.bias_v, lv.p_measured) for lv in result.levels],
        fit_rms=max(quality.fit_rms for quality in qualities.values()),
        fit_rms_sigmas=max(quality.fit_rms_sigmas for quality in qualities.values()),
        nearest_v=[
            nearest[name, lv.p_target] for name, lv in zip(serving, result.levels, strict=True)
        ],
        warnings=_warnings(result),
        timestamp=result.timestamp,
        level_devices=[name for name in serving if name],
        fits=[(name, cal.fit.v50, cal.fit.width) for name, cal in own.items() if name],
    )


def _warnings(result: Calibration | ArrayCalibration) -> list[str]:
    if isinstance(result, ArrayCalibration):
        return result.warnings()
    return result.quality().warnings


def typed_station(resources, limits, visa_library: str = ""):
    """A station of resources typed per role: the first the SMU, the second the scope.

    Each must be the role its box names (`Bench.open` refuses a scope typed as the SMU)."""
    from dataclasses import replace

    from smtjlab.station import Station

    station = Station.from_resources(list(resources), limits=limits, visa_library=visa_library)
    specs = tuple(
        replace(spec, name=name, role=TYPED_ROLES[name])
        for spec, name in zip(station.instruments, TYPED_ROLES, strict=False)
    )
    return replace(station, instruments=specs)


def _histogram(record) -> tuple[np.ndarray, np.ndarray]:
    """Counts of every sample of a record and their volt edges; raw codes get whole codes per bin.

    All samples are counted (about 2 ms for 1 M codes, and only for the records drawn), so the
    histogram's "samples" are the record's.
    """
    if record.volts_per_code is None:
        return np.histogram(record.data, bins=HISTOGRAM_BINS)
    codes = record.data
    low, high = int(codes.min()), int(codes.max())
    # Whole codes per bin, so no bin catches one code more than its neighbours (a comb).
    step = max(1, -(-(high - low + 1) // HISTOGRAM_BINS))
    per_code = np.bincount(codes.astype(np.intp) - low)
    bins = -(-len(per_code) // step)
    counts = np.pad(per_code, (0, bins * step - len(per_code))).reshape(bins, step).sum(axis=1)
    edges_codes = low - 0.5 + step * np.arange(bins + 1)
    return counts, edges_codes * record.volts_per_code + record.offset_volts
