"""Bias safety (DESIGN §7): one set of limits, ramped changes, and a safe way out.

`BiasLimits` is the one place the limits live: maximum |V|, current compliance, ramp step and
ramp rate, loaded from a TOML file or left at the defaults below, and checked as strictly as
any input (`limits_from_table`). `SafeBias` is the behaviour every source-measure driver
inherits:

- a request outside the limits raises `BiasLimitError` before anything is sent;
- every change of bias ramps in steps of at most `ramp_step_v`, at `ramp_rate_v_per_s`;
- `close()`, leaving a `with` block (normally, on an exception, on Ctrl-C, SIGTERM or SIGHUP)
  and `shutdown()` ramp to 0 V and turn the output off, retrying through faults (reopening a
  dropped link once); a signal during that ramp is held until the output is off. If the output
  cannot be confirmed off, `OutputMayBeOnError` says so.

`Terminated` is the exception a signal handler raises for Ctrl-C, SIGTERM or SIGHUP (the
command line installs one), a KeyboardInterrupt, so every `with` block and `finally:` on the
way out runs.
`final_state_line` is the line a command prints for each source it biased: the state read back
from the instrument.

Limits file (TOML), one table, every key optional:

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
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import tomllib

from smtjlab.errors import SmtjlabError

log = logging.getLogger(__name__)

LIMIT_KEYS = ("max_abs_v", "compliance_a", "ramp_step_v", "ramp_rate_v_per_s")
# Ceilings a limits file may not exceed, whatever the instrument could do. An MgO barrier
# breaks down near 1-1.5 V; no s-MTJ bias needs 2 V.
MAX_ABS_V_CEILING = 2.0
# 2 V across the lowest-resistance nanopillars (a few hundred Ω) is a few mA; 10 mA is beyond
# anything an s-MTJ should carry.
COMPLIANCE_CEILING_A = 10e-3
# A ramp across the whole range (-max_abs_v to +max_abs_v) in at most this many steps: 1e4
# steps of 0.1 mV span ±0.5 V, and finer steps are below a 2400's 50 µV source resolution on
# its 2 V range anyway.
MAX_RAMP_STEPS = 10_000
# The longest shutdown ramp (max_abs_v to 0): a service manager's grace after SIGTERM before
# it kills (docker stop: 10 s; systemd: 90 s) must cover it.
MAX_SHUTDOWN_RAMP_S = 10.0
# Shutdown tries this often to ramp down and confirm the output off before giving up.
SHUTDOWN_ATTEMPTS = 3
# The signals that end a run: each is held during a shutdown, and each unwinds like Ctrl-C.
STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


class BiasLimitError(SmtjlabError):
    """A bias or compliance request outside the configured limits; nothing was sent."""


class OutputMayBeOnError(SmtjlabError):
    """Shutdown could not confirm the output off; `__cause__` is the first fault it met."""


class Terminated(KeyboardInterrupt):
    """A signal (SIGINT, SIGTERM, SIGHUP) ending the run; a KeyboardInterrupt, so it unwinds alike.

    `announced` is True when the handler already told the user on stderr.
    """

    def __init__(self, signum: int, announced: bool = False) -> None:
        super().__init__(signum)
        self.signum = signum
        self.announced = announced

    def __str__(self) -> str:
        return signal.Signals(self.signum).name


@dataclass(frozen=True)
class BiasLimits:
    """Safe operating limits for biasing an s-MTJ; invalid values raise `BiasLimitError`.

    The defaults suit a superparamagnetic MTJ whose sigmoid sits near 0.3 V: barrier breakdown
    in MgO junctions starts around 1 V, so 0.5 V leaves margin, and 100 µA through 6–12 kΩ is
    what 0.5–1 V drives. `source` names where they came from, for messages.
    """

    max_abs_v: float = 0.5
    compliance_a: float = 100e-6
    ramp_step_v: float = 0.01
    ramp_rate_v_per_s: float = 1.0
    source: str = "defaults"

    def __post_init__(self) -> None:
        for name in LIMIT_KEYS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                self._refuse(name, f"must be a number, not a {type(value).__name__}")
            # Refuses NaN and infinities, and TOML integers beyond any float (10**400), too.
            if not 0 < value <= sys.float_info.max:
                self._refuse(name, "must be a positive, finite number")
        if self.max_abs_v > MAX_ABS_V_CEILING:
            self._refuse(
                "max_abs_v",
                f"the ceiling is {MAX_ABS_V_CEILING:g} V (an MgO barrier breaks down near"
                " 1-1.5 V; no s-MTJ bias needs more)",
            )
        if self.compliance_a > COMPLIANCE_CEILING_A:
            self._refuse(
                "compliance_a",
                f"the ceiling is {COMPLIANCE_CEILING_A:g} A (more than an s-MTJ"
                " nanopillar should ever carry)",
            )
        if self.ramp_step_v > self.max_abs_v / 2:
            self._refuse(
                "ramp_step_v",
                f"at most max_abs_v / 2 = {self.max_abs_v / 2:g} V, so a ramp to the limit"
                " takes at least two steps (a larger step is a jump, not a ramp)",
            )
        if 2 * self.max_abs_v / self.ramp_step_v > MAX_RAMP_STEPS:
            self._refuse(
                "ramp_step_v",
                f"a ramp across ±{self.max_abs_v:g} V would take more than {MAX_RAMP_STEPS}"
                f" steps; the smallest step is {2 * self.max_abs_v / MAX_RAMP_STEPS:g} V",
            )
        if self.max_abs_v / self.ramp_rate_v_per_s > MAX_SHUTDOWN_RAMP_S:
            self._refuse(
                "ramp_rate_v_per_s",
                f"a shutdown from {self.max_abs_v:g} V would take more than"
                f" {MAX_SHUTDOWN_RAMP_S:g} s; the slowest rate is"
                f" {self.max_abs_v / MAX_SHUTDOWN_RAMP_S:g} V/s",
            )

    def _refuse(self, key: str, why: str) -> None:
        value = getattr(self, key)
        shown = str(value).lower() if isinstance(value, bool) else repr(value)  # as TOML has it
        raise BiasLimitError(f"{self.source}: {key} = {shown} refused: {why}")

    @classmethod
    def from_toml(cls, path: str | os.PathLike) -> BiasLimits:
        """Read a limits file: one `[bias]` table (module docstring); anything else is an error."""
        path = Path(path)
        try:
            document = tomllib.loads(path.read_bytes().decode("utf-8"))
        except OSError as error:
            raise BiasLimitError(f"{path}: cannot read limits file ({error.strerror})") from None
        except UnicodeDecodeError:
            raise BiasLimitError(f"{path}: not a limits file (not UTF-8 text)") from None
        except tomllib.TOMLDecodeError as error:
            raise BiasLimitError(f"{path}: not valid TOML ({error})") from None
        for name, value in document.items():
            if name != "bias":
                what = f"table [{name}]" if isinstance(value, dict) else f"key {name!r}"
                raise BiasLimitError(
                    f"{path}: unknown {what}; a limits file holds one table, [bias]"
                )
        if "bias" not in document:
            raise BiasLimitError(f"{path}: no [bias] table; a limits file holds its limits there")
        table = document["bias"]
        if not isinstance(table, dict):
            raise BiasLimitError(f"{path}: bias must be a table ([bias]), not a value")
        return limits_from_table(table, f"{path} [bias]")

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


def limits_from_table(table: Mapping[str, object], where: str) -> BiasLimits:
    """Limits from a parsed TOML table (a limits file's `[bias]`, a station's `[limits]`).

    `where` names the file and table for messages (`"lab.toml [limits]"`). Unknown keys, wrong
    types and values out of bounds raise `BiasLimitError`, one line, before anything is sent.
    """
    for key in table:
        if key not in LIMIT_KEYS:
            raise BiasLimitError(f"{where}: unknown key {key!r}; use {', '.join(LIMIT_KEYS)}")
    return BiasLimits(**table, source=where)  # type: ignore[arg-type]  # checked in __post_init__


def load_limits(path: str | os.PathLike | None = None) -> BiasLimits:
    """Limits from `path`, else from $SMTJLAB_LIMITS, else the defaults."""
    path = path or os.environ.get("SMTJLAB_LIMITS")
    return BiasLimits.from_toml(path) if path else BiasLimits()


@contextmanager
def signals_held() -> Iterator[None]:
    """Hold Ctrl-C, SIGTERM and SIGHUP until the block ends, then deliver the first of them.

    A shutdown ramp must not be cut short. The held signal goes to the handler that was in place
    (Ctrl-C raises KeyboardInterrupt; the command line's SIGTERM/SIGHUP handler raises
    `Terminated`). A handler installed outside Python cannot be put back, so it is left alone.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {
        signum: signal.signal(signum, lambda signum, frame: received.append(signum))
        for signum in STOP_SIGNALS
        if signal.getsignal(signum) is not None
    }
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if received:
        signal.raise_signal(received[0])


