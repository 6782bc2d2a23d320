"""Trace files (DESIGN §5.1): HDF5 with one 1-D dataset per acquisition under `traces/`.

`TraceWriter` appends chunks and flushes after each one, so a process killed mid-acquisition
leaves a file holding every chunk flushed before the kill. `read_traces` validates the contract
and raises `TraceFileError` naming what is wrong.

Beyond DESIGN's attributes a trace may carry `smu` (the source's *IDN? reply), `limits` and
`calibration` (JSON text: the bias limits, the calibration in force), and a trace made of
several records may list them in the optional group `records/`: one dataset per trace, the
same name, of rows (start: the record's first sample in the trace, started_at: ISO 8601 UTC).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from smtjlab.errors import SmtjlabError

FORMAT = "smtjlab.traces"
VERSION = 1
SOURCES = ("measured", "synthetic")
OPTIONAL_ATTRS = (
    "device",
    "channel",
    "field_oe",
    "temperature_k",
    "started_at",
    "instrument",
    "source",
    "smu",  # the *IDN? reply of the source-measure unit biasing the device
    "limits",  # JSON: the bias limits in force (BiasLimits' fields)
    "calibration",  # JSON: the calibration in force when the trace began
)
# One row per record of a trace: its first sample's index and its start, ISO 8601 UTC.
RECORD_DTYPE = np.dtype([("start", np.int64), ("started_at", "S40")])
CHUNK_SAMPLES = 1 << 16
# What a trace's numbers may be. Past these bounds a file is wrong, not exotic: digitizing it
# would give dwell times in years or volts in the billions without a word.
SAMPLE_RATE_HZ = (1.0, 1e12)  # a slow data logger ... past any real-time digitizer
VOLTS_PER_CODE = (1e-12, 100.0)  # one ADC step: a 24-bit converter ... a 1:100 probe at 10 V/div
MAX_ABS_VOLTS = 1e3  # bias and offset: past the range of any source-measure unit
SCALE_ATTRS = ("volts_per_code", "offset_volts")  # of integer ADC codes
TEXT_ATTRS = ("device", "started_at", "instrument", "source", "smu", "limits", "calibration")
NUMBER_ATTRS = ("field_oe", "temperature_k")


class TraceFileError(SmtjlabError):
    """A trace file that cannot be read or breaks the DESIGN §5.1 contract."""


@dataclass
class Trace:
    """One acquisition: raw samples (volts, or ADC codes with their scale) and metadata."""

    name: str
    data: np.ndarray
    sample_rate: float
    bias_voltage: float
    volts_per_code: float | None = None
    offset_volts: float | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    states: np.ndarray | None = None
    bits: np.ndarray | None = None
    bits_interval: int | None = None
    bits_offset: int | None = None
    records: list[tuple[int, str]] | None = None  # (first sample, started_at) of each record

    @property
    def is_codes(self) -> bool:
        return self.volts_per_code is not None

    @property
    def volts(self) -> np.ndarray:
        if self.volts_per_code is None:
            return self.data
        return (self.data * np.float32(self.volts_per_code) + np.float32(self.offset_volts)).astype(
            np.float32, copy=False
        )

    @property
    def source(self) -> str | None:
        return self.attrs.get("source")


class TraceWriter:
    """Write trace files chunk by chunk; use as a context manager.

    >>> with TraceWriter("run.h5") as writer:
    ...     writer.create("bias_0.100V", sample_rate=1e6, bias_voltage=0.1)
    ...     writer.append("bias_0.100V", volts)
    """

    def __init__(self, path: str | os.PathLike, mode: str = "w") -> None:
        if mode not in ("w", "a"):
            raise ValueError("mode must be 'w' (new file) or 'a' (append to an existing file)")
        self.path = Path(path)
        try:
            self._file = h5py.File(self.path, mode)
        except OSError as error:
            raise TraceFileError(f"{self.path}: cannot open for writing ({error})") from None
        if mode == "w" or "format" not in self._file.attrs:
            self._file.attrs["format"] = FORMAT
            self._file.attrs["version"] = VERSION
        self._traces = self._file.require_group("traces")
        self._file.flush()

    def create(
        self,
        name: str,
        *,
        sample_rate: float,
        bias_voltage: float,
        dtype: Any = np.float32,
        volts_per_code: float | None = None,
        offset_volts: float | None = None,
        compression: str | None = None,
        **attrs: Any,
    ) -> None:
        """Start an empty trace; integer dtypes need `volts_per_code` and `offset_volts`."""
        dtype = np.dtype(dtype)
        is_codes = np.issubdtype(dtype, np.integer)
        if is_codes and (volts_per_code is None or offset_volts is None):
            raise TraceFileError(f"trace {name!r}: ADC codes need volts_per_code and offset_volts")
        if not is_codes and dtype != np.float32:
            raise TraceFileError(f"trace {name!r}: samples are float32 volts or integer codes")
        if name in self._traces:
            raise TraceFileError(f"{self.path}: trace {name!r} already exists")
        where = f"{self.path}: trace {name!r}"
        check_scale(where, sample_rate, bias_voltage, volts_per_code, offset_volts)
        attrs = checked_attrs(where, {k: v for k, v in attrs.items() if v is not None})
        dataset = self._traces.create_dataset(
            name,
            shape=(0,),
            maxshape=(None,),
            dtype=dtype,
            chunks=(CHUNK_SAMPLES,),
            compression=compression,
        )
        dataset.attrs["sample_rate"] = float(sample_rate)
        dataset.attrs["bias_voltage"] = float(bias_voltage)
        if is_codes:
            dataset.attrs["volts_per_code"] = float(volts_per_code)
            dataset.attrs["offset_volts"] = float(offset_volts)
        dataset.attrs.update(attrs)
        self._file.flush()

    def append(self, name: str, samples: np.ndarray) -> None:
        """Append samples to a trace and flush them to disk."""
        _append(self._traces[name], samples)
        self._file.flush()

    def mark_record(self, name: str, start: int, started_at: str) -> None:
        """Note that the record starting at sample `start` of a trace began at `started_at`."""
        group = self._file.require_group("records")
        if name not in group:
            group.create_dataset(name, shape=(0,), maxshape=(None,), dtype=RECORD_DTYPE)
        row = np.array([(start, started_at.encode())], dtype=RECORD_DTYPE)
        _append(group[name], row)
        self._file.flush()

    def write_states(self, name: str, states: np.ndarray) -> None:
        self._write_sibling("states", name, np.asarray(states, dtype=np.uint8), {})

    def write_bits(self, name: str, bits: np.ndarray, interval: int, offset: int) -> None:
        attrs = {"interval": int(interval), "offset": int(offset)}
        self._write_sibling("bits", name, np.asarray(bits, dtype=np.uint8), attrs)

    def write_trace(self, trace: Trace, compression: str | None = None) -> None:
        """Write a whole `Trace`, its states and bits included."""
        self.create(
            trace.name,
            sample_rate=trace.sample_rate,
            bias_voltage=trace.bias_voltage,
            dtype=trace.data.dtype,
            volts_per_code=trace.volts_per_code,
            offset_volts=trace.offset_volts,
            compression=compression,
            **{k: v for k, v in trace.attrs.items() if k in OPTIONAL_ATTRS},
        )
        self.append(trace.name, trace.data)
        if trace.states is not None:
            self.write_states(trace.name, trace.states)
        if trace.bits is not None:
            self.write_bits(trace.name, trace.bits, trace.bits_interval, trace.bits_offset)
        for start, started_at in trace.records or ():
            self.mark_record(trace.name, start, started_at)

    def _write_sibling(self, group: str, name: str, values: np.ndarray, attrs: dict) -> None:
        target = self._file.require_group(group)
        if name in target:
            del target[name]
        dataset = target.create_dataset(name, data=values, chunks=True, maxshape=(None,))
        dataset.attrs.update(attrs)
        self._file.flush()

    def close(self) -> None:
        if self._file.id.valid:
            self._file.flush()
            self._file.close()

    def __enter__(self) -> TraceWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _append(dataset: h5py.Dataset, samples: np.ndarray) -> None:
    samples = np.asarray(samples)
    if samples.ndim != 1:
        raise TraceFileError(f"trace {dataset.name}: chunks must be 1-D, got shape {samples.shape}")
    start = dataset.shape[0]
    dataset.resize((start + len(samples),))
    dataset[start:] = samples.astype(dataset.dtype, copy=False)


def read_traces(path: str | os.PathLike) -> list[Trace]:
    """Read and validate every trace in a file."""
    with open_trace_file(path) as file:
        return [_read_one(file, name, path) for name in file["traces"]]


def trace_names(path: str | os.PathLike) -> list[str]:
    with open_trace_file(path) as file:
        return list(file["traces"])


def read_trace(path: str | os.PathLike, name: str) -> Trace:
    with open_trace_file(path) as file:
        if name not in file["traces"]:
            raise TraceFileError(f"{path}: no trace named {name!r}")
        return _read_one(file, name, path)


def sample_count(path: str | os.PathLike) -> int:
    """How many samples the traces of a file hold, all traces together."""
    with open_trace_file(path) as file:
        return sum(len(dataset) for dataset in file["traces"].values())


@contextmanager
def open_trace_file(path: str | os.PathLike) -> Iterator[h5py.File]:
    """Open a trace file read-only after checking its format attributes."""
    path = Path(path)
    if not path.is_file():
        raise TraceFileError(f"{path}: no such file")
    try:
        file = h5py.File(path, "r", locking=False)
    except OSError as error:
        raise TraceFileError(f"{path}: not a readable HDF5 file ({error})") from None
    with file:
        _check_header(file, path)
        yield file


def iter_traces(path: str | os.PathLike) -> Iterator[Trace]:
    """Yield traces one at a time, for files too large to hold at once."""
    for name in trace_names(path):
        yield read_trace(path, name)


def _check_header(file: h5py.File, path: Path) -> None:
    found = _plain(file.attrs.get("format"))
    if not isinstance(found, str) or found != FORMAT:
        raise TraceFileError(f"{path}: attribute format is {found!r}, not {FORMAT!r}")
    version = _plain(file.attrs.get("version"))
    if not isinstance(version, int) or isinstance(version, bool) or version != VERSION:
        raise TraceFileError(
            f"{path}: unsupported version {version!r} (this reader knows {VERSION})"
        )
    if not isinstance(file.get("traces"), h5py.Group):
        raise TraceFileError(f"{path}: missing group 'traces'")


def _read_one(file: h5py.File, name: str, path: str | os.PathLike) -> Trace:
    where = f"{path}: trace {name!r}"
    dataset = file["traces"][name]
    if not isinstance(dataset, h5py.Dataset) or dataset.ndim != 1:
        raise TraceFileError(f"{where}: must be a 1-D dataset")
    attrs = dict(dataset.attrs)
    for key in ("sample_rate", "bias_voltage"):
        if key not in attrs:
            raise TraceFileError(f"{where}: missing attribute {key!r}")
    is_codes = np.issubdtype(dataset.dtype, np.integer)
    if is_codes and not {"volts_per_code", "offset_volts"} <= attrs.keys():
        raise TraceFileError(f"{where}: integer ADC codes need volts_per_code and offset_volts")
    if not is_codes and dataset.dtype != np.float32:
        raise TraceFileError(f"{where}: dtype {dataset.dtype} is neither float32 nor integer")
    scale = {key: _number(where, key, attrs[key]) for key in ("sample_rate", "bias_voltage")}
    if is_codes:
        scale.update({key: _number(where, key, attrs[key]) for key in SCALE_ATTRS})
    check_scale(where, **scale)
    try:
        data = dataset[()]
    except OSError as error:
        raise TraceFileError(f"{where}: unreadable data ({error})") from None
    trace = Trace(
        name=name,
        data=data,
        attrs=checked_attrs(where, {k: attrs[k] for k in OPTIONAL_ATTRS if k in attrs}),
        **scale,
    )
    states = file["states"].get(name) if "states" in file else None
    if states is not None:
        if states.shape != dataset.shape or states.dtype != np.uint8:
            raise TraceFileError(f"{where}: states must be uint8 of the trace's length")
        trace.states = states[()]
    bits = file["bits"].get(name) if "bits" in file else None
    if bits is not None:
        if bits.ndim != 1 or bits.dtype != np.uint8:
            raise TraceFileError(f"{where}: bits must be a 1-D uint8 dataset")
        if not {"interval", "offset"} <= bits.attrs.keys():
            raise TraceFileError(f"{where}: bits need the attributes interval and offset")
        trace.bits = bits[()]
        trace.bits_interval = _integer(f"{where}: bits", "interval", bits.attrs["interval"], 1)
        trace.bits_offset = _integer(f"{where}: bits", "offset", bits.attrs["offset"], 0)
    records = file["records"].get(name) if "records" in file else None
    if records is not None:
        trace.records = _records(where, records, len(data))
    return trace


def _records(where: str, dataset: h5py.Dataset, samples: int) -> list[tuple[int, str]]:
    """The (start, started_at) rows of a trace's records, checked against its length."""
    if dataset.ndim != 1 or dataset.dtype != RECORD_DTYPE:
        raise TraceFileError(f"{where}: records must be rows of (start int64, started_at text)")
    rows = [(int(start), _plain(when)) for start, when in dataset[()]]
    starts = [start for start, _ in rows]
    if starts != sorted(starts) or any(not 0 <= start <= samples for start in starts):
        raise TraceFileError(
            f"{where}: record starts must rise within the trace's {samples} samples"
        )
    return rows


