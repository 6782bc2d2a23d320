"""A small TSP (Test Script Processor) interpreter that the Keithley 2600B mock is built on.

TSP is Lua 5.0 with the instrument's objects in its global table. A message sent to a TSP
instrument is one chunk: it is compiled whole, then run, so a syntax error anywhere in it means
none of it runs (-285), and a run-time error stops it where it happens (-286), as the Series
2600B Reference Manual describes ("Effects of errors on scripts"). This module runs the subset
that remote control uses:

- statements: assignments (`smua.source.levelv = 0.3`, `a, b = f()`, `local x = 1`) and
  function calls (`smua.reset()`, `print(smua.measure.i())`), separated by spaces, `;` or
  newlines;
- expressions: numbers (`1e-3`, `.5`, `0x1F`), strings, `nil`/`true`/`false`, names, fields
  (`a.b`, `a["b"]`), calls with several results, `not and or`, comparisons, `..`, `+ - * / % ^`
  and unary minus, with Lua's precedence;
- `print(...)`: its arguments joined by tabs, numbers as `%.{p-1}e` where p is
  `format.asciiprecision` (6: `3.00000e-01`), booleans `true`/`false`, nil `nil`;
- the error queue (`errorqueue.count`, `errorqueue.next()`, `errorqueue.clear()`), entries of
  (code, message, severity, node); an empty queue answers `0, "Queue Is Empty", 0, 0`;
- the IEEE 488.2 common commands a TSP instrument also takes (`*IDN?`, `*RST`, `*CLS`,
  `*OPC?`, `*ESR?`, `*STB?`, `*WAI`), each as a message of its own.

Control flow (`if`, loops, `function`) and tables are outside the subset; a chunk using them is
refused with -285 naming the word, so a client that needs them fails loudly, not silently.

The instrument's objects are `TspObject`s: `Attribute`s with a getter and (unless read-only) a
setter that validates like the firmware (`number_in` raises `TspError(1101/1102)` for a value
beyond the range), constants, functions and child objects.
"""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

# Error numbers and messages from the reference manual's error summary list.
SYNTAX_ERROR = -285  # "Program syntax error"
RUNTIME_ERROR = -286  # "TSP Runtime error"
QUERY_INTERRUPTED = -410
QUERY_UNTERMINATED = -420
QUEUE_OVERFLOW = -350
PARAMETER_TOO_BIG = 1101
PARAMETER_TOO_SMALL = 1102
ERROR_MESSAGES = {
    -285: "Program syntax error",
    -286: "TSP Runtime error",
    -350: "Queue overflow",
    -410: "Query INTERRUPTED",
    -420: "Query UNTERMINATED",
    1101: "Parameter too big",
    1102: "Parameter too small",
}
# Severity levels of errorqueue.next(): 0 no error, 10 informational, 20 recoverable.
RECOVERABLE = 20
ERROR_QUEUE_SIZE = 100  # when full, the newest entry becomes -350 "Queue overflow"

# The standard event status register bits a TSP instrument sets (IEEE 488.2 §11.5.1).
ESR_OPC, ESR_QYE, ESR_EXE, ESR_CME = 0x01, 0x04, 0x10, 0x20


class TspError(Exception):
    """An error the instrument puts on its error queue."""

    def __init__(self, code: int, message: str | None = None) -> None:
        self.code = code
        self.message = message or ERROR_MESSAGES.get(code, "Device-specific error")
        super().__init__(f"{code},{self.message}")


def syntax_error(line: int, detail: str) -> TspError:
    return TspError(SYNTAX_ERROR, f"TSP Syntax error at line {line}: {detail}")


def runtime_error(detail: str) -> TspError:
    """A run-time error; the statement that raised it puts its own line in (`_with_line`)."""
    return TspError(RUNTIME_ERROR, f"TSP Runtime error at line 1: {detail}")


# -- the instrument's objects ---------------------------------------------------------------------


@dataclass(frozen=True)
class Attribute:
    """An instrument attribute: read with `get()`, written with `set(value)` (None: read-only)."""

    get: Callable[[], Any]
    set: Callable[[Any], None] | None = None


