"""The base of drivers for Keithley TSP instruments (Test Script Processor: Lua on the instrument).

A TSP instrument takes Lua statements, not SCPI headers: a setting is an attribute assigned
(`smua.source.levelv = 0.3`) and read by printing it (`print(smua.source.levelv)` answers
`3.00000e-01`); errors are read with `print(errorqueue.next())`, which answers the code, the
message, the severity and the node, separated by tabs. The IEEE 488.2 common commands (`*IDN?`,
`*RST`, `*CLS`, `*OPC?`) still work, so a `TspInstrument` is a `ScpiInstrument` whose settings
are `TspAttribute`s and whose error query is the error queue's:

    class Keithley2600(TspInstrument):
        nplc = TspAttribute("{smu}.measure.nplc", "integration time", Number(0.001, 25))

Enumerated attributes are written with the instrument's named constants and read back as the
numbers they stand for (`Constant`); boolean attributes print `true`/`false` (`Boolean`).
"""

from __future__ import annotations

from typing import Any, ClassVar

from smtjlab.instruments.scpi import InstrumentError, ScpiInstrument, Setting


class TspAttribute(Setting):
    """An attribute of the instrument: reading prints it, assigning writes `attribute = value`.

    `{name}` fields are filled from the owner's `scpi_fields`, in the attribute and in the
    value (`{smu}.OUTPUT_ON`).
    """

    def __init__(
        self, attribute: str, doc: str = "", kind: Any = None, *, readonly: bool = False
    ) -> None:
        super().__init__(attribute, doc, kind, readonly=readonly)
        self.__doc__ = f"{doc} (TSP {attribute})" if doc else f"TSP {attribute}"

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        attribute = self.header.format_map(instance.scpi_fields)
        return instance.query(f"print({attribute})", self.kind.parse)

    def __set__(self, instance: Any, value: Any) -> None:
        if self.readonly:
            raise AttributeError(f"{self.name} is read-only")
        attribute = self.header.format_map(instance.scpi_fields)
        argument = self.kind.format(value, f"{instance.name}.{self.name}")
        instance.write(f"{attribute} = {argument.format_map(instance.scpi_fields)}")


class Constant:
    """An enumerated attribute: Python values <-> the manual's constants and their numbers.

    `Constant({"voltage": ("{smu}.OUTPUT_DCVOLTS", 1), "current": ("{smu}.OUTPUT_DCAMPS", 0)})`
    writes the constant's name and reads the number back; a number not in the table reads as
    `otherwise` when one is given (an output in high-impedance off mode is off).
    """

    _NO_DEFAULT: ClassVar[object] = object()

    def __init__(self, constants: dict[Any, tuple[str, float]], otherwise: Any = _NO_DEFAULT):
        self.constants = constants
        self.otherwise = otherwise

    def format(self, value: Any, where: str) -> str:
        if value not in self.constants:
            raise InstrumentError(f"{where}: {value!r} is not one of {list(self.constants)}")
        return self.constants[value][0]

    def parse(self, text: str) -> Any:
        number = float(text)
        for value, (_, code) in self.constants.items():
            if number == code:
                return value
        if self.otherwise is self._NO_DEFAULT:
            raise ValueError(f"unexpected reply {text!r}")
        return self.otherwise


class Boolean:
    """A read-only boolean attribute, printed `true` or `false`."""

    def format(self, value: Any, where: str) -> str:
        return "true" if value else "false"

    def parse(self, text: str) -> bool:
        word = text.strip()
        if word not in ("true", "false"):
            raise ValueError(f"unexpected reply {text!r}")
        return word == "true"


class TspInstrument(ScpiInstrument):
    """A Keithley TSP instrument on a PyVISA resource: Lua statements, the TSP error queue."""

    ERROR_QUERY: ClassVar[str] = "print(errorqueue.next())"

    @staticmethod
    def parse_error(reply: str) -> tuple[int, str]:
        """`-2.85000e+02<TAB>TSP Syntax error ...<TAB>severity<TAB>node` -> (-285, readable)."""
        fields = reply.split("\t")
        code = int(float(fields[0]))
        message = fields[1] if len(fields) > 1 else ""
        return code, f'{code},"{message}"'

    def print_values(self, expression: str) -> list[float]:
        """The numbers `print(expression)` answers (a call may return several)."""
        return self.query(
            f"print({expression})", lambda text: [float(part) for part in text.split("\t")]
        )
