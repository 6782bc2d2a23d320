"""The Bench: the one door to the instruments (DESIGN §1, §5.5), and the workflows run through it.

    with Bench.open(Station.load("lab.toml")) as bench:   # or Station.mock(), from_resources()
        bench.set_bias(0.30)                            # through the limits, ramped
        record = bench.record()                         # one scope record as a Trace
        found = bench.digitize(record)                  # states, levels, p_high, dwells, τc
        bits = bench.measure_bits(0.30, 50_000)         # at least 50 000 bits at 0.30 V
        cal = bench.calibrate([0.25, 0.5, 0.75])        # sweep, fit, solve every level
        bank = bench.fill_bank(cal, bits_per_level=1 << 20)
        bench.record_to_file("run.h5", [0.28, 0.30], duration_s=2)
    # leaving the block ramps every source to 0 V and turns its output off, whatever happened

`Bench.open` opens every instrument of the station with the driver its `model` (checked against
`*IDN?`) or its `*IDN?` names, and refuses a role the driver cannot play. The workflows act on
one device of the station at a time (`bench.device`, chosen with `select`): its source channel
biases it, its readout channel records it. Nothing here names a driver class: sources and scopes
are the protocols of `smtjlab.instruments.roles`.

Bits come from each record on its own: its states are decimated at Δt = 2τc (τc measured on
that record; `Bench.open(station, spacing=0.5)` takes them at 0.5τc instead, correlated on
purpose), so no bit straddles the dead time between records. `fill` runs acquisition and
digitizing in two threads with a `RingBuffer` ("block": no record is lost) between them.
`mock_bit_bank` is the bit source behind `--bits mock`: the mock bench, calibrated and filled.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyvisa

from smtjlab.acquisition.bitstream import (
    DEFAULT_SPACING,
    check_spacing,
    choose_interval,
    decimate,
)
from smtjlab.acquisition.calibration import (
    WATCH_BITS,
    ArrayCalibration,
    Calibration,
    DriftError,
    Progress,
    assign_levels,
    calibrate,
    drift_of,
)
from smtjlab.acquisition.digitize import Digitized, digitize_trace
from smtjlab.acquisition.pool import BitBank, BitPool
from smtjlab.acquisition.record import RecordSummary, raw_codes, record
from smtjlab.acquisition.ring import RingBuffer, RingClosed
from smtjlab.acquisition.tracefile import Trace
from smtjlab.errors import SmtjlabError
from smtjlab.inference.bitsource import BitSource, BitSourceError, IdealBits
from smtjlab.instruments import registry
from smtjlab.instruments.discovery import identify, list_instruments
from smtjlab.instruments.roles import Scope, Source
from smtjlab.instruments.safety import BiasLimits, final_state_line, shutdown_all, signals_held
from smtjlab.station import DeviceSpec, InstrumentSpec, Station, StationError, hosted

log = logging.getLogger(__name__)

RECORD_POINTS = 1_000_000
SWEEP_RANGE = (0.15, 0.45)  # V; the mock device's sigmoid sits at 0.30 V, 25 mV wide

# Final-state lines of the benches this process closed, for the command line to print.
_closed_states: list[str] = []


def take_final_states() -> list[str]:
    """The `smu: 0.000 V, output off` lines of every bench closed since the last call."""
    lines = list(_closed_states)
    _closed_states.clear()
    return lines


class CalibrationStopped(SmtjlabError):
    """The user stopped a calibration (`stop` was set); the bench is left as it was."""


@dataclass(frozen=True)
class FillReport:
    records: int
    bits: int
    seconds: float
    dropped: int

    @property
    def records_per_s(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else float("nan")


class Bench:
    """A station's opened instruments; closing it makes every source safe."""

    def __init__(
        self,
        station: Station,
        instruments: dict[str, Any],
        *,
        device: str | None = None,
        points: int = RECORD_POINTS,
        invert: bool = False,
        spacing: float = DEFAULT_SPACING,
    ) -> None:
        self.station = station
        self.instruments = instruments
        self.points = points
        self.invert = invert
        self.spacing = check_spacing(spacing)  # Δt/τc of every bit this bench takes
        self.origin = "synthetic" if station.is_mock else "measured"
        self.final_state: list[str] = []
        self._configured: dict[str, float] = {}  # each scope's record rate as last set
        for spec in station.devices:
            readout = instruments[spec.readout]
            readout.set_vertical(spec.readout_channel, spec.scale_v, spec.offset_v)
        self.select(device or station.devices[0].name)

    # -- opening --------------------------------------------------------------------------------

    @classmethod
    def open(cls, station: Station, **options: Any) -> Bench:
        """Open every instrument of `station` (DESIGN §5.5); a mock station gets a fresh world."""
        rm = resource_manager(station)
        opened: dict[str, Any] = {}
        try:
            specs = []
            for spec in station.instruments:
                instrument, role = _open_instrument(rm, spec, station)
                opened[spec.name] = instrument
                specs.append(replace(spec, role=role))
            station = _complete(replace(station, instruments=tuple(specs)), opened)
            return cls(station, opened, **options)
        except BaseException:
            _close_all(station, opened)
            raise

    def select(self, device: str) -> None:
        """Act on `device` (a `[[device]]` name) from now on."""
        for spec in self.station.devices:
            if spec.name == device:
                break
        else:
            raise StationError(f"{self.station.where}: no [[device]] named {device!r}")
        self.device: DeviceSpec = spec
        self.source: Source = self.instruments[spec.source].source(spec.source_channel)
        self.readout: Scope = self.instruments[spec.readout]
        self._configure(spec)

    def _configure(self, device: DeviceSpec) -> Scope:
        """The device's scope, set to record `points` at its rate (sent only when it changes)."""
        scope = self.instruments[device.readout]
        if self._configured.get(device.readout) != device.sample_rate:
            scope.configure_record(self.points, device.sample_rate)
            self._configured[device.readout] = device.sample_rate
        return scope

    @property
    def sources(self) -> dict[str, Source]:
        """Every source channel that biases a device, by its label (`smu`, `smu ch2`)."""
        found: dict[str, Source] = {}
        for spec in self.station.devices:
            instrument = self.instruments[spec.source]
            label = (
                spec.source
                if instrument.CHANNELS == 1
                else f"{spec.source} ch{spec.source_channel}"
            )
            found.setdefault(label, instrument.source(spec.source_channel))
        return found

    # -- bias -----------------------------------------------------------------------------------

    @property
    def bias_v(self) -> float:
        return self.source.bias_v

    @property
    def limits(self) -> BiasLimits:
        return self.source.limits

    def set_bias(self, volts: float) -> None:
        """Ramp the device's source to `volts` through its limits (a refusal changes nothing)."""
        self.source.set_bias(volts)

    def shutdown(self) -> None:
        """Ramp every source to 0 V and turn its output off; the bench stays open."""
        shutdown_all(self.sources.values())

    # -- records, states and bits ---------------------------------------------------------------

    def record(self) -> Trace:
        """Acquire and transfer one record of the device's readout: raw codes and their scale."""
        return self.records([self.device])[0]

    def records(self, devices: Sequence[DeviceSpec]) -> list[Trace]:
        """One record of each device, read on one scope in one acquisition of all their channels."""
        readouts = {spec.readout for spec in devices}
        if len(readouts) != 1:
            raise StationError(f"{self.station.where}: devices read on {sorted(readouts)} at once")
        scope = self._configure(devices[0])
        scope.digitize(*(spec.readout_channel for spec in devices))
        traces = []
        for spec in devices:
            wave = scope.fetch(spec.readout_channel, format="byte", points=self.points)
            codes, volts_per_code, offset_volts = raw_codes(wave, scope.name)
            bias = self.instruments[spec.source].source(spec.source_channel).bias_v
            traces.append(
                Trace(
                    name=f"{spec.name} at {bias:+.4f} V",
                    data=codes,
                    sample_rate=wave.sample_rate,
                    bias_voltage=bias,
                    volts_per_code=volts_per_code,
                    offset_volts=offset_volts,
                    attrs={
                        "source": self.origin,
                        "device": spec.name,
                        "channel": spec.readout_channel,
                    },
                )
            )
        return traces

    def digitize(self, record: Trace) -> Digitized:
        return digitize_trace(record, invert=self.invert)

    def bits_of(self, found: Digitized) -> np.ndarray:
        """A digitized record's states decimated at `spacing`·τc (τc measured on the record)."""
        return decimate(found.states, choose_interval(found.tau_c_samples, self.spacing)).bits

    def bits(self, record: Trace) -> np.ndarray:
        return self.bits_of(self.digitize(record))

    def measure_bits(self, bias_v: float, n_bits: int) -> np.ndarray:
        """At least `n_bits` bits at `bias_v`: the calibration's view of the bench."""
        self.set_bias(bias_v)
        chunks, total = [], 0
        while total < n_bits:
            chunk = self.bits(self.record())
            chunks.append(chunk)
            total += len(chunk)
        return np.concatenate(chunks)

    # -- calibration and pools ------------------------------------------------------------------

    def calibrate(
        self,
        levels: Sequence[float],
        bias_range: tuple[float, float] = SWEEP_RANGE,
        progress: Progress | None = None,
        *,
        on_point: Callable[[str, float, np.ndarray], None] | None = None,
        stop: threading.Event | None = None,
        **options: Any,
    ) -> Calibration:
        """Sweep, fit and solve `levels` (smtjlab.acquisition.calibration.calibrate).

        `on_point(phase, bias_v, bits)` sees every measurement ("sweep" or "levels"); setting
        `stop` ends the calibration at the next one with `CalibrationStopped`. The result's
        `quality()` judges the fit and the sweep's coverage, with its warnings.
        """
        for bias in bias_range:
            self.limits.check_bias(bias)  # refuse a range outside the limits up front
        phase = ["sweep"]

        def measure(bias_v: float, n_bits: int) -> np.ndarray:
            if stop is not None and stop.is_set():
                raise CalibrationStopped("calibration stopped by the user")
            bits = self.measure_bits(bias_v, n_bits)
            if on_point is not None:
                on_point(phase[0], bias_v, bits)
            return bits

        def track(items, description, total):
            phase[0] = description
            return progress(items, description, total) if progress else items

        result = calibrate(measure, levels, bias_range, progress=track, **options)
        result.meta.update(
            source=self.origin,
            device=self.device.name,
            scope=self.readout.idn,
            smu=self.instruments[self.device.source].idn,
        )
        return result

    def fill(self, pool: BitPool, n_bits: int, ring_capacity: int = 4) -> FillReport:
        """Append at least `n_bits` new bits at the present bias to `pool`.

        One thread acquires records into a blocking ring buffer, this one digitizes them.
        """
        added = [0]

        def take(traces: list[Trace]) -> bool:
            bits = self.bits(traces[0])
            pool.append(bits)
            added[0] += len(bits)
            return added[0] >= n_bits

        records, seconds, dropped = self._stream([self.device], take, ring_capacity)
        return FillReport(records, added[0], seconds, dropped)

    def _stream(
        self,
        devices: Sequence[DeviceSpec],
        take: Callable[[list[Trace]], bool],
        ring_capacity: int = 4,
    ) -> tuple[int, float, int]:
        """Acquire records of `devices` in a thread while `take` digitizes them, until it is done.

        Returns (acquisitions taken, seconds, records the ring dropped).
        Once `take` is done, the acquisition runs on until the ring is full, so a stream
        always makes exactly `taken + ring_capacity + 1` acquisitions: how far the thread ran
        ahead never depends on timing, and a simulated bench (whose every record draws from
        one random generator) gives the same bits in every run.
        """
        ring: RingBuffer[list[Trace]] = RingBuffer(ring_capacity, policy="block")
        failure: list[BaseException] = []

        def acquire() -> None:
            try:
                while True:
                    ring.put(self.records(devices))
            except RingClosed:
                pass
            except BaseException as error:  # reported by the consumer below
                failure.append(error)
                ring.close()

        started = time.perf_counter()
        producer = threading.Thread(target=acquire, name="bench acquisition", daemon=True)
        producer.start()
        taken = 0
        done = False
        try:
            for traces in ring:
                taken += 1
                if take(traces):
                    done = True
                    break
            if done:
                ring.wait_full()  # returns early if the acquisition fails (it closes the ring)
        finally:
            ring.close()
            producer.join()
        if failure:
            raise failure[0]
        return taken, time.perf_counter() - started, ring.dropped

    def fill_bank(
        self,
        calibration: Calibration,
        bits_per_level: int = 1 << 20,
        progress: Progress | None = None,
    ) -> BitBank:
        """One pool per calibrated level, filled at its bias."""
        bank = BitBank()
        levels = calibration.levels
        for level in progress(levels, "pools", len(levels)) if progress else levels:
            pool = BitPool(level.p_target, bits_per_level, bias_v=level.bias_v)
            self.set_bias(level.bias_v)
            report = self.fill(pool, bits_per_level)
            log.info(
                "pool p = %g: %d bits from %d records at %.4f V (measured %.4f)",
                level.p_target,
                report.bits,
                report.records,
                level.bias_v,
                pool.p_measured,
            )
            bank.add(pool)
        return bank

    # -- arrays: one device per level ------------------------------------------------------------

    def calibrate_array(
        self,
        levels: Sequence[float],
        bias_range: tuple[float, float] = SWEEP_RANGE,
        progress: Progress | None = None,
        **options: Any,
    ) -> ArrayCalibration:
        """Each device of the station calibrated for the levels it serves (`assign_levels`).

        Devices are swept one after the other, each with its own fit; the others stay at 0 V
        (one sweep per device: the mock scope, like a real one, acquires channels together, but
        each device's level search adapts to its own readings).
        """
        names = [spec.name for spec in self.station.devices]
        assignment = assign_levels(levels, names)
        chosen = self.device.name
        calibrations = {}
        try:
            for name in names:  # a device that serves no level is still fitted: a spare
                served = assignment.get(name, [])
                self.select(name)
                log.info("calibrating %s for levels %s", name, served)
                calibrations[name] = self.calibrate(served, bias_range, progress, **options)
                self.source.shutdown()  # the next device's sweep sees no neighbour biased
        finally:
            self.select(chosen)
        return ArrayCalibration(calibrations)

    def fill_array(
        self,
        calibration: ArrayCalibration,
        bits_per_level: int = 1 << 20,
        progress: Progress | None = None,
    ) -> BitBank:
        """One pool per level, every device at once: each biased at its level, all read together.

        A device serving several levels (fewer devices than levels) serves them in turn, one
        round per level; within a round every device streams into its own pool. Each device's
        newest `WATCH_BITS` bits are watched: a level that drifts out of tolerance stops the
        fill with `DriftError` (its bits are never used); each level is watched on its own.
        """
        specs = {spec.name: spec for spec in self.station.devices}
        served = {name: cal.levels for name, cal in calibration.devices.items() if cal.levels}
        pools: dict[float, BitPool] = {}
        recent: dict[float, np.ndarray] = {}  # each level's newest bits, watched for drift
        rounds = max(len(levels) for levels in served.values())
        for round_index in progress(range(rounds), "pools", rounds) if progress else range(rounds):
            active = [
                (specs[name], levels[round_index])
                for name, levels in served.items()
                if round_index < len(levels)
            ]
            for spec, level in active:
                pools[level.p_target] = BitPool(level.p_target, bits_per_level, bias_v=level.bias_v)
                self.instruments[spec.source].source(spec.source_channel).set_bias(level.bias_v)
            by_scope: dict[str, list[tuple[DeviceSpec, Any]]] = {}
            for spec, level in active:
                by_scope.setdefault(spec.readout, []).append((spec, level))
            for group in by_scope.values():
                group_pools = [pools[level.p_target] for _, level in group]

                def take(traces: list[Trace], group=group, group_pools=group_pools) -> bool:
                    for trace, pool, (spec, _) in zip(traces, group_pools, group, strict=True):
                        if pool.n_bits < bits_per_level:
                            bits = self.bits(trace)
                            pool.append(bits)
                            window = np.concatenate([recent.get(pool.p_target, bits[:0]), bits])
                            recent[pool.p_target] = window[-WATCH_BITS:]
                            _watch(spec, pool, recent[pool.p_target])
                    return all(pool.n_bits >= bits_per_level for pool in group_pools)

                self._stream([spec for spec, _ in group], take)
            for spec, level in active:
                log.info(
                    "pool p = %g from %s at %.4f V (measured %.4f)",
                    level.p_target,
                    spec.name,
                    level.bias_v,
                    pools[level.p_target].p_measured,
                )
        return BitBank(pools[p] for p in sorted(pools))

    # -- recording ------------------------------------------------------------------------------

    def record_to_file(
        self,
        path: str,
        biases: Sequence[float],
        duration_s: float,
        *,
        channels: Sequence[int] | None = None,
        sample_rate: float | None = None,
        settle_s: float = 0.0,
        progress: Progress | None = None,
    ) -> RecordSummary:
        """Record `duration_s` per bias of the device's readout channels into a new trace file."""
        try:
            return record(
                self.source,
                self.readout,
                path,
                biases,
                duration_s,
                channels=channels or [self.device.readout_channel],
                sample_rate=sample_rate or self.device.sample_rate,
                record_points=self.points,
                settle_s=settle_s,
                source=self.origin,
                smu_idn=self.instruments[self.device.source].idn,
                progress=progress,
            )
        finally:
            self._configured.pop(self.device.readout, None)  # record() set its own rate
            self._configure(self.device)

    # -- safety ---------------------------------------------------------------------------------

    def close(self) -> None:
        """Ramp every source to 0 V, output off, read the state back, release every instrument."""
        try:
            self.shutdown()
        finally:
            try:
                with signals_held():  # a signal now would cut the report short: it waits
                    self.final_state = [
                        final_state_line(label, source) for label, source in self.sources.items()
                    ]
                    _closed_states.extend(self.final_state)
            finally:  # a signal held above is raised as the block ends: close all the same
                _close_all(self.station, self.instruments)

    def __enter__(self) -> Bench:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _watch(device: DeviceSpec, pool: BitPool, recent: np.ndarray) -> None:
    """Refuse the bits of a device whose level drifted while it served (`drift_of`)."""
    drifted = drift_of(recent, pool.p_target)
    if drifted is not None:
        raise DriftError(
            f"{device.name} drifted while serving p = {pool.p_target:g}: its last {WATCH_BITS}"
            f" bits have P(1) = {drifted:.4f} at {pool.bias_v:.4f} V; its pool is not used"
            " (recalibrate the array)"
        )