@dataclass(frozen=True)
class SourceState:
    """What a source reports about itself: its programmed level and its output relay."""

    level_v: float
    output_on: bool


def final_state_line(name: str, source: SafeBias) -> str:
    """The line a command ends with, from the state read back: `smu: 0.000 V, output off`."""
    try:
        state = source.read_state()
    except SmtjlabError as error:
        return f"{name}: state unknown, the output may still be ON ({error})"
    return f"{name}: {state.level_v:.3f} V, output {'on' if state.output_on else 'off'}"


class SafeBias:
    """Ramped, limited voltage biasing; a driver supplies the `_write_*`/`_read_*` hooks.

    `_reconnect()` reopens a dropped link (its default cannot, and says so); `_is_link_lost`
    tells a lost link from other faults.
    """

    limits: BiasLimits
    _level_v: float = 0.0
    _output: bool = False
    _unconfirmed: OutputMayBeOnError | None = None  # the last shutdown's failure

    # -- hooks a driver implements -------------------------------------------------------------

    def _write_level(self, volts: float) -> None:
        raise NotImplementedError

    def _write_output(self, on: bool) -> None:
        raise NotImplementedError

    def _write_compliance(self, amps: float) -> None:
        raise NotImplementedError

    def _read_level(self) -> float:
        raise NotImplementedError

    def _read_output(self) -> bool:
        raise NotImplementedError

    def _is_link_lost(self, error: SmtjlabError) -> bool:
        return False

    def _reconnect(self) -> None:
        raise NotImplementedError

    # -- the safe surface ----------------------------------------------------------------------

    @property
    def bias_v(self) -> float:
        """The voltage on the device: the level while the output is on, else 0."""
        return self._level_v if self._output else 0.0

    @property
    def output_enabled(self) -> bool:
        return self._output

    def read_state(self) -> SourceState:
        """Ask the instrument for its level and output state (not what this driver believes)."""
        return SourceState(self._read_level(), self._read_output())

    def set_compliance(self, amps: float) -> None:
        """Change the current compliance, at most the limit's."""
        self._write_compliance(self.limits.check_compliance(amps))

    def set_bias(self, volts: float) -> None:
        """Ramp to `volts`, turning the output on at 0 V first if it is off."""
        target = self.limits.check_bias(volts)
        if not self._output:
            self._write_level(0.0)
            self._level_v = 0.0
            # Marked on before the command: if it lands but its check fails, shutdown must
            # still turn the output off.
            self._output = True
            self._write_output(True)
        self._ramp_to(target)

    def shutdown(self) -> None:
        """Ramp to 0 V and turn the output off, through signals and faults.

        Each attempt reads the level, ramps from there to 0 and turns the output off, then reads
        the output state back. A failed attempt is retried (after reopening a lost link, once);
        if no attempt confirms the output off, a last `OFF` is sent from wherever the ramp
        stopped, and failing that `OutputMayBeOnError` is raised with the first fault as cause.
        Once that happened, later calls (a `with` block's exit, `close`) raise it again at once
        rather than wait through the same timeouts: the user must hear it while it matters.
        """
        with signals_held():
            if not self._output:
                return
            if self._unconfirmed is not None:
                raise self._unconfirmed
            faults: list[SmtjlabError] = []
            reopened = False
            for attempt in range(1, SHUTDOWN_ATTEMPTS + 1):
                try:
                    self._level_v = self._read_level()
                    self._ramp_to(0.0)
                    self._turn_output_off()
                    return
                except SmtjlabError as fault:
                    log.warning("%s: shutdown attempt %d failed: %s", self._who, attempt, fault)
                    faults.append(fault)
                    if not reopened and self._is_link_lost(fault):
                        reopened = True
                        try:
                            self._reconnect()
                        except SmtjlabError as failed:
                            faults.append(failed)
            try:
                # The ramp never finished: a step to 0 beats a bias left on.
                self._turn_output_off()
                log.warning("%s: output off without the full ramp down", self._who)
                return
            except SmtjlabError as fault:
                faults.append(fault)
            self._unconfirmed = OutputMayBeOnError(
                f"{self._who}: could not confirm the output off after {SHUTDOWN_ATTEMPTS}"
                f" attempts ({faults[-1]}): the output may still be ON at {self._level_v:.2f} V"
            )
            raise self._unconfirmed from faults[0]

    def _turn_output_off(self) -> None:
        self._write_output(False)
        if self._read_output():
            raise SmtjlabError(f"{self._who}: the output still reads ON after turning it off")
        self._output = False

    @property
    def _who(self) -> str:
        return getattr(self, "name", type(self).__name__)

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


