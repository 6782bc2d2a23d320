"""The SCPI / IEEE 488.2 base every driver builds on.

A driver is a subclass of `ScpiInstrument` that reads like its programming manual: each
setting is one `Setting` line naming its SCPI header, and methods exist only for actions.

    class Keithley2400(ScpiInstrument):
        nplc = Setting(":SENSe:CURRent:NPLCycles", "integration time in line cycles",
                       Number(0.01, 10))

    smu.nplc = 1        # writes ":SENSe:CURRent:NPLCycles 1", then checks :SYSTem:ERRor?
    smu.nplc            # queries ":SENSe:CURRent:NPLCycles?" -> 1.0

Every write is followed by an error-queue check, so an instrument error becomes an
`InstrumentError` that names the command that caused it. Queries that time out or come back
garbled, the error-queue check included, are retried after a device clear (`retries` times); a
lost connection is reported at once as `ConnectionLostError`, and `reconnect()` reopens the
session. Binary blocks go through PyVISA's own `query_binary_values`.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

import numpy as np
import pyvisa
from pyvisa import constants, errors

from smtjlab.errors import SmtjlabError

log = logging.getLogger(__name__)
T = TypeVar("T")
_TIMEOUT = constants.StatusCode.error_timeout
_CONNECTION_LOST = constants.StatusCode.error_connection_lost


class InstrumentError(SmtjlabError):
    """An instrument refused a command, did not answer, or answered nonsense."""


class ConnectionLostError(InstrumentError):
    """The link to the instrument dropped (VI_ERROR_CONN_LOST); `reconnect()` may restore it."""


def short_form(mnemonic: str) -> str:
    """`VOLTage` -> `VOLT`: the manual's short form is the upper-case part."""
    return "".join(ch for ch in mnemonic if not ch.islower())


class Number:
    """A numeric setting, checked against [low, high] before anything is sent."""

    def __init__(self, low: float | None = None, high: float | None = None) -> None:
        self.low, self.high = low, high

    def format(self, value: Any, where: str) -> str:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InstrumentError(f"{where}: {value!r} is not a number") from None
        if not np.isfinite(number):
            raise InstrumentError(f"{where}: {value!r} is not a finite number")
        if (self.low is not None and number < self.low) or (
            self.high is not None and number > self.high
        ):
            raise InstrumentError(f"{where}: {number:g} is outside [{self.low:g}, {self.high:g}]")
        return f"{number:.9g}"

    def parse(self, text: str) -> float:
        return float(text)


class Integer(Number):
    def format(self, value: Any, where: str) -> str:
        if int(value) != value:
            raise InstrumentError(f"{where}: {value!r} is not a whole number")
        return str(int(float(super().format(value, where))))

    def parse(self, text: str) -> int:
        return int(float(text))


class Flag:
    """ON/OFF, queried as 1/0."""

    def format(self, value: Any, where: str) -> str:
        return "ON" if value else "OFF"

    def parse(self, text: str) -> bool:
        return text.strip().upper() in ("1", "ON")


class Choice:
    """Character data: Python names mapped to the manual's mnemonics (`{"dc": "DC"}`)."""

    def __init__(self, mapping: dict[str, str]) -> None:
        self.mapping = mapping

    def format(self, value: Any, where: str) -> str:
        if value not in self.mapping:
            raise InstrumentError(f"{where}: {value!r} is not one of {sorted(self.mapping)}")
        return self.mapping[value]

    def parse(self, text: str) -> str:
        reply = text.strip().strip('"').upper()
        for name, mnemonic in self.mapping.items():
            if reply in (mnemonic.upper(), short_form(mnemonic)):
                return name
        raise ValueError(f"unexpected reply {text!r}")


class Setting:
    """A setting stored by the instrument: reading queries `HEADER?`, assigning writes `HEADER v`.

    `{name}` fields in the header are filled from the owner's `scpi_fields`
    (e.g. `:CHANnel{channel}:SCALe`).
    """

    def __init__(
        self, header: str, doc: str = "", kind: Any = None, *, readonly: bool = False
    ) -> None:
        self.header = header
        self.kind = kind if kind is not None else Number()
        self.readonly = readonly
        self.__doc__ = f"{doc} (SCPI {header})" if doc else f"SCPI {header}"

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        header = self.header.format_map(instance.scpi_fields)
        return instance.query(f"{header}?", self.kind.parse)

    def __set__(self, instance: Any, value: Any) -> None:
        if self.readonly:
            raise AttributeError(f"{self.name} is read-only")
        header = self.header.format_map(instance.scpi_fields)
        argument = self.kind.format(value, f"{instance.name}.{self.name}")
        instance.write(f"{header} {argument}")


