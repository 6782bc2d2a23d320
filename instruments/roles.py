"""What a source, a scope and a bit digitizer can do: the roles a station's instruments play.

Everything outside a driver module talks to instruments through these protocols, never through
a driver class, so a new model is a new driver and one registration (`registry.py`):

- a `SourceInstrument` (an SMU) has one or more output channels, each a `Source`: a voltage
  bias under the safety limits, ramped, and a safe way out (`shutdown`);
- a `Scope` records several analog channels at once and hands back a `Waveform` per channel,
  raw ADC codes with their scale, whatever the scope's own preamble looks like;
- a `BitDigitizer` streams bits it decided itself (the serial digitizer).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from smtjlab.instruments.safety import BiasLimits

ROLES = ("source", "scope", "digitizer")


@runtime_checkable
class Source(Protocol):
    """One output channel of a source-measure unit, biasing one device in voltage."""

    name: str
    limits: BiasLimits

    @property
    def bias_v(self) -> float:
        """The voltage on the device: the level while the output is on, else 0."""
        ...

    @property
    def output_enabled(self) -> bool: ...

    def set_bias(self, volts: float) -> None:
        """Ramp to `volts` within the limits; a refused request sends nothing."""
        ...

    def set_compliance(self, amps: float) -> None: ...

    def shutdown(self) -> None:
        """Ramp to 0 V and turn the output off."""
        ...


@runtime_checkable
class SourceInstrument(Protocol):
    """A source-measure unit: `CHANNELS` outputs, each a `Source`; closing makes all safe."""

    CHANNELS: int
    name: str
    idn: str

    def source(self, channel: int = 1) -> Source: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Waveform:
    """One channel of one record: signed ADC codes and their scale (volts = code·vpc + offset).

    `codes` is int8 or int16 (codes less the scope's reference code), or None when the transfer
    was ASCII volts; `volts` is always there.
    """

    channel: int
    volts: np.ndarray
    sample_rate: float
    codes: np.ndarray | None = None
    volts_per_code: float | None = None
    offset_volts: float | None = None
    t0: float = 0.0

    @property
    def times(self) -> np.ndarray:
        return self.t0 + np.arange(len(self.volts)) / self.sample_rate


@runtime_checkable
class Scope(Protocol):
    """A digitizing oscilloscope: channels framed in volts, records of a set length and rate."""

    CHANNELS: int
    name: str
    idn: str

    def set_vertical(self, channel: int, scale_v: float, offset_v: float) -> None:
        """Volts per division and the volts at the screen centre of one channel."""
        ...

    def configure_record(self, points: int, sample_rate: float) -> None: ...

    def digitize(self, *channels: int) -> None:
        """Take one record of `channels` (all at once) and wait until it is complete."""
        ...

    def fetch(
        self, channel: int = 1, *, format: str = "word", points: int | None = None
    ) -> Waveform:
        """Transfer a channel of the last record: `format` "byte", "word" or "ascii"."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class BitDigitizer(Protocol):
    """A device that thresholds and decimates the telegraph signal itself and streams bits."""

    name: str

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def read(self, n_bits: int) -> Sequence: ...

    def close(self) -> None: ...