# -- opening instruments --------------------------------------------------------------------------


def resource_manager(station: Station) -> pyvisa.ResourceManager:
    """The station's VISA library: a fresh mock world for `@smtjlab`, else the spec it names."""
    try:
        if station.is_mock:
            # Model-less instruments (`--resource` on @smtjlab), or none yet (discovery), address
            # the default mock station.
            known = bool(station.instruments) and all(spec.model for spec in station.instruments)
            return pyvisa.ResourceManager(hosted(station if known else Station.mock()))
        try:
            return pyvisa.ResourceManager(station.visa_library)
        except (OSError, ValueError):
            if station.visa_library:
                raise
            return pyvisa.ResourceManager("@py")  # no vendor VISA: the pure-Python backend
    except (OSError, ValueError) as error:
        reason = " ".join(str(error).split())
        raise StationError(
            f"{station.where}: key 'visa_library': cannot load {station.visa_library!r} ({reason})"
        ) from None


def _open_instrument(
    rm: pyvisa.ResourceManager, spec: InstrumentSpec, station: Station
) -> tuple[Any, str]:
    where = f"{station.where}: [[instrument]] {spec.name!r}"
    try:
        idn = identify(rm, spec.resource)
    except SmtjlabError as error:
        raise StationError(f"{where}: key 'resource': {error}") from None
    try:
        if spec.model is None:
            driver = registry.by_idn(idn, spec.resource)
        else:
            driver = registry.by_model(spec.model)
            registry.check_idn(driver, idn, spec.resource)
    except SmtjlabError as error:
        raise StationError(f"{where}: key 'model': {error}") from None
    if spec.role is not None and driver.role != spec.role:
        raise StationError(
            f"{where}: key 'role': {spec.resource} is a {driver.model} ({driver.role}),"
            f" it cannot be a {spec.role}"
        )
    resource = rm.open_resource(spec.resource)
    try:
        if driver.role == "source":
            return driver.cls(resource, station.limits), driver.role
        return driver.cls(resource), driver.role
    except BaseException:
        resource.close()
        raise