class ScpiInstrument:
    """One instrument on a PyVISA message-based resource, with the IEEE 488.2 common commands.

    `IDN_PATTERN` (a regular expression for the *IDN? reply) lets discovery pick the driver.
    The error-queue attributes fit instruments whose queue is not SCPI's `:SYSTem:ERRor?`
    (Tektronix scopes: `*ESR?` releases the events, `EVMsg?` reads them, codes are positive).
    """

    IDN_PATTERN: ClassVar[str] = r"$^"
    ERROR_QUERY: ClassVar[str] = ":SYSTem:ERRor?"
    # Sent once before the error queries, for instruments that queue errors only after it.
    ERROR_PRELUDE: ClassVar[str | None] = None
    # Replies to ERROR_QUERY that mean "nothing (more) to report".
    NO_ERROR_CODES: ClassVar[tuple[int, ...]] = (0,)
    # Codes the queue holds that are reports, not errors (power on, operation complete, warnings).
    NOT_ERRORS: ClassVar[tuple[range, ...]] = ()
    # Query INTERRUPTED / UNTERMINATED: what a timed-out exchange leaves on the error queue.
    TIMEOUT_ECHOES: ClassVar[tuple[int, ...]] = (-410, -420)
    MAX_ERRORS: ClassVar[int] = 32

    def __init__(
        self,
        resource: pyvisa.resources.MessageBasedResource,
        *,
        timeout_ms: int = 2000,
        retries: int = 1,
        check_errors: bool = True,
    ) -> None:
        self.resource = resource
        self.retries = retries
        self.check_after_write = check_errors
        self.scpi_fields: dict[str, Any] = {}
        resource.read_termination = "\n"
        resource.write_termination = "\n"
        resource.timeout = timeout_ms

    @property
    def name(self) -> str:
        return f"{type(self).__name__} at {self.resource.resource_name}"

    @classmethod
    def matches(cls, idn: str) -> bool:
        return re.search(cls.IDN_PATTERN, idn) is not None

    # -- I/O -----------------------------------------------------------------------------------

    def write(self, command: str, check: bool | None = None) -> None:
        """Send a command, then (by default) raise if the instrument queued an error for it."""
        try:
            self.resource.write(command)
        except errors.VisaIOError as error:
            raise self._io_error(command, error) from None
        if self.check_after_write if check is None else check:
            self.check_errors(command)

    def query(self, command: str, parse: Callable[[str], T] = str) -> T:
        """Send a query and parse its reply; timeouts and garbled replies are retried."""

        def exchange() -> T:
            return parse(self.resource.query(command).strip())

        return self.transact(command, exchange)

    def query_floats(self, command: str) -> list[float]:
        return self.query(command, lambda text: [float(part) for part in text.split(",")])

    def query_block(
        self, command: str, datatype: str, *, big_endian: bool = False, chunk_size: int = 1 << 22
    ) -> np.ndarray:
        """An IEEE 488.2 definite-length binary block of `datatype` values, as an array.

        The termination character is switched off for the transfer, because binary data holds
        newline bytes; the block's END still marks the end of the message.
        """

        def exchange() -> np.ndarray:
            with self.resource.read_termination_context(None):
                return self.resource.query_binary_values(
                    command,
                    datatype=datatype,
                    is_big_endian=big_endian,
                    container=np.array,
                    chunk_size=chunk_size,
                    length_before_block=0,
                    raise_on_late_block=True,
                )

        return self.transact(command, exchange)

    def transact(self, command: str, exchange: Callable[[], T]) -> T:
        """Run a write-and-read exchange, recovering from timeouts and garbled replies."""
        attempts = self.retries + 1
        problem = ""
        for attempt in range(1, attempts + 1):
            try:
                return exchange()
            except errors.VisaIOError as error:
                if error.error_code != _TIMEOUT:
                    raise self._io_error(command, error) from None
                problem = f"no reply within {self.resource.timeout:g} ms"
                self._recover()
                # A query the instrument refused times out; its error queue says why. The
                # timeout itself queues -420/-410 on a real instrument: those say nothing new.
                try:
                    refused = [e for e in self._read_errors() if e[0] not in self.TIMEOUT_ECHOES]
                except ConnectionLostError:
                    raise  # as it is: a lost link is recovered differently
                except InstrumentError:
                    raise InstrumentError(
                        f"{self.name}: {problem} to {command!r}, nor to {self.ERROR_QUERY!r}"
                    ) from None
                if refused:
                    raise self._refused(command, refused) from None
            except (ValueError, RuntimeError, errors.InvalidBinaryFormat) as error:
                problem = f"garbled reply ({error})"
                self._recover()
            log.warning(
                "%s: %s to %r (attempt %d of %d)", self.name, problem, command, attempt, attempts
            )
        raise InstrumentError(f"{self.name}: {problem} to {command!r} after {attempts} attempts")

    def check_errors(self, after: str | None = None) -> None:
        """Drain the error queue; raise `InstrumentError` naming `after` if it held errors."""
        found = self._read_errors(after)
        if found:
            raise self._refused(after, found)

    def _read_errors(self, after: str | None = None) -> list[tuple[int, str]]:
        """Every (code, reply) on the error queue, oldest first."""
        found = []
        failures = 0
        timed_out = False
        if self.ERROR_PRELUDE:
            try:
                self.resource.query(self.ERROR_PRELUDE)
            except errors.VisaIOError as error:
                raise self._io_error(self.ERROR_PRELUDE, error) from None
        for _ in range(2 * self.MAX_ERRORS):  # reports that are not errors are read past too
            if len(found) >= self.MAX_ERRORS:
                break
            try:
                code, reply = self.parse_error(self.resource.query(self.ERROR_QUERY).strip())
            except (errors.VisaIOError, ValueError) as error:
                timeout = isinstance(error, errors.VisaIOError) and error.error_code == _TIMEOUT
                if isinstance(error, errors.VisaIOError) and not timeout:
                    raise self._io_error(self.ERROR_QUERY, error) from None
                self._recover()
                failures += 1
                timed_out = timed_out or timeout
                if failures > self.retries:
                    problem = "no reply" if timeout else "garbled reply"
                    raise InstrumentError(
                        f"{self.name}: {problem} to {self.ERROR_QUERY!r}"
                        + (f" after {after!r}" if after else "")
                        + f" ({failures} attempts)"
                    ) from None
                continue
            if code in self.NO_ERROR_CODES:
                break
            if any(code in codes for codes in self.NOT_ERRORS):
                log.info("%s: %s", self.name, reply)
                continue
            # Our own timed-out error query queues -410/-420 on a real instrument.
            if not (timed_out and code in self.TIMEOUT_ECHOES):
                found.append((code, reply))
        return found

    @staticmethod
    def parse_error(reply: str) -> tuple[int, str]:
        """(code, reply as reported) of one `ERROR_QUERY` reply; ValueError if garbled."""
        return int(reply.split(",", 1)[0]), reply

    def _refused(self, command: str | None, found: list[tuple[int, str]]) -> InstrumentError:
        sent = f" after {command!r}" if command else ""
        replies = "; ".join(reply for _, reply in found)
        return InstrumentError(f"{self.name}: instrument error{sent}: {replies}")

    def _recover(self) -> None:
        """Device clear: drop any half-read reply so the next exchange starts clean."""
        try:
            self.resource.clear()
        except errors.VisaIOError as error:
            raise self._io_error("device clear", error) from None

    def _io_error(self, command: str, error: errors.VisaIOError) -> InstrumentError:
        if error.error_code == _CONNECTION_LOST:
            return ConnectionLostError(f"{self.name}: connection lost while sending {command!r}")
        if error.error_code == _TIMEOUT:
            return InstrumentError(
                f"{self.name}: no reply within {self.resource.timeout:g} ms to {command!r}"
            )
        return InstrumentError(f"{self.name}: {command!r} failed: {error.description}")

    # -- IEEE 488.2 common commands ------------------------------------------------------------

    @property
    def idn(self) -> str:
        """The *IDN? reply: maker, model, serial number, firmware."""
        return self.query("*IDN?")

    def reset(self) -> None:
        """*RST: the instrument's default setup."""
        self.write("*RST")

    def clear_status(self) -> None:
        """*CLS: empty the error queue and event registers."""
        self.write("*CLS")

    def wait_complete(self, timeout_ms: int | None = None) -> None:
        """*OPC?: block until pending operations finish (with a longer timeout if given)."""
        previous = self.resource.timeout
        if timeout_ms is not None:
            self.resource.timeout = timeout_ms
        try:
            reply = self.query("*OPC?")
        finally:
            self.resource.timeout = previous
        if reply != "1":
            raise InstrumentError(f"{self.name}: *OPC? answered {reply!r}, not '1'")

    def reconnect(self) -> None:
        """Close and reopen the VISA session (after a dropped link), keeping its settings."""
        timeout = self.resource.timeout
        with contextlib.suppress(errors.VisaIOError):  # a dead session may refuse to close
            self.resource.close()
        try:
            self.resource.open()
        except errors.VisaIOError as error:
            raise self._io_error("reopening the session", error) from None
        # A new session starts with the VISA defaults: put back what __init__ set.
        self.resource.timeout = timeout
        self.resource.read_termination = "\n"
        self.resource.write_termination = "\n"
        log.warning("%s: session reopened after a lost connection", self.name)

    def close(self) -> None:
        with contextlib.suppress(errors.VisaIOError):  # already gone: nothing left to release
            self.resource.close()

    def __enter__(self: T) -> T:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class ChannelSettings:
    """The settings of one channel of an instrument: `Setting`s with `{channel}` in their headers.

    A driver's channel class derives from it and declares its settings; writes and queries go
    through the instrument's session and error checks.
    """

    def __init__(self, instrument: ScpiInstrument, channel: int) -> None:
        self.instrument = instrument
        self.scpi_fields = {"channel": channel}
        self.name = f"{instrument.name} channel {channel}"

    def write(self, command: str) -> None:
        self.instrument.write(command)

    def query(self, command: str, parse: Callable[[str], T] = str) -> T:
        return self.instrument.query(command, parse)
