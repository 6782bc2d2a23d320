"""The Bench: a source-measure unit and a scope, real or mock, wired to the acquisition layer.

    with Bench.mock(source="model") as bench:          # or Bench.connect(smu_visa, scope_visa)
        bench.set_bias(0.30)                            # through the limits, ramped
        record = bench.record()                         # one scope record as a Trace
        found = bench.digitize(record)                  # states, levels, p_high, dwells, τc
        bits = bench.measure_bits(0.30, 50_000)         # at least 50 000 bits at 0.30 V
        cal = bench.calibrate([0.25, 0.5, 0.75])        # sweep, fit, solve every level
        bank = bench.fill_bank(cal, bits_per_level=1 << 20)
    # leaving the block ramps the bias to 0 V and turns the output off, whatever happened

Bits come from each record on its own: its states are decimated at Δt = 2τc (τc measured on
that record), so no bit straddles the dead time between records. `fill` runs acquisition and
digitizing in two threads with a `RingBuffer` ("block": no record is lost) between them.
`mock_bit_bank` is the bit source behind `--bits mock`: the mock bench, calibrated and filled.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyvisa

from smtjlab.acquisition.bitstream import choose_interval, decimate
from smtjlab.acquisition.calibration import Calibration, Progress, calibrate
from smtjlab.acquisition.digitize import Digitized, digitize_trace
from smtjlab.acquisition.pool import BitBank, BitPool
from smtjlab.acquisition.ring import RingBuffer, RingClosed
from smtjlab.acquisition.tracefile import Trace
from smtjlab.errors import SmtjlabError
from smtjlab.instruments.discovery import DRIVERS, driver_for, identify, list_instruments
from smtjlab.instruments.infiniivision import InfiniiVision
from smtjlab.instruments.keithley import Keithley2400, SourceMeter
from smtjlab.instruments.safety import BiasLimits, load_limits
from smtjlab.instruments.scpi import InstrumentError

log = logging.getLogger(__name__)

RECORD_POINTS = 1_000_000
SAMPLE_RATE = 10e6  # 10 samples per τc of the default mock device (1 µs)
# The vertical setup `smtjlab acquire` uses: 25 mV/div about 0.15 V holds both readout levels
# of the divider over the whole safe bias range.
SCOPE_SCALE_V = 0.025
SCOPE_OFFSET_V = 0.15
SWEEP_RANGE = (0.15, 0.45)  # V; the mock device's sigmoid sits at 0.30 V, 25 mV wide


_DRIVERS = {driver.__name__: driver for driver in DRIVERS}


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
    """One SMU (bias) and one scope channel (readout); closing it makes the device safe."""

    def __init__(
        self,
        smu: SourceMeter,
        scope: InfiniiVision,
        *,
        channel: int = 1,
        points: int = RECORD_POINTS,
        sample_rate: float = SAMPLE_RATE,
        source: str = "measured",
        invert: bool = False,
    ) -> None:
        self.smu = smu
        self.scope = scope
        self.channel = channel
        self.points = points
        self.source = source
        self.invert = invert
        scope.channel(channel).scale = SCOPE_SCALE_V
        scope.channel(channel).offset = SCOPE_OFFSET_V
        scope.configure_record(points, sample_rate)

    @classmethod
    def mock(
        cls,
        source: str = "model",
        seed: int = 0,
        *,
        recording: str | None = None,
        limits: BiasLimits | None = None,
        **options,
    ) -> Bench:
        """The simulated bench through the mock VISA library (DESIGN §5.4)."""
        from smtjlab.mocks.bench import SimulatedBench
        from smtjlab.mocks.visa_library import (
            KEITHLEY_RESOURCE,
            SCOPE_RESOURCE,
            mock_resource_manager,
        )

        rm = mock_resource_manager(SimulatedBench(source, seed=seed, recording=recording))
        smu = Keithley2400(rm.open_resource(KEITHLEY_RESOURCE), limits or load_limits())
        try:
            scope = InfiniiVision(rm.open_resource(SCOPE_RESOURCE))
            return cls(smu, scope, source="synthetic", **options)
        except BaseException:
            smu.close()
            raise

    @classmethod
    def connect(
        cls,
        smu_resource: str,
        scope_resource: str,
        *,
        limits: BiasLimits | None = None,
        rm: pyvisa.ResourceManager | None = None,
        **options,
    ) -> Bench:
        """Real instruments, told apart by their *IDN? replies."""
        rm = rm or pyvisa.ResourceManager()
        smu_driver = driver_for(identify(rm, smu_resource), smu_resource)
        scope_driver = driver_for(identify(rm, scope_resource), scope_resource)
        if not issubclass(smu_driver, SourceMeter):
            raise InstrumentError(f"{smu_resource}: not a source-measure unit")
        if not issubclass(scope_driver, InfiniiVision):
            raise InstrumentError(f"{scope_resource}: not an oscilloscope")
        smu = smu_driver(rm.open_resource(smu_resource), limits or load_limits())
        try:
            return cls(smu, scope_driver(rm.open_resource(scope_resource)), **options)
        except BaseException:
            smu.close()
            raise

    @classmethod
    def discover(cls, *, rm: pyvisa.ResourceManager | None = None, **options) -> Bench:
        """Real instruments found on VISA: the first source-measure unit and scope that answer."""
        rm = rm or pyvisa.ResourceManager()
        found = [item for item in list_instruments(rm) if item.driver]

        def first(kind: type) -> str | None:
            matching = (item.resource for item in found if issubclass(_DRIVERS[item.driver], kind))
            return next(matching, None)

        smu, scope = first(SourceMeter), first(InfiniiVision)
        if smu is None or scope is None:
            missing = "source-measure unit" if smu is None else "oscilloscope"
            raise InstrumentError(
                f"no {missing} found on VISA; name them with --resource or use --mock"
            )
        return cls.connect(smu, scope, rm=rm, **options)

    # -- bias ---------------------------------------------------------------------------------

    @property
    def bias_v(self) -> float:
        return self.smu.bias_v

    @property
    def limits(self) -> BiasLimits:
        return self.smu.limits

    def set_bias(self, volts: float) -> None:
        """Ramp to `volts` through the SMU's limits (a refused request changes nothing)."""
        self.smu.set_bias(volts)

    # -- records, states and bits -------------------------------------------------------------

    def record(self) -> Trace:
        """Acquire and transfer one scope record of the channel, as raw codes with their scale."""
        self.scope.digitize(self.channel)
        wave = self.scope.fetch(self.channel, format="byte", points=self.points)
        codes, volts_per_code, offset_volts = wave.signed_codes()
        return Trace(
            name=f"ch{self.channel} at {self.bias_v:+.4f} V",
            data=codes,
            sample_rate=wave.sample_rate,
            bias_voltage=self.bias_v,
            volts_per_code=volts_per_code,
            offset_volts=offset_volts,
            attrs={"source": self.source},
        )

    def digitize(self, record: Trace) -> Digitized:
        return digitize_trace(record, invert=self.invert)

    def bits(self, record: Trace) -> np.ndarray:
        """The record's states decimated at 2τc (τc measured on the record)."""
        found = self.digitize(record)
        return decimate(found.states, choose_interval(found.tau_c_samples)).bits

    def measure_bits(self, bias_v: float, n_bits: int) -> np.ndarray:
        """At least `n_bits` bits at `bias_v`: the calibration's view of the bench."""
        self.set_bias(bias_v)
        chunks, total = [], 0
        while total < n_bits:
            chunk = self.bits(self.record())
            chunks.append(chunk)
            total += len(chunk)
        return np.concatenate(chunks)

    # -- calibration and pools ----------------------------------------------------------------

    def calibrate(
        self,
        levels: Sequence[float],
        bias_range: tuple[float, float] = SWEEP_RANGE,
        progress: Progress | None = None,
        **options,
    ) -> Calibration:
        """Sweep, fit and solve `levels` (smtjlab.acquisition.calibration.calibrate)."""
        for bias in bias_range:
            self.limits.check_bias(bias)  # refuse a range outside the limits up front
        result = calibrate(self.measure_bits, levels, bias_range, progress=progress, **options)
        result.meta.update(source=self.source, scope=self.scope.idn, smu=self.smu.idn)
        return result

    def fill(self, pool: BitPool, n_bits: int, ring_capacity: int = 4) -> FillReport:
        """Append at least `n_bits` new bits at the present bias to `pool`.

        One thread acquires records into a blocking ring buffer, this one digitizes them.
        """
        ring: RingBuffer[Trace] = RingBuffer(ring_capacity, policy="block")
        failure: list[BaseException] = []

        def acquire() -> None:
            try:
                while True:
                    ring.put(self.record())
            except RingClosed:
                pass
            except BaseException as error:  # reported by the consumer below
                failure.append(error)
                ring.close()

        started = time.perf_counter()
        producer = threading.Thread(target=acquire, name="bench acquisition", daemon=True)
        producer.start()
        records = added = 0
        try:
            for record in ring:
                bits = self.bits(record)
                pool.append(bits)
                records += 1
                added += len(bits)
                if added >= n_bits:
                    break
        finally:
            ring.close()
            producer.join()
        if failure:
            raise failure[0]
        return FillReport(records, added, time.perf_counter() - started, ring.dropped)

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

    # -- safety -------------------------------------------------------------------------------

    def close(self) -> None:
        """Ramp to 0 V, output off, then release both instruments."""
        try:
            self.smu.close()
        finally:
            self.scope.close()

    def __enter__(self) -> Bench:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def mock_bit_bank(
    levels: Sequence[float],
    *,
    bits_per_level: int = 1 << 20,
    source: str = "model",
    seed: int = 0,
    progress: Progress | None = None,
) -> BitBank:
    """Calibrate the mock bench for `levels` and fill one pool per level (`--bits mock`)."""
    levels = sorted(set(levels))
    if not levels:
        raise SmtjlabError("mock bit bank: no levels asked for")
    with Bench.mock(source=source, seed=seed) as bench:
        calibration = bench.calibrate(levels, progress=progress)
        return bench.fill_bank(calibration, bits_per_level, progress)