class TspObject:
    """A TSP object (`smua`, `smua.source`, `errorqueue`): attributes, constants, functions.

    A function member is a Python callable taking the call's arguments and returning the list
    of its results (or None for none), since a Lua function may return several.
    """

    def __init__(self, path: str, members: dict[str, Any] | None = None) -> None:
        self.path = path
        self.members: dict[str, Any] = dict(members or {})

    def index(self, name: Any) -> Any:
        member = self.members.get(name)
        return member.get() if isinstance(member, Attribute) else member

    def assign(self, name: Any, value: Any) -> None:
        member = self.members.get(name)
        if not isinstance(member, Attribute):
            raise runtime_error(f"cannot assign to field `{name}' of {self.path}")
        if member.set is None:
            raise runtime_error(f"attribute `{self.path}.{name}' is read-only")
        member.set(value)


def number_in(value: Any, low: float, high: float, name: str) -> float:
    """A number for attribute `name` within [low, high], as the firmware checks it."""
    if isinstance(value, bool) or not isinstance(value, float):
        raise runtime_error(f"bad argument to `{name}' (number expected, got {type_name(value)})")
    if value > high:
        raise TspError(PARAMETER_TOO_BIG, f"Parameter too big; {name} at most {high:g}")
    if value < low:
        raise TspError(PARAMETER_TOO_SMALL, f"Parameter too small; {name} at least {low:g}")
    return value


def one_of(value: Any, options: Sequence[float], name: str) -> float:
    """An enumerated attribute's number (`smua.OUTPUT_ON` is 1)."""
    number = number_in(value, min(options), max(options), name)
    if number not in options:
        raise TspError(PARAMETER_TOO_SMALL, f"Parameter too small; {name} is one of {options}")
    return number


def type_name(value: Any) -> str:
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if callable(value):
        return "function"
    return "userdata"


