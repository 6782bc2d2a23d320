"""A small SCPI / IEEE 488.2 command parser that the mock instruments are built on.

It does what a real instrument's parser does, so a driver written from a programming manual
works unchanged against a mock:

- long and short mnemonics (`VOLTage` or `VOLT`), any letter case, optional nodes (`[:LEVel]`)
  and numeric suffixes (`CHANnel2`);
- several program message units in one message, split by `;`, with the IEEE 488.2 path rule
  (`:SOUR:VOLT:RANG 2;LEV 0.1` sets `:SOUR:VOLT:LEV`);
- numbers such as `1E-3`, `+.5` or `MIN`/`MAX`/`DEF` where a command allows them;
- one response message per program message, units joined by `;`;
- a real error queue (`:SYSTem:ERRor?`), the standard event status register and the
  IEEE 488.2 output-queue rules (-410 Query INTERRUPTED, -420 Query UNTERMINATED).

Commands are registered with patterns written like the manuals: `[:SOURce#]:VOLTage[:LEVel]`,
where `[...]` is optional and `#` marks a numeric suffix (default 1).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

ERROR_MESSAGES = {
    -100: "Command error",
    -102: "Syntax error",
    -104: "Data type error",
    -108: "Parameter not allowed",
    -109: "Missing parameter",
    -113: "Undefined header",
    -114: "Header suffix out of range",
    -131: "Invalid suffix",
    -200: "Execution error",
    -221: "Settings conflict",
    -222: "Data out of range",
    -224: "Illegal parameter value",
    -230: "Data corrupt or stale",
    -350: "Queue overflow",
    -410: "Query INTERRUPTED",
    -420: "Query UNTERMINATED",
}

# Standard event status register bits (IEEE 488.2 §11.5.1).
ESR_OPC, ESR_QYE, ESR_DDE, ESR_EXE, ESR_CME = 0x01, 0x04, 0x08, 0x10, 0x20

_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


class ScpiError(Exception):
    """An error the instrument puts on its error queue."""

    def __init__(self, code: int, message: str | None = None) -> None:
        self.code = code
        self.message = message or ERROR_MESSAGES.get(code, "Device-specific error")
        super().__init__(f"{code},{self.message}")


Handler = Callable[[list[str], list[int]], object]


@dataclass(frozen=True)
class _Node:
    long: str
    short: str
    optional: bool
    suffix: bool


@dataclass(frozen=True)
class _Command:
    pattern: str
    nodes: tuple[_Node, ...]
    set: Handler | None
    query: Handler | None


def _parse_pattern(pattern: str) -> tuple[_Node, ...]:
    """`[:SOURce#]:VOLTage[:LEVel]` -> nodes; brackets may nest one level, as in the manuals.

    An underscore belongs to both forms of a mnemonic (Tektronix's `BYT_Nr`, short `BYT_N`).
    """
    nodes = []
    for token in re.findall(r"\[?:?[A-Za-z_]+#?\]?", pattern):
        optional = token.startswith("[")
        name = token.strip("[]:")
        suffix = name.endswith("#")
        name = name.rstrip("#")
        short = "".join(ch for ch in name if ch.isupper() or ch == "_") or name.upper()
        nodes.append(_Node(name.upper(), short, optional, suffix))
    return tuple(nodes)


def _match(nodes: Sequence[_Node], tokens: Sequence[str], suffixes: list[int]) -> list[int] | None:
    if not nodes:
        return suffixes if not tokens else None
    node = nodes[0]
    if tokens:
        token = tokens[0]
        name = token.rstrip("0123456789")
        digits = token[len(name) :]
        if name in (node.long, node.short) and (node.suffix or not digits):
            suffix = [int(digits) if digits else 1] if node.suffix else []
            found = _match(nodes[1:], tokens[1:], suffixes + suffix)
            if found is not None:
                return found
    if node.optional:
        return _match(nodes[1:], tokens, suffixes + ([1] if node.suffix else []))
    return None


def split_outside_quotes(text: str, separator: str) -> list[str]:
    """Split on `separator` except inside "..." or '...' strings."""
    parts, current, quote = [], [], ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == separator:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    if quote:
        raise ScpiError(-102, "Syntax error; unterminated string")
    parts.append("".join(current))
    return parts


class ScpiDevice:
    """Base of a mock message-based instrument: parser, error queue, output queue.

    The VISA library calls `write(bytes)` for each message sent, `read()` to take the next
    response message, and `clear()` for a device clear.
    """

    IDN = "SMTJLAB,MOCK,0,0"
    ERROR_QUEUE_SIZE = 10
    NO_ERROR = '0,"No error"'
    # Whether the queue is read with :SYSTem:ERRor? (a Tektronix scope reads it otherwise).
    SYSTEM_ERROR_QUEUE = True
    # Numbers in responses, as the instrument prints them.
    NUMBER_FORMAT = "{:+.6E}"

    def __init__(self) -> None:
        self._commands: list[_Command] = []
        self._lookup_cache: dict[tuple[str, ...], tuple[_Command, list[int]]] = {}
        self.errors: deque[tuple[int, str]] = deque()
        self.output: deque[bytes] = deque()
        self.esr = 0
        self._register_common()

    # -- registration ------------------------------------------------------------------------

    def command(self, pattern: str, set: Handler | None = None, query: Handler | None = None):
        """Register a command; `set(params, suffixes)` and `query(params, suffixes) -> str`."""
        self._commands.append(_Command(pattern, _parse_pattern(pattern), set, query))
        self._lookup_cache.clear()

    def _register_common(self) -> None:
        self.command("*IDN", query=lambda p, s: self._no_params(p) or self.IDN)
        self.command("*RST", set=lambda p, s: self._no_params(p) or self.reset())
        self.command("*CLS", set=lambda p, s: self._no_params(p) or self.clear_status())
        self.command("*OPC", set=self._set_opc, query=lambda p, s: self._no_params(p) or "1")
        self.command("*WAI", set=lambda p, s: self._no_params(p))
        self.command("*ESR", query=self._query_esr)
        self.command("*STB", query=lambda p, s: str(self.status_byte()))
        self.command("*TST", query=lambda p, s: "0")
        if self.SYSTEM_ERROR_QUEUE:
            self.command(":SYSTem:ERRor[:NEXT]", query=lambda p, s: self._next_error())
            self.command(":SYSTem:ERRor:COUNt", query=lambda p, s: str(len(self.errors)))
            self.command(":SYSTem:ERRor:ALL", query=self._all_errors)

    # -- what the VISA library calls ----------------------------------------------------------

    def write(self, data: bytes) -> None:
        """Execute one or more program messages (one per line)."""
        if self.output:
            # IEEE 488.2 §6.3.2.3: a new message before the last response was read.
            self.output.clear()
            self.push_error(ScpiError(-410))
        text = data.decode("ascii", errors="replace").replace("\r", "")
        for message in text.split("\n"):
            if message.strip():
                self._execute(message)

    def read(self) -> bytes | None:
        """The next whole response message, or None if there is nothing to read."""
        return self.output.popleft() if self.output else None

    def query_unterminated(self) -> None:
        """A read with nothing to send back (IEEE 488.2 §6.3.2.2)."""
        self.push_error(ScpiError(-420))

    def clear(self) -> None:
        """Device clear: empty the input and output buffers, keep the error queue."""
        self.output.clear()

    def reset(self) -> None:
        """*RST: override to restore the instrument's defaults."""

    def clear_status(self) -> None:
        self.errors.clear()
        self.esr = 0

    def status_byte(self) -> int:
        stb = 0x04 if self.errors else 0
        stb |= 0x10 if self.output else 0
        stb |= 0x20 if self.esr else 0
        return stb

    def push_error(self, error: ScpiError) -> None:
        code = error.code
        if code <= -100 and code > -200:
            self.esr |= ESR_CME
        elif code <= -200 and code > -300:
            self.esr |= ESR_EXE
        elif code <= -400 and code > -500:
            self.esr |= ESR_QYE
        else:
            self.esr |= ESR_DDE
        if len(self.errors) >= self.ERROR_QUEUE_SIZE:
            self.errors[-1] = (-350, ERROR_MESSAGES[-350])
            return
        self.errors.append((code, error.message))

    def format_number(self, value: float) -> str:
        return self.NUMBER_FORMAT.format(value)

    # -- parsing -------------------------------------------------------------------------------

    def _execute(self, message: str) -> None:
        responses: list[bytes] = []
        path: list[str] = []
        try:
            units = split_outside_quotes(message, ";")
        except ScpiError as error:
            self.push_error(error)
            return
        for unit in units:
            unit = unit.strip()
            if not unit:
                continue
            header, _, rest = unit.partition(" ")
            header = header.strip()
            try:
                params = (
                    [p.strip() for p in split_outside_quotes(rest, ",")] if rest.strip() else []
                )
                if any(not p for p in params):
                    raise ScpiError(-102, "Syntax error; empty parameter")
                is_query = header.endswith("?")
                name = header[:-1] if is_query else header
                if name.startswith("*"):
                    tokens = [name.upper()]
                else:
                    tokens = [t.upper() for t in name.strip(":").split(":")]
                    if not name.startswith(":"):
                        tokens = path + tokens
                    path = tokens[:-1]
                    if not all(tokens):
                        raise ScpiError(-102, "Syntax error; empty header node")
                command, suffixes = self._lookup(tuple(tokens), header)
                handler = command.query if is_query else command.set
                if handler is None:
                    raise ScpiError(-113, f"Undefined header; {header}")
                result = handler(params, suffixes)
                if is_query:
                    responses.append(result if isinstance(result, bytes) else str(result).encode())
            except ScpiError as error:
                self.push_error(error)
                if -200 < error.code <= -100:
                    break  # a command error aborts the rest of the message, as parsers do
        if responses:
            self.output.append(b";".join(responses) + b"\n")

    def _lookup(self, tokens: tuple[str, ...], header: str) -> tuple[_Command, list[int]]:
        found = self._lookup_cache.get(tokens)
        if found is None:
            for command in self._commands:
                if tokens[0].startswith("*") != command.pattern.startswith("*"):
                    continue
                if command.pattern.startswith("*"):
                    if tokens[0] == command.pattern:
                        found = (command, [])
                        break
                    continue
                suffixes = _match(command.nodes, tokens, [])
                if suffixes is not None:
                    found = (command, suffixes)
                    break
            if found is None:
                raise ScpiError(-113, f"Undefined header; {header}")
            self._lookup_cache[tokens] = found
        return found

    # -- common commands -----------------------------------------------------------------------

    @staticmethod
    def _no_params(params: list[str]) -> None:
        if params:
            raise ScpiError(-108)

    def _set_opc(self, params: list[str], suffixes: list[int]) -> None:
        self._no_params(params)
        self.esr |= ESR_OPC

    def _query_esr(self, params: list[str], suffixes: list[int]) -> str:
        self._no_params(params)
        value, self.esr = self.esr, 0
        return str(value)

    def _format_error(self, code: int, message: str) -> str:
        return f'{code},"{message}"'

    def _next_error(self) -> str:
        if not self.errors:
            return self.NO_ERROR
        return self._format_error(*self.errors.popleft())

    def _all_errors(self, params: list[str], suffixes: list[int]) -> str:
        if not self.errors:
            return self.NO_ERROR
        text = ",".join(self._format_error(*error) for error in self.errors)
        self.errors.clear()
        return text


# -- parameter helpers, used by the instruments' handlers --------------------------------------


def one(params: list[str]) -> str:
    """The single parameter of a setting command."""
    if not params:
        raise ScpiError(-109)
    if len(params) > 1:
        raise ScpiError(-108)
    return params[0]


def number(
    text: str,
    low: float,
    high: float,
    default: float | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    allow_minmax: bool = True,
) -> float:
    """A <numeric_value>; MIN/MAX/DEF where the manual allows them; out of range is -222."""
    word = text.upper()
    if allow_minmax:
        if word in ("MIN", "MINIMUM"):
            return low if minimum is None else minimum
        if word in ("MAX", "MAXIMUM"):
            return high if maximum is None else maximum
        if word in ("DEF", "DEFAULT") and default is not None:
            return default
    if not _NUMBER.match(text):
        if re.match(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?[A-Za-z]+$", text):
            raise ScpiError(-131, f"Invalid suffix; {text}")
        raise ScpiError(-104, f"Data type error; {text}")
    value = float(text)
    if not low <= value <= high:
        raise ScpiError(-222, f"Data out of range; {text}")
    return value


def boolean(text: str) -> bool:
    word = text.upper()
    if word in ("ON", "1"):
        return True
    if word in ("OFF", "0"):
        return False
    raise ScpiError(-224, f"Illegal parameter value; {text}")


def choice(text: str, options: Sequence[str]) -> str:
    """Character data matched long or short; returns the option's short form (as queried)."""
    word = text.upper()
    for option in options:
        short = "".join(ch for ch in option if ch.isupper() or ch.isdigit())
        if word in (option.upper(), short):
            return short
    raise ScpiError(-224, f"Illegal parameter value; {text}")


def string(text: str) -> str:
    """A quoted <string> parameter, without its quotes."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    raise ScpiError(-104, f"Data type error; expected a quoted string, got {text}")