def _complete(station: Station, opened: dict[str, Any]) -> Station:
    """A station without `[[device]]` tables (`--resource`): its first source and scope."""
    for spec in station.devices:
        for key, channel in (("source", spec.source_channel), ("readout", spec.readout_channel)):
            instrument = opened[getattr(spec, key)]
            if channel > instrument.CHANNELS:
                raise StationError(
                    f"{station.where}: [[device]] {spec.name!r}: key '{key}_channel':"
                    f" {getattr(spec, key)!r} has no channel {channel}"
                )
    if station.devices:
        return station
    names = [spec.resource for spec in station.instruments]
    source = next((s.name for s in station.instruments if s.role == "source"), None)
    scope = next((s.name for s in station.instruments if s.role == "scope"), None)
    if source is None or scope is None:
        missing = "a source-measure unit" if source is None else "an oscilloscope"
        raise StationError(f"none of {names} is {missing}")
    return replace(station, devices=(DeviceSpec("device", source, scope),))


def _close_all(station: Station, instruments: dict[str, Any]) -> None:
    """Close every instrument, sources first (each ramps its outputs down as it closes)."""
    roles = {spec.name: spec.role for spec in station.instruments}
    ordered = sorted(instruments, key=lambda name: roles.get(name) != "source")
    failure: BaseException | None = None
    for name in ordered:
        try:
            instruments[name].close()
        except BaseException as error:  # the others are still closed; the first one is raised
            failure = failure or error
    if failure is not None:
        raise failure