class SettingBias(SafeBias):
    """`SafeBias` whose hooks are three declared settings: `_level`, `_output_state`, `_compliance`.

    A driver (or one channel of it) declares those three as `Setting`s of its own command set;
    a lost link is reopened through the instrument's `reconnect` (a channel's instrument's).
    """

    @property
    def compliance_a(self) -> float:
        """The current compliance the instrument holds, in A."""
        return self._compliance

    @property
    def source_voltage(self) -> float:
        """The programmed source level the instrument reports, in V."""
        return self._level

    def _adopt_output(self, *, check_function: bool = True) -> None:
        """On connect: read the output and level, refuse to take over an output left on beyond
        the limits (or sourcing current, if `check_function`), and select voltage sourcing while
        the output is off."""
        self._output = self._output_state
        self._level_v = self._level
        if self._output and check_function and self._function != "voltage":
            raise BiasLimitError(
                f"{self._who}: output is on sourcing current; turn it off by hand before connecting"
            )
        if self._output and abs(self._level_v) > self.limits.max_abs_v:
            raise BiasLimitError(
                f"{self._who}: output is on at {self._level_v:g} V, beyond the limit"
                f" {self.limits.max_abs_v:g} V; ramp it down by hand before connecting"
            )
        if not self._output:
            self._function = "voltage"

    def _write_level(self, volts: float) -> None:
        self._level = volts

    def _write_output(self, on: bool) -> None:
        self._output_state = on

    def _write_compliance(self, amps: float) -> None:
        self._compliance = amps

    def _read_level(self) -> float:
        return self._level

    def _read_output(self) -> bool:
        return self._output_state

    def _is_link_lost(self, error: SmtjlabError) -> bool:
        from smtjlab.instruments.scpi import ConnectionLostError  # scpi is the layer below

        return isinstance(error, ConnectionLostError)

    def _reconnect(self) -> None:
        getattr(self, "instrument", self).reconnect()


def shutdown_all(sources: Iterable[SafeBias]) -> None:
    """Ramp every source to 0 V and turn its output off; the first failure is raised after all."""
    failure: BaseException | None = None
    for source in sources:
        try:
            source.shutdown()
        except BaseException as error:  # the other sources are still made safe
            failure = failure or error
    if failure is not None:
        raise failure


class MultiChannelSource:
    """An instrument whose output channels are `_channels`: all shut down, then it closes."""

    _channels: list[SafeBias]

    def shutdown(self) -> None:
        shutdown_all(self._channels)

    def close(self) -> None:
        try:
            self.shutdown()
        finally:
            super().close()  # type: ignore[misc]