# -- lexing ---------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<space>[ \t\r\n]+|--[^\n]*)
  | (?P<number>0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<string>"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')
  | (?P<name>[A-Za-z_]\w*)
  | (?P<op>==|~=|<=|>=|\.\.|[-+*/%^<>=(){}\[\];:,.#])
    """,
    re.VERBOSE,
)
_KEYWORDS = {
    "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "if", "in",
    "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
}  # fmt: skip
_UNSUPPORTED = _KEYWORDS - {"and", "false", "local", "nil", "not", "or", "true"}
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'"}


@dataclass(frozen=True)
class _Token:
    kind: str  # number, string, name, keyword, op, eof
    text: str
    line: int


def _tokens(chunk: str) -> list[_Token]:
    tokens, position, line = [], 0, 1
    while position < len(chunk):
        match = _TOKEN.match(chunk, position)
        if match is None:
            raise syntax_error(line, f"unexpected symbol near `{chunk[position]}'")
        kind, text = match.lastgroup, match.group()
        if kind == "name" and text in _KEYWORDS:
            kind = "keyword"
        if kind != "space":
            tokens.append(_Token(kind, text, line))
        line += text.count("\n")
        position = match.end()
    tokens.append(_Token("eof", "<eof>", line))
    return tokens


def _unquote(text: str) -> str:
    body, out, index = text[1:-1], [], 0
    while index < len(body):
        ch = body[index]
        if ch == "\\" and index + 1 < len(body):
            index += 1
            out.append(_ESCAPES.get(body[index], body[index]))
        else:
            out.append(ch)
        index += 1
    return "".join(out)


# -- compiling: the chunk becomes Python closures, so nothing runs before all of it parses ------

Expr = Callable[[Any], list]  # evaluates to a list of values (calls may return several)
Stmt = Callable[[Any], None]

_BINARY = {
    "or": 1, "and": 2,
    "<": 3, ">": 3, "<=": 3, ">=": 3, "~=": 3, "==": 3,
    "..": 4,
    "+": 5, "-": 5,
    "*": 6, "/": 6, "%": 6,
    "^": 8,
}  # fmt: skip
_UNARY_PRIORITY = 7
_RIGHT_ASSOCIATIVE = {"..", "^"}


class _Compiler:
    def __init__(self, chunk: str) -> None:
        self.tokens = _tokens(chunk)
        self.at = 0

    # -- token helpers --
    @property
    def token(self) -> _Token:
        return self.tokens[self.at]

    def take(self) -> _Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def accept(self, text: str) -> bool:
        if self.token.kind in ("op", "keyword") and self.token.text == text:
            self.at += 1
            return True
        return False

    def expect(self, text: str) -> None:
        if not self.accept(text):
            raise syntax_error(self.token.line, f"`{text}' expected near `{self.token.text}'")

    def fail(self) -> TspError:
        token = self.token
        if token.kind == "keyword" and token.text in _UNSUPPORTED:
            return syntax_error(
                token.line, f"`{token.text}' is outside the TSP subset this mock runs"
            )
        return syntax_error(token.line, f"unexpected symbol near `{token.text}'")

    # -- statements --
    def chunk(self) -> list[Stmt]:
        statements = []
        while self.token.kind != "eof":
            if self.accept(";"):
                continue
            statements.append(self.statement())
        return statements

    def statement(self) -> Stmt:
        line = self.token.line
        if self.accept("local"):
            names = [self.name()]
            while self.accept(","):
                names.append(self.name())
            values = self.explist() if self.accept("=") else []
            return _with_line(line, _assign_locals(names, values))
        target = self.suffixed()
        if self.token.text in ("=", ","):
            targets = [target]
            while self.accept(","):
                targets.append(self.suffixed())
            if any(not isinstance(t, _Place) for t in targets):
                raise syntax_error(line, "syntax error near `='")
            self.expect("=")
            return _with_line(line, _assign(targets, self.explist()))
        if not isinstance(target, _Call):
            raise self.fail()
        return _with_line(line, lambda env: target(env) and None)

    def name(self) -> str:
        if self.token.kind != "name":
            raise syntax_error(self.token.line, f"<name> expected near `{self.token.text}'")
        return self.take().text

    def explist(self) -> list[Expr]:
        values = [self.expression()]
        while self.accept(","):
            values.append(self.expression())
        return values

    # -- expressions --
    def expression(self, limit: int = 0) -> Expr:
        if self.token.kind in ("op", "keyword") and self.token.text in ("not", "-", "#"):
            operator = self.take().text
            left = _unary(operator, self.expression(_UNARY_PRIORITY))
        else:
            left = self.simple()
        while self.token.kind in ("op", "keyword") and self.token.text in _BINARY:
            operator = self.token.text
            priority = _BINARY[operator]
            if priority <= limit:
                break
            self.take()
            right = self.expression(priority - 1 if operator in _RIGHT_ASSOCIATIVE else priority)
            left = _binary(operator, left, right)
        return left

    def simple(self) -> Expr:
        token = self.token
        if token.kind == "number":
            self.take()
            text = token.text
            value = float(int(text, 16)) if text[:2].lower() == "0x" else float(text)
            return lambda env: [value]
        if token.kind == "string":
            self.take()
            text = _unquote(token.text)
            return lambda env: [text]
        if token.kind == "keyword" and token.text in ("nil", "true", "false"):
            self.take()
            value = {"nil": None, "true": True, "false": False}[token.text]
            return lambda env: [value]
        return self.suffixed()

    def suffixed(self) -> Expr:
        """A name or parenthesised expression followed by fields, indexes and calls."""
        if self.token.kind == "name":
            node: Expr = _Global(self.take().text)
        elif self.accept("("):
            inner = self.expression()
            self.expect(")")
            node = _first(inner)
        else:
            raise self.fail()
        while True:
            if self.accept("."):
                name = self.name()
                node = _Field(node, lambda env, key=name: key, name)
            elif self.accept("["):
                key = _first(self.expression())
                self.expect("]")
                node = _Field(node, lambda env, key=key: key(env)[0])
            elif self.token.text == ":" and self.token.kind == "op":
                self.take()
                method = self.name()
                field = _Field(node, lambda env, key=method: key, method)
                node = _Call(field, self.arguments(), node)
            elif self.token.text == "(" and self.token.kind == "op":
                node = _Call(node, self.arguments())
            else:
                return node

    def arguments(self) -> list[Expr]:
        self.expect("(")
        if self.accept(")"):
            return []
        values = self.explist()
        self.expect(")")
        return values


class _Place:
    """Something that can be assigned: a global name or a field."""

    def store(self, env: Any, value: Any) -> None:
        raise NotImplementedError


class _Global(_Place):
    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, env: Any) -> list:
        return [env.lookup(self.name)]

    def store(self, env: Any, value: Any) -> None:
        env.store(self.name, value)


class _Field(_Place):
    """`owner.name` (a fixed key) or `owner[expression]`."""

    def __init__(self, owner: Expr, key: Callable[[Any], Any], name: str | None = None) -> None:
        self.owner, self.key, self.name = owner, key, name

    def _owner(self, env: Any) -> TspObject:
        owner = self.owner(env)[0]
        if not isinstance(owner, TspObject):
            what = _describe(self.owner)
            raise runtime_error(f"attempt to index {what} (a {type_name(owner)} value)")
        return owner

    def __call__(self, env: Any) -> list:
        key = self.key(env)
        return [self._owner(env).index(key)]

    def store(self, env: Any, value: Any) -> None:
        key = self.key(env)
        self._owner(env).assign(key, value)


class _Call:
    def __init__(self, function: Expr, arguments: list[Expr], self_arg: Expr | None = None):
        self.function, self.arguments, self.self_arg = function, arguments, self_arg

    def __call__(self, env: Any) -> list:
        function = self.function(env)[0]
        if not callable(function):
            what = _describe(self.function)
            raise runtime_error(f"attempt to call {what} (a {type_name(function)} value)")
        values = [self.self_arg(env)[0]] if self.self_arg is not None else []
        values += _evaluate(env, self.arguments)
        return list(function(*values) or [])


def _describe(node: Expr) -> str:
    """How Lua names what it could not index or call: global `x', field `y'."""
    if isinstance(node, _Global):
        return f"global `{node.name}'"
    if isinstance(node, _Field) and isinstance(node.name, str):
        return f"field `{node.name}'"
    return "a value"


def _first(expr: Expr) -> Expr:
    """`(f())` keeps only the first result, as in Lua."""
    return lambda env: (expr(env) or [None])[:1]


def _evaluate(env: Any, expressions: list[Expr]) -> list:
    """Values of an expression list: every expression gives one value, the last all of its."""
    values = []
    for index, expr in enumerate(expressions):
        results = expr(env)
        if index == len(expressions) - 1:
            values.extend(results)
        else:
            values.append(results[0] if results else None)
    return values


def _assign(targets: list[_Place], expressions: list[Expr]) -> Stmt:
    def run(env: Any) -> None:
        values = _evaluate(env, expressions)
        values += [None] * (len(targets) - len(values))
        for target, value in zip(targets, values, strict=False):
            target.store(env, value)

    return run


def _assign_locals(names: list[str], expressions: list[Expr]) -> Stmt:
    def run(env: Any) -> None:
        values = _evaluate(env, expressions)
        values += [None] * (len(names) - len(values))
        for name, value in zip(names, values, strict=False):
            env.locals[name] = value

    return run


def _with_line(line: int, statement: Stmt) -> Stmt:
    def run(env: Any) -> None:
        try:
            statement(env)
        except TspError as error:
            if error.code == RUNTIME_ERROR and " at line 1:" in error.message and line != 1:
                error.message = error.message.replace(" at line 1:", f" at line {line}:", 1)
            raise

    return run


def _truthy(value: Any) -> bool:
    return value is not None and value is not False


def _arith(operator: str, a: Any, b: Any) -> float:
    for value in (a, b):
        if not isinstance(value, float) or isinstance(value, bool):
            raise runtime_error(f"attempt to perform arithmetic on a {type_name(value)} value")
    if operator == "+":
        return a + b
    if operator == "-":
        return a - b
    if operator == "*":
        return a * b
    if operator == "/":
        return a / b if b else math.copysign(math.inf, a) if a else math.nan
    if operator == "%":
        return a - math.floor(a / b) * b if b else math.nan
    try:
        return math.pow(a, b)
    except ValueError:  # a negative number to a fractional power
        return math.nan
    except OverflowError:
        return math.inf


def _compare(operator: str, a: Any, b: Any) -> bool:
    if operator == "==":
        return type_name(a) == type_name(b) and a == b
    if operator == "~=":
        return not (type_name(a) == type_name(b) and a == b)
    if type_name(a) != type_name(b) or type_name(a) not in ("number", "string"):
        raise runtime_error(f"attempt to compare {type_name(a)} with {type_name(b)}")
    return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[operator]


def _binary(operator: str, left: Expr, right: Expr) -> Expr:
    if operator == "and":
        return lambda env: (lambda a: [a] if not _truthy(a) else right(env)[:1])(left(env)[0])
    if operator == "or":
        return lambda env: (lambda a: [a] if _truthy(a) else right(env)[:1])(left(env)[0])
    if operator in ("==", "~=", "<", ">", "<=", ">="):
        return lambda env: [_compare(operator, left(env)[0], right(env)[0])]
    if operator == "..":

        def concat(env: Any) -> list:
            a, b = left(env)[0], right(env)[0]
            parts = [env.tostring(v) if isinstance(v, float) else v for v in (a, b)]
            if not all(isinstance(part, str) for part in parts):
                bad = next(v for v in (a, b) if not isinstance(v, (str, float)))
                raise runtime_error(f"attempt to concatenate a {type_name(bad)} value")
            return [parts[0] + parts[1]]

        return concat
    return lambda env: [_arith(operator, left(env)[0], right(env)[0])]


def _unary(operator: str, operand: Expr) -> Expr:
    if operator == "not":
        return lambda env: [not _truthy(operand(env)[0])]
    if operator == "#":
        return lambda env: [float(len(_string(operand(env)[0])))]
    return lambda env: [_arith("-", 0.0, operand(env)[0])]


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise runtime_error(f"attempt to get length of a {type_name(value)} value")
    return value


def compile_chunk(chunk: str) -> list[Stmt]:
    """Compile a chunk; a syntax error raises `TspError(-285)` before anything runs."""
    return _Compiler(chunk).chunk()


# -- the instrument side: globals, output queue, error queue ------------------------------------


class Interpreter:
    """A TSP instrument's command interface: its globals, output queue and error queue.

    The VISA library calls `write(bytes)` per message, `read()` for the next response line,
    `clear()` for a device clear. A subclass fills `globals` with its objects and implements
    `reset()`.
    """

    IDN = "SMTJLAB,TSP MOCK,0,0"
    NO_ERROR = (0, "Queue Is Empty", 0, 0)

    def __init__(self) -> None:
        self.globals: dict[str, Any] = {}
        self.locals: dict[str, Any] = {}
        self.errors: deque[tuple[int, str, int, int]] = deque()
        self.output: deque[bytes] = deque()
        self.esr = 0
        self.ascii_precision = 6
        self.globals.update(
            print=self._print,
            errorqueue=TspObject(
                "errorqueue",
                {
                    "count": Attribute(lambda: float(len(self.errors))),
                    "next": self._next_error,
                    "clear": lambda: self.errors.clear(),
                },
            ),
            format=TspObject(
                "format",
                {
                    "asciiprecision": Attribute(
                        lambda: float(self.ascii_precision), self._set_precision
                    )
                },
            ),
            reset=lambda *args: self.reset(),
            waitcomplete=lambda *args: None,  # everything the mock does is done at once
        )

    # -- what the VISA library calls --------------------------------------------------------

    def write(self, data: bytes) -> None:
        if self.output:
            # A new command before the last response was read (IEEE 488.2 §6.3.2.3).
            self.output.clear()
            self.push_error(TspError(QUERY_INTERRUPTED))
        text = data.decode("ascii", errors="replace")
        if text.strip().startswith("*"):
            for message in text.splitlines():
                if message.strip():
                    self._common(message.strip())
            return
        self.run(text)

    def read(self) -> bytes | None:
        return self.output.popleft() if self.output else None

    def query_unterminated(self) -> None:
        """A read with nothing to send back."""
        self.push_error(TspError(QUERY_UNTERMINATED))

    def clear(self) -> None:
        """Device clear: drop pending output, keep the error queue."""
        self.output.clear()

    def status_byte(self) -> int:
        stb = 0x04 if self.errors else 0
        stb |= 0x10 if self.output else 0
        stb |= 0x20 if self.esr else 0
        return stb

    # -- running chunks ---------------------------------------------------------------------

    def run(self, chunk: str) -> None:
        """Compile and run one chunk; errors go on the error queue, as on the instrument."""
        self.locals = {}
        try:
            statements = compile_chunk(chunk)
        except TspError as error:
            self.push_error(error)
            return
        for statement in statements:
            try:
                statement(self)
            except TspError as error:
                self.push_error(error)
                if error.code == RUNTIME_ERROR:
                    return  # a run-time error aborts the chunk
            except (ArithmeticError, ValueError) as error:
                self.push_error(runtime_error(str(error)))
                return

    def lookup(self, name: str) -> Any:
        return self.locals[name] if name in self.locals else self.globals.get(name)

    def store(self, name: str, value: Any) -> None:
        if name in self.locals:
            self.locals[name] = value
        else:
            self.globals[name] = value

    def push_error(self, error: TspError) -> None:
        code = error.code
        self.esr |= ESR_CME if -200 < code <= -100 else ESR_QYE if -500 < code <= -400 else ESR_EXE
        if len(self.errors) >= ERROR_QUEUE_SIZE:
            self.errors[-1] = (QUEUE_OVERFLOW, ERROR_MESSAGES[QUEUE_OVERFLOW], RECOVERABLE, 1)
            return
        self.errors.append((error.code, error.message, RECOVERABLE, 1))

    def tostring(self, value: Any) -> str:
        """How `print` shows a value."""
        if value is None:
            return "nil"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float):
            return f"{value:.{self.ascii_precision - 1}e}"
        if isinstance(value, str):
            return value
        if isinstance(value, TspObject):
            return f"{value.path}: {id(value):#x}"
        return f"function: {id(value):#x}"

    def reset(self) -> None:
        """`reset()` and *RST: override to restore the instrument's defaults."""

    # -- built-ins --------------------------------------------------------------------------

    def _print(self, *values: Any) -> None:
        self.output.append("\t".join(self.tostring(v) for v in values).encode() + b"\n")

    def _next_error(self, *args: Any) -> list:
        code, message, severity, node = self.errors.popleft() if self.errors else self.NO_ERROR
        return [float(code), message, float(severity), float(node)]

    def _set_precision(self, value: Any) -> None:
        self.ascii_precision = int(number_in(value, 1, 16, "format.asciiprecision"))

    def _common(self, message: str) -> None:
        """IEEE 488.2 common commands, which a TSP instrument takes outside the Lua engine."""
        header, _, rest = message.partition(" ")
        replies = {
            "*IDN?": lambda: self.IDN,
            "*OPC?": lambda: "1",
            "*ESR?": self._read_esr,
            "*STB?": lambda: str(self.status_byte()),
            "*TST?": lambda: "0",
        }
        actions = {
            "*RST": self.reset,
            "*CLS": self._clear_status,
            "*OPC": lambda: setattr(self, "esr", self.esr | ESR_OPC),
            "*WAI": lambda: None,
            "*TRG": lambda: None,
        }
        header = header.upper()
        if rest.strip() or (header not in replies and header not in actions):
            self.push_error(syntax_error(1, f"unexpected symbol near `{message[:1]}'"))
        elif header in replies:
            self.output.append(replies[header]().encode() + b"\n")
        else:
            actions[header]()

    def _read_esr(self) -> str:
        value, self.esr = self.esr, 0
        return str(value)

    def _clear_status(self) -> None:
        self.errors.clear()
        self.esr = 0
