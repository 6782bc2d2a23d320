"""Headless recording: bias the device at each voltage, digitize its telegraph noise, save it.

For every bias the SMU ramps there, then the scope takes records of `record_points` until
`duration_s` of samples are in; each channel's record is appended to its trace (raw ADC codes
with their scale, DESIGN §5.1) and flushed at once, so a crash or SIGKILL leaves everything
recorded so far readable. The trace is the concatenation of records: the scope's dead time
between records is not in it. Each trace names the scope's and the SMU's *IDN? (`instrument`,
`smu`) and the limits (`limits`, JSON); `records/` holds the first sample and the start time
(ISO 8601 UTC) of every record in it.

However the run ends (done, an error, Ctrl-C, SIGTERM) the bias ramps to 0, the output turns
off and the file is closed intact. Biases are checked against the SMU's limits before anything
moves.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from smtjlab.acquisition.tracefile import Trace, TraceWriter
from smtjlab.instruments.roles import Scope, Source, Waveform
from smtjlab.instruments.safety import BiasLimits
from smtjlab.instruments.scpi import InstrumentError

Progress = Callable[[Iterable, str, int], Iterable]
BYTES_PER_SAMPLE = 2  # int16 ADC codes at most (WORD transfers; BYTE ones take 1)


def check_room(
    folder: str | os.PathLike, traces: int, duration_s: float, sample_rate: float
) -> None:
    """Refuse a recording whose samples would not fit on the disk that is to hold them."""
    needed = traces * math.ceil(duration_s * sample_rate) * BYTES_PER_SAMPLE
    free = shutil.disk_usage(folder).free
    if needed > free:
        raise InstrumentError(
            f"record: {traces} trace(s) of {duration_s:g} s at {sample_rate:g} Sa/s need "
            f"{needed / 1e9:.3g} GB ({BYTES_PER_SAMPLE} bytes a sample), more than the "
            f"{free / 1e9:.3g} GB free in {folder}"
        )


@dataclass
class RecordSummary:
    path: Path
    traces: list[dict] = field(default_factory=list)


def trace_name(channel: int, bias_v: float) -> str:
    return f"ch{channel}_bias_{bias_v:+.4f}V"


def raw_codes(wave: Waveform, scope_name: str) -> tuple:
    """(codes, volts_per_code, offset_volts) of a binary transfer; ASCII volts have no codes."""
    if wave.codes is None:
        raise InstrumentError(f"{scope_name}: channel {wave.channel} came as volts, not ADC codes")
    return wave.codes, wave.volts_per_code, wave.offset_volts


def record(
    smu: Source,
    scope: Scope,
    path: str | os.PathLike,
    biases: Sequence[float],
    duration_s: float,
    *,
    channels: Sequence[int] = (1,),
    sample_rate: float = 1e6,
    record_points: int = 1_000_000,
    settle_s: float = 0.0,
    source: str = "measured",
    smu_idn: str = "",
    progress: Progress | None = None,
) -> RecordSummary:
    """Record `duration_s` of samples per bias and channel into a new trace file at `path`.

    Each trace carries the scope's and the SMU's *IDN? and the limits; `records/` the first
    sample and start time of each record.
    """
    if not biases:
        raise InstrumentError("record: no bias points given")
    for bias in biases:
        smu.limits.check_bias(bias)
    if duration_s <= 0 or sample_rate <= 0 or record_points < 100:
        raise InstrumentError("record: need duration > 0, sample rate > 0 and >= 100 points")
    check_room(Path(path).parent, len(biases) * len(channels), duration_s, sample_rate)
    total = max(1, round(duration_s * sample_rate))
    points = min(record_points, total)
    records = math.ceil(total / points)
    steps = [(bias, index) for bias in biases for index in range(records)]
    if progress is not None:
        steps = progress(steps, f"recording {len(biases)} bias points", len(steps))
    instrument = scope.idn
    limits = json.dumps(asdict(smu.limits))
    summary = RecordSummary(Path(path))
    try:
        with TraceWriter(path) as writer:
            scope.configure_record(points, sample_rate)
            entries: dict[str, dict] = {}
            scales: dict[str, tuple[float, float]] = {}
            for bias, index in steps:
                if index == 0:
                    smu.set_bias(bias)
                    time.sleep(settle_s)
                    started_at = _now()
                record_started_at = _now()
                scope.digitize(*channels)
                for channel in channels:
                    name = trace_name(channel, bias)
                    wave = scope.fetch(channel, points=points)
                    codes, volts_per_code, offset_volts = raw_codes(wave, scope.name)
                    if name not in entries:
                        writer.create(
                            name,
                            sample_rate=wave.sample_rate,
                            bias_voltage=bias,
                            dtype=codes.dtype,
                            volts_per_code=volts_per_code,
                            offset_volts=offset_volts,
                            channel=channel,
                            started_at=started_at,
                            instrument=instrument,
                            smu=smu_idn or None,
                            limits=limits,
                            source=source,
                        )
                        scales[name] = (volts_per_code, offset_volts)
                        entries[name] = {
                            "name": name,
                            "bias_v": bias,
                            "channel": channel,
                            "sample_rate": wave.sample_rate,
                            "samples": 0,
                        }
                        summary.traces.append(entries[name])
                    elif scales[name] != (volts_per_code, offset_volts):
                        raise InstrumentError(f"{scope.name}: vertical scale changed during {name}")
                    take = min(len(codes), total - entries[name]["samples"])
                    writer.append(name, codes[:take])
                    writer.mark_record(name, entries[name]["samples"], record_started_at)
                    entries[name]["samples"] += take
    finally:
        smu.shutdown()
    return summary


class LiveRecording:
    """Live records appended to a new trace file as they come: one trace per visit to a bias.

    A bias visited again gets a numbered trace (`ch1_bias_+0.3000V_2`), so the trace file never
    splices two visits into one trace. Each trace carries the scope's and the SMU's *IDN?, the
    limits and the calibration in force when it began (`calibration`, JSON, set with
    `set_calibration`); each record's first sample and start time go to `records/`.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        instrument: str = "",
        smu: str = "",
        limits: BiasLimits | None = None,
    ) -> None:
        self.path = Path(path)
        self.instrument = instrument
        self.smu = smu
        self.limits = json.dumps(asdict(limits)) if limits is not None else None
        self.calibration: str | None = None
        self.seconds = 0.0  # of samples recorded, all traces together
        self._writer = TraceWriter(path)
        self._names: list[str] = []
        self._name = ""
        self._bias = math.nan
        self._samples = 0  # in the current trace

    def set_calibration(self, calibration: dict | None) -> None:
        """The calibration in force from now on (its `summary()` and timestamp), or None."""
        self.calibration = json.dumps(calibration) if calibration is not None else None

    @property
    def size_bytes(self) -> int:
        """The file's size on disk now (every record is flushed as it comes)."""
        try:
            return self.path.stat().st_size
        except OSError:
            return 0

    def add(self, trace: Trace) -> None:
        """Append one record (a `Trace` of raw codes, as `Bench.record` makes them)."""
        started_at = _now()
        if self._bias != trace.bias_voltage:
            self._bias = trace.bias_voltage
            channel = int(trace.attrs.get("channel", 1))
            name = trace_name(channel, trace.bias_voltage)
            visits = sum(1 for taken in self._names if taken.startswith(name))
            self._name = name if not visits else f"{name}_{visits + 1}"
            self._names.append(self._name)
            self._samples = 0
            self._writer.create(
                self._name,
                sample_rate=trace.sample_rate,
                bias_voltage=trace.bias_voltage,
                dtype=trace.data.dtype,
                volts_per_code=trace.volts_per_code,
                offset_volts=trace.offset_volts,
                source=trace.source,
                instrument=self.instrument,
                smu=self.smu or None,
                limits=self.limits,
                calibration=self.calibration,
                channel=channel,
                started_at=started_at,
            )
        self._writer.append(self._name, trace.data)
        self._writer.mark_record(self._name, self._samples, started_at)
        self._samples += len(trace.data)
        self.seconds += len(trace.data) / trace.sample_rate

    def close(self) -> None:
        self._writer.close()


def _now() -> str:
    """The time now, ISO 8601 UTC to the millisecond."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")