def check_scale(
    where: str,
    sample_rate: float,
    bias_voltage: float,
    volts_per_code: float | None = None,
    offset_volts: float | None = None,
) -> None:
    """Refuse a sample rate, bias or ADC scale that is not finite or is absurd (bounds above)."""
    values = {
        "sample_rate": sample_rate,
        "bias_voltage": bias_voltage,
        "volts_per_code": volts_per_code,
        "offset_volts": offset_volts,
    }
    for key, value in values.items():
        if value is not None:
            _number(where, key, value)
    low, high = SAMPLE_RATE_HZ
    if not low <= sample_rate <= high:
        raise TraceFileError(
            f"{where}: sample_rate {sample_rate:g} Hz is outside [{low:g}, {high:g}] Hz"
        )
    for key in ("bias_voltage", "offset_volts"):
        if values[key] is not None and abs(values[key]) > MAX_ABS_VOLTS:
            raise TraceFileError(f"{where}: {key} {values[key]:g} V is beyond ±{MAX_ABS_VOLTS:g} V")
    low, high = VOLTS_PER_CODE
    if volts_per_code is not None and not low <= volts_per_code <= high:
        raise TraceFileError(
            f"{where}: volts_per_code {volts_per_code:g} is outside [{low:g}, {high:g}] V "
            "(an ADC step is positive)"
        )


