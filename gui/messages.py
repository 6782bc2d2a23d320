"""Plain data the worker threads send to the views through queued signals.

Workers do the heavy numpy work (histograms, statistics, decimation) in their own thread, so a
message carries only what a view draws; the GUI thread never touches an instrument.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import PurePath

import numpy as np


@dataclass(frozen=True)
class Resource:
    """One discovered instrument: its VISA resource string and its *IDN? reply."""

    name: str
    idn: str
    role: str  # "smu", "scope", or "unknown"


@dataclass(frozen=True)
class BenchState:
    """What the status bar shows about the instruments."""

    connected: bool
    description: str = ""
    bias_v: float = 0.0
    output_on: bool = False
    source: str = ""  # "mock model", "mock replay", "replay FILE", or a resource name
    recording: str = ""  # the trace file being written, if any
    recording_bytes: int = 0  # its size on disk now
    recording_seconds: float = 0.0  # the samples it holds, in seconds of trace

    def recording_summary(self) -> str:
        """'● live.h5: 12.3 MB, 4.50 s of trace' while recording, else ''."""
        if not self.recording:
            return ""
        name = PurePath(self.recording).name
        size = self.recording_bytes / 1e6
        return f"● {name}: {size:.1f} MB, {self.recording_seconds:.2f} s of trace"


@dataclass(frozen=True)
class LiveFrame:
    """One scope frame, digitized: the display window of the trace and its statistics."""

    volts: np.ndarray  # the scrolling window, float32
    sample_rate: float
    t0: float  # time of volts[0] since acquisition started, s
    hist_edges: np.ndarray
    hist_counts: np.ndarray
    low_v: float
    high_v: float
    threshold_v: float
    p_high: float
    tau_c: float  # s
    bias_v: float
    records: int  # scope records acquired so far, drawn or not


@dataclass(frozen=True)
class CalibrationPoint:
    bias_v: float
    p_high: float
    device: str = ""  # the station's device, on a bench with several


@dataclass(frozen=True)
class CalibrationProgress:
    """Step `done` of `total` of a running calibration (a level counts as one step)."""

    done: int
    total: int
    phase: str  # "sweep" or "levels"
    seconds_left: float  # at least this long (a level may take several tries); NaN: unknown


@dataclass(frozen=True)
class CalibrationResult:
    """The fitted sigmoid and where each target level landed."""

    v50: float
    width: float
    points: list[CalibrationPoint]
    levels: list[tuple[float, float, float]]  # (p_target, bias_v, p_measured)
    # The fit's quality (smtjlab.acquisition.calibration.Quality): any warning shows amber.
    fit_rms: float = math.nan  # occupancy units
    fit_rms_sigmas: float = math.nan  # in units of the points' binomial σ
    nearest_v: list[float] = field(default_factory=list)  # each level's nearest sweep bias, V
    warnings: list[str] = field(default_factory=list)
    timestamp: str = ""  # ISO 8601, when it was made
    # An array (a station with several devices): the device serving each level, and every
    # device's own fit (name, v50, width); empty for one device.
    level_devices: list[str] = field(default_factory=list)
    fits: list[tuple[str, float, float]] = field(default_factory=list)


@dataclass(frozen=True)
class PoolStatus:
    """Fill and randomness of the bit pool of every probability level."""

    levels: list[float]
    fill: list[float]  # 0 … 1
    fill_bits: list[int]
    measured: list[float]  # fraction of ones over the whole pool
    raster: np.ndarray  # (levels, n) uint8: the most recent bits of each pool
    lag1: list[float]
    # p-value of the monobit (frequency) test against the level, lag-1 correlation accounted
    # for, on the newest window of `window_bits` that shares no bit with the one tested before
    monobit_p: list[float]
    overlap: list[float]  # fraction of drawn segments that overlapped another of the same image
    window_bits: int  # how many of the newest bits the raster's indicators looked at
    # Per level, how many such windows in a row failed the monobit test (p < ALPHA); none: 0.
    monobit_failures: list[int] = field(default_factory=list)
    devices: list[str] = field(default_factory=list)  # an array's device serving each level


@dataclass(frozen=True)
class InferenceStep:
    """The output counters of one image after `bits_done` of `length` clock cycles."""

    image_index: int  # into the MNIST test set, or -1 for a drawn digit
    image: np.ndarray  # (28, 28) uint8
    label: int  # -1 when unknown (a drawn digit)
    counts: np.ndarray  # (10,) output-layer counters D_j so far
    bits_done: int
    length: int
    final: bool
    prediction: int  # argmax of the scores estimated from the cycles so far
    # What classified it, for the run's results file (gui/run_results.py).
    model: str = ""  # the checkpoint: a shipped name or a file path
    bits: str = ""  # where the network's bits came from: "s-MTJ bit pools" or "ideal PRNG"


@dataclass(frozen=True)
class InferenceTally:
    """One stream of test images so far: how many, how many right, and how long it took."""

    images: int
    correct: int
    elapsed_s: float  # wall time since the stream started
    compute_s: float  # the part of it the engine spent classifying

    @property
    def images_per_s(self) -> float:
        """The stream's throughput: images over its wall time (display pacing included)."""
        return self.images / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def engine_images_per_s(self) -> float:
        """What the engine alone would do: images over the time spent in it."""
        return self.images / self.compute_s if self.compute_s > 0 else 0.0