def discover_station(limits: BiasLimits | None = None) -> Station:
    """The first source-measure unit and scope that answer on the system's VISA."""
    probe = Station.from_resources([], limits=limits)
    found = [item for item in list_instruments(resource_manager(probe)) if item.model]
    smu = next((item.resource for item in found if item.role == "source"), None)
    scope = next((item.resource for item in found if item.role == "scope"), None)
    if smu is None or scope is None:
        missing = "source-measure unit" if smu is None else "oscilloscope"
        raise StationError(
            f"no {missing} found on VISA; name them with --resource or --station, or use --mock"
        )
    return Station.from_resources([smu, scope], limits=limits)


def mock_bit_bank(
    levels: Sequence[float],
    *,
    bits_per_level: int = 1 << 20,
    source: str = "model",
    seed: int = 0,
    spacing: float = DEFAULT_SPACING,
    level_error: float = 0.0,
    level_signs: str = "random",
    limits: BiasLimits | None = None,
    progress: Progress | None = None,
    **calibration: Any,
) -> BitBank:
    """Calibrate the mock bench for `levels` and fill one pool per level (`--bits mock`).

    `spacing` is the bits' interval Δt/τc (`Bench`). `level_error` miscalibrates on purpose:
    each level's bias is solved for p ± level_error and its pool still serves p, so it sits at
    the edge of a ±level_error calibration band; the signs are drawn from `seed`, one per
    level (`level_signs="random"`) or one for all (`"common"`, as when V50 moved after
    calibration). (The calibration's own tolerance cannot do that: its first guess from the
    fit already lands within about 0.002 of the target, whatever the tolerance accepts.)
    `calibration` options go to `calibrate` (`tolerance`, `sweep_bits`, `verify_bits`, ...);
    `limits` are the mock station's bias limits."""
    levels = sorted(set(levels))
    if not levels:
        raise SmtjlabError("mock bit bank: no levels asked for")
    if level_signs not in ("random", "common"):
        raise SmtjlabError(f"level signs {level_signs!r}: use random or common")
    drawn = np.random.default_rng(seed).choice(
        (-1.0, 1.0), 1 if level_signs == "common" else len(levels)
    )
    signs = np.broadcast_to(drawn, len(levels))
    asked = [p + sign * level_error for p, sign in zip(levels, signs, strict=True)]
    if not all(0 < p < 1 for p in asked):
        raise SmtjlabError(f"level error {level_error:g} takes a level of {levels} out of (0, 1)")
    with Bench.open(Station.mock(source, seed, limits=limits), spacing=spacing) as bench:
        result = bench.calibrate(asked, progress=progress, **calibration)
        # the mis-set calibration: each level's bias serves the level it was not solved for
        result.levels = [
            replace(level, p_target=p) for level, p in zip(result.levels, levels, strict=True)
        ]
        return bench.fill_bank(result, bits_per_level, progress)


def open_bit_source(spec: str, levels: list[float]) -> BitSource:
    """The bit source named on a command line: "ideal", "mock" or a bit-pool file.

    `levels` are the device levels the model needs; the mock bench fills one pool per level.
    """
    if spec == "ideal":
        return IdealBits()
    if spec == "mock":
        return mock_bit_bank(levels)
    if not Path(spec).is_file():
        raise BitSourceError(f"{spec}: no such bit-pool file (or use --bits ideal|mock)")
    return BitBank.load(spec)