def checked_attrs(where: str, attrs: dict[str, Any]) -> dict[str, Any]:
    """The optional attributes as plain values, each of its documented type (DESIGN §5.1)."""
    unknown = set(attrs) - set(OPTIONAL_ATTRS)
    if unknown:
        raise TraceFileError(f"{where}: unknown attributes {sorted(unknown)}")
    plain = {key: _plain(value) for key, value in attrs.items()}
    for key in TEXT_ATTRS:
        if key in plain and not isinstance(plain[key], str):
            raise TraceFileError(
                f"{where}: attribute {key!r} must be text, not {_describe(plain[key])}"
            )
    for key in NUMBER_ATTRS:
        if key in plain:
            plain[key] = _number(where, key, plain[key])
    if "channel" in plain:
        plain["channel"] = _integer(where, "channel", plain["channel"], 1)
    if plain.get("source", "measured") not in SOURCES:
        raise TraceFileError(f"{where}: source {plain['source']!r} is not one of {SOURCES}")
    return plain


def _number(where: str, key: str, value: Any) -> float:
    value = _plain(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TraceFileError(f"{where}: attribute {key!r} must be a number, not {_describe(value)}")
    if not math.isfinite(value):
        raise TraceFileError(f"{where}: attribute {key!r} is not finite")
    return float(value)


def _integer(where: str, key: str, value: Any, minimum: int) -> int:
    value = _plain(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise TraceFileError(
            f"{where}: attribute {key!r} must be an integer >= {minimum}, not {_describe(value)}"
        )
    return value


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if isinstance(value, str | int | float):
        return repr(value)
    return f"a {type(value).__name__}"


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    if isinstance(value, np.generic):
        return value.item()
    return value
