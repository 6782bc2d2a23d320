"""Bias safety (DESIGN §7): one set of limits, ramped changes, and a safe way out.

`BiasLimits` is the one place the limits live: maximum |V|, current compliance, ramp step and
ramp rate, loaded from a TOML file or left at the defaults below. `SafeBias` is the behaviour
every source-measure driver inherits:

- a request outside the limits raises `BiasLimitError` before anything is sent;
- every change of bias ramps in steps of at most `ramp_step_v`, at `ramp_rate_v_per_s`;
- `close()`, leaving a `with` block (normally, on an exception or on Ctrl-C) and `shutdown()`
  ramp to 0 V and turn the output off. A second Ctrl-C during that ramp is held until the
  output is off.

Limits file (TOML), every key optional:

    [bias]
    max_abs_v = 0.5            # V
    compliance_a = 100e-6      # A
    ramp_step_v = 0.01         # V per step
    ramp_rate_v_per_s = 1.0    # V/s
"""

from __future__ import annotations

import logging
import math
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path

import tomllib

from smtjlab.errors import SmtjlabError

log = logging.getLogger(__name__)


class BiasLimitError(SmtjlabError):
    """A bias or compliance request outside the configured limits; nothing was sent."""


@dataclass(frozen=True)
class BiasLimits:
    """Safe operating limits for biasing an s-MTJ.

    The defaults suit a superparamagnetic MTJ whose sigmoid sits near 0.3 V: barrier breakdown
    in MgO junctions starts around 1 V, so 0.5 V leaves margin, and 100 µA through 6–12 kΩ is
    what 0.5–1 V drives.
    """

    max_abs_v: float = 0.5
    compliance_a: float = 100e-6
    ramp_step_v: float = 0.01
    ramp_rate_v_per_s: float = 1.0
    source: str = "defaults"

    def __post_init__(self) -> None:
        for name in ("max_abs_v", "compliance_a", "ramp_step_v", "ramp_rate_v_per_s"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise BiasLimitError(
                    f"{self.source}: {name} must be a positive number, not {value!r}"
                )

    @classmethod
    def from_toml(cls, path: str | os.PathLike) -> BiasLimits:
        """Read the `[bias]` table of a TOML file; unknown keys are an error."""
        path = Path(path)
        try:
            table = tomllib.loads(path.read_text()).get("bias", {})
        except OSError as error:
            raise BiasLimitError(f"{path}: cannot read limits file ({error.strerror})") from None
        except tomllib.TOMLDecodeError as error:
            raise BiasLimitError(f"{path}: not valid TOML ({error})") from None
        return cls.from_table(table, f"{path}: [bias]")

    @classmethod
    def from_table(cls, table: dict, where: str) -> BiasLimits:
        """Limits from a TOML table (a limits file's `[bias]`, a station's `[limits]`)."""
        known = {field.name for field in fields(cls)} - {"source"}
        unknown = set(table) - known
        if unknown:
            raise BiasLimitError(f"{where}: unknown keys {sorted(unknown)}; use {sorted(known)}")
        return cls(**table, source=where)

    @property
    def step_delay_s(self) -> float:
        return self.ramp_step_v / self.ramp_rate_v_per_s

    def check_bias(self, volts: float) -> float:
        volts = float(volts)
        if not math.isfinite(volts) or abs(volts) > self.max_abs_v:
            raise BiasLimitError(
                f"bias {volts:g} V refused: the limit is |V| <= {self.max_abs_v:g} V"
                f" ({self.source})"
            )
        return volts

    def check_compliance(self, amps: float) -> float:
        amps = float(amps)
        if not math.isfinite(amps) or not 0 < amps <= self.compliance_a:
            raise BiasLimitError(
                f"compliance {amps:g} A refused: the limit is 0 < I <= {self.compliance_a:g} A"
                f" ({self.source})"
            )
        return amps

    def ramp(self, start: float, stop: float) -> list[float]:
        """The levels from `start` to `stop`: full `ramp_step_v` steps, then what is left."""
        steps = math.ceil(round(abs(stop - start) / self.ramp_step_v, 9))
        step = math.copysign(self.ramp_step_v, stop - start)
        # Rounded to 1 nV so the levels sent read like the numbers a person would type.
        return [round(start + step * k, 9) for k in range(1, steps)] + [stop] if steps else []


def load_limits(path: str | os.PathLike | None = None) -> BiasLimits:
    """Limits from `path`, else from $SMTJLAB_LIMITS, else the defaults."""
    path = path or os.environ.get("SMTJLAB_LIMITS")
    return BiasLimits.from_toml(path) if path else BiasLimits()


@contextmanager
def sigint_held() -> Iterator[None]:
    """Hold Ctrl-C until the block ends, then raise it: a shutdown ramp must not be cut short."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        raise KeyboardInterrupt


class SafeBias:
    """Ramped, limited voltage biasing; a driver supplies the four `_write_*`/`_read_*` hooks."""

    limits: BiasLimits
    _level_v: float = 0.0
    _output: bool = False

    # -- hooks a driver implements -------------------------------------------------------------

    def _write_level(self, volts: float) -> None:
        raise NotImplementedError

    def _write_output(self, on: bool) -> None:
        raise NotImplementedError

    def _write_compliance(self, amps: float) -> None:
        raise NotImplementedError

    def _read_level(self) -> float:
        raise NotImplementedError

    # -- the safe surface ----------------------------------------------------------------------

    @property
    def bias_v(self) -> float:
        """The voltage on the device: the level while the output is on, else 0."""
        return self._level_v if self._output else 0.0

    @property
    def output_enabled(self) -> bool:
        return self._output

    def set_compliance(self, amps: float) -> None:
        """Change the current compliance, at most the limit's."""
        self._write_compliance(self.limits.check_compliance(amps))

    def set_bias(self, volts: float) -> None:
        """Ramp to `volts`, turning the output on at 0 V first if it is off."""
        target = self.limits.check_bias(volts)
        if not self._output:
            self._write_level(0.0)
            self._level_v = 0.0
            self._write_output(True)
            self._output = True
        self._ramp_to(target)

    def shutdown(self) -> None:
        """Ramp to 0 V and turn the output off, even through a Ctrl-C."""
        with sigint_held():
            if not self._output:
                return
            try:
                self._level_v = self._read_level()
                self._ramp_to(0.0)
            finally:
                # Off even when the ramp failed: a step to 0 beats a bias left on.
                self._write_output(False)
                self._output = False

    def _ramp_to(self, target: float) -> None:
        delay = self.limits.step_delay_s
        for level in self.limits.ramp(self._level_v, target):
            self._write_level(level)
            self._level_v = level
            if level != target:
                time.sleep(delay)
        self._level_v = target

    def close(self) -> None:
        try:
            self.shutdown()
        finally:
            super().close()  # type: ignore[misc]

    def __enter__(self):
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def final_state_line(label: str, source) -> str:
    """`smu: 0.000 V, output off`, from the state read back from the instrument itself."""
    try:
        volts, on = source.read_back()
    except SmtjlabError as error:
        return f"{label}: state could not be read back ({error}); the output may still be ON"
    return f"{label}: {volts:.3f} V, output {'ON' if on else 'off'}"
