"""The shared simulated world behind every mock instrument (DESIGN §5.4).

One `SimulatedBench` holds the s-MTJs (one per readout channel) and the state of every source
output wired to them. `wiring[k]` names the output biasing junction k (`"smu:1"`: instrument
`smu`, channel 1; a station's devices set it). A mock SMU channel writes its output with
`set_output`; the mock scopes, the serial-digitizer mock and calibration read `sample(k, ...)`,
so the bias set on an SMU changes what they record on the junctions it is wired to.

Junctions are 0-based here: scope CHANnel1 of the default bench reads junction 0.

Two sources feed `sample`:
- `"model"`: the DESIGN §3 synthesizer (`mocks.smtj.SmtjDevice`), live and seeded.
- `"replay"`: a trace file (the shipped synthetic recording by default, or a lab recording
  made with `smtjlab acquire`). Samples come from the recorded trace whose bias is nearest the
  applied bias, sample by sample, looping. Traces with a `channel` attribute equal to the
  scope channel (1-based) feed that channel; if there are none, every trace feeds it.
  A replay keeps the recording's time scale: at a rate k times below the recording's (k an
  integer), every k-th sample is served. Any other rate is refused with a `ReplayError`:
  serving samples at the wrong rate makes every dwell time wrong by that ratio, silently, and
  a faster rate would have to invent samples (holding each recorded one m times keeps the
  transitions on the recording's grid, which misreads τc by half when the recording's
  dwells last only a few samples).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from smtjlab.acquisition.tracefile import Trace, TraceFileError, read_traces
from smtjlab.mocks.smtj import DeviceParams, ReadoutNoise, SmtjDevice, WaferSpread

from smtjlab.errors import SmtjlabError

SOURCES = ("model", "replay")
DEFAULT_OUTPUT = "smu:1"  # the single SMU of the default bench
RATE_TOLERANCE = 1e-9  # relative: how close a rate ratio must be to an integer


class ReplayError(SmtjlabError):
    """A recording that cannot be served at the rate asked for."""


def servable(recorded_hz: float, requested_hz: float) -> bool:
    """Whether a recording can be served at a rate: its own divided by an integer."""
    ratio = recorded_hz / requested_hz
    return round(ratio) >= 1 and abs(ratio - round(ratio)) <= RATE_TOLERANCE * ratio


def replay_step(recorded_hz: float, requested_hz: float) -> int:
    """Serve every k-th recorded sample: k = recorded/requested, which must be an integer."""
    if not servable(recorded_hz, requested_hz):
        raise ReplayError(
            f"a recording made at {recorded_hz:.7g} Sa/s cannot be replayed at {requested_hz:.7g} "
            "Sa/s: the rate asked for must be the recording's divided by an integer "
            f"({recorded_hz:g}, {recorded_hz / 2:g}, {recorded_hz / 5:g} Sa/s, ...)"
        )
    return round(recorded_hz / requested_hz)


def shipped_recording() -> Path:
    """The synthetic recording shipped with the package (see `smtjlab.mocks.recorded`)."""
    return Path(__file__).resolve().parent / "data" / "recorded_traces.h5"


@dataclass
class _Segment:
    """One recorded trace, kept as raw samples with its scale, and its replay position."""

    bias_v: float
    data: np.ndarray
    volts_per_code: float | None
    offset_volts: float | None
    states: np.ndarray | None
    sample_rate: float
    position: int = 0

    def take(self, n_samples: int, step: int) -> tuple[np.ndarray, np.ndarray]:
        index = (self.position + step * np.arange(n_samples, dtype=np.int64)) % len(self.data)
        self.position = int((self.position + step * n_samples) % len(self.data))
        raw = self.data[index]
        if self.volts_per_code is None:
            volts = raw.astype(np.float32, copy=False)
        else:
            volts = raw * np.float32(self.volts_per_code) + np.float32(self.offset_volts)
        states = self.states[index] if self.states is not None else np.zeros(n_samples, np.uint8)
        return volts.astype(np.float32, copy=False), states


class SimulatedBench:
    """The shared simulated world: one s-MTJ per scope channel, the SMU bias and output state."""

    def __init__(
        self,
        source: str = "model",
        channels: int = 1,
        seed: int = 0,
        recording: str | os.PathLike | None = None,
        params: DeviceParams | None = None,
        noise: ReadoutNoise | None = None,
        wiring: list[str] | None = None,
        spread: WaferSpread | None = None,
    ) -> None:
        if source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, not {source!r}")
        if channels < 1:
            raise ValueError("a bench needs at least one channel")
        self.source = source
        self.channels = channels
        self.seed = seed
        # Independent, reproducible streams per channel: seed and channel index together. With a
        # `spread`, each junction is a different device of one wafer, drawn from the same seeds.
        self.devices = []
        for ch in range(channels):
            sequence = np.random.SeedSequence([seed, ch])
            own_params, own_noise = params or DeviceParams(), noise or ReadoutNoise()
            if spread is not None:
                wafer_rng = np.random.default_rng(sequence.spawn(1)[0])
                own_params, own_noise = spread.draw(wafer_rng, own_params, own_noise)
            self.devices.append(
                SmtjDevice(own_params, own_noise, seed=int(sequence.generate_state(1)[0]))
            )
        self.wiring = list(wiring) if wiring is not None else [DEFAULT_OUTPUT] * channels
        if len(self.wiring) != channels:
            raise ValueError(f"wiring names {len(self.wiring)} outputs for {channels} junctions")
        self._outputs: dict[str, tuple[float, bool]] = dict.fromkeys(self.wiring, (0.0, False))
        self._lock = threading.RLock()
        # Acquisitions take their record's real duration (for timing studies of the bench).
        self.realtime = False
        self.recording: Path | None = None
        self._segments: list[list[_Segment]] = []
        if source == "replay":
            self.recording = Path(recording) if recording is not None else shipped_recording()
            self._segments = _load_segments(self.recording, channels, seed)

    # -- source outputs ------------------------------------------------------------------------

    def set_output(self, output: str, volts: float, on: bool) -> None:
        """What a mock SMU channel applies: its programmed level and its output relay."""
        with self._lock:
            self._outputs[output] = (float(volts), bool(on))

    def output(self, output: str = DEFAULT_OUTPUT) -> tuple[float, bool]:
        """(programmed level, output on) of one source output."""
        return self._outputs.get(output, (0.0, False))

    def bias_on(self, channel: int) -> float:
        """The voltage across junction `channel`: its output's level, 0 while that is off."""
        volts, on = self.output(self.wiring[channel])
        return volts if on else 0.0

    # The first junction's output, for the one-SMU bench (and scripts that poke the world).
    @property
    def source_voltage(self) -> float:
        return self.output(self.wiring[0])[0]

    @source_voltage.setter
    def source_voltage(self, volts: float) -> None:
        self.set_output(self.wiring[0], volts, self.output_on)

    @property
    def output_on(self) -> bool:
        return self.output(self.wiring[0])[1]

    @output_on.setter
    def output_on(self, on: bool) -> None:
        self.set_output(self.wiring[0], self.source_voltage, on)

    @property
    def bias_v(self) -> float:
        """The voltage across the first junction: 0 while its output is off."""
        return self.bias_on(0)

    @property
    def r_load(self) -> float:
        """The divider's load resistor, across which the scope reads the junction."""
        return self.devices[0].params.r_load

    def sample(
        self, channel: int, n_samples: int, sample_rate: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return (volts float32, true states uint8) for `n_samples` of a channel (0-based).

        Successive calls continue in time. Replayed states come from the recording's `states`
        group, or are zeros when it has none (a lab recording); with the output off a replay
        reads a flat 0 V.
        """
        self._check_channel(channel)
        if n_samples < 0 or sample_rate <= 0:
            raise ValueError("need n_samples >= 0 and a positive sample_rate")
        with self._lock:
            bias = self.bias_on(channel)
            if self.source == "model":
                return self.devices[channel].sample(bias, n_samples, sample_rate)
            if not self.output(self.wiring[channel])[1]:
                # No bias, no current through the divider: a recording has nothing to say.
                return np.zeros(n_samples, np.float32), np.zeros(n_samples, np.uint8)
            segment = self._nearest(channel, bias)
            return segment.take(n_samples, replay_step(segment.sample_rate, sample_rate))

    def replay_rate(self) -> float | None:
        """The slowest recorded rate of the traces a replay serves now (None: no replay)."""
        with self._lock:
            if self.source != "replay" or not self.output_on:
                return None
            return min(self._nearest(ch, self.bias_v).sample_rate for ch in range(self.channels))

    def p_high(self, channel: int = 0, bias_v: float | None = None) -> float:
        """The expected high-state occupancy at a bias (default: the applied one).

        Model: the device sigmoid. Replay: the nearest trace's mean state, NaN without states.
        """
        self._check_channel(channel)
        bias = self.bias_on(channel) if bias_v is None else bias_v
        if self.source == "model":
            return self.devices[channel].p_high(bias)
        segment = self._nearest(channel, bias)
        return float(segment.states.mean()) if segment.states is not None else float("nan")

    def recorded_biases(self, channel: int = 0) -> list[float]:
        """The bias points a replay can serve (empty for the live model)."""
        if self.source == "model":
            return []
        self._check_channel(channel)
        return [segment.bias_v for segment in self._segments[channel]]

    def current_a(
        self, integration_s: float, n_samples: int = 256, output: str = DEFAULT_OUTPUT
    ) -> float:
        """The current an output drives through its first junction and the load, averaged.

        The load resistor carries the whole divider current, so I = mean(readout volts)/R_load;
        an output wired to no junction drives none.
        """
        if output not in self.wiring:
            return 0.0
        channel = self.wiring.index(output)
        rate = n_samples / max(integration_s, 1e-9)
        with self._lock:
            if self.source == "replay" and self.output(output)[1]:
                # an average over the window needs no exact rate: the nearest one a replay serves
                native = self._nearest(channel, self.bias_on(channel)).sample_rate
                rate = native / max(1, round(native / rate))
            volts, _ = self.sample(channel, n_samples, rate)
        return float(volts.mean()) / self.r_load

    def _nearest(self, channel: int, bias: float) -> _Segment:
        segments = self._segments[channel]
        return min(segments, key=lambda segment: abs(segment.bias_v - bias))

    def _check_channel(self, channel: int) -> None:
        if not 0 <= channel < self.channels:
            raise ValueError(f"channel {channel} does not exist (bench has {self.channels})")


def _load_segments(path: Path, channels: int, seed: int) -> list[list[_Segment]]:
    traces = read_traces(path)
    if not traces:
        raise TraceFileError(f"{path}: no traces to replay")
    rng = np.random.default_rng(seed)
    per_channel = []
    for ch in range(channels):
        own = [trace for trace in traces if trace.attrs.get("channel") == ch + 1]
        chosen = own or traces
        # Channels that share traces start at different places, so they are not copies.
        per_channel.append([_segment(trace, rng if not own else None) for trace in chosen])
    return per_channel


def _segment(trace: Trace, rng: np.random.Generator | None) -> _Segment:
    if len(trace.data) == 0:
        raise TraceFileError(f"trace {trace.name!r} is empty and cannot be replayed")
    start = int(rng.integers(len(trace.data))) if rng is not None else 0
    return _Segment(
        bias_v=trace.bias_voltage,
        data=trace.data,
        volts_per_code=trace.volts_per_code,
        offset_volts=trace.offset_volts,
        states=trace.states,
        sample_rate=trace.sample_rate,
        position=start,
    )
