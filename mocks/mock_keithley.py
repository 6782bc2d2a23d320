"""A mock Keithley 2400 SourceMeter speaking the 2400-series SCPI subset used to bias an s-MTJ.

Implemented from the Model 2400 Series User's Manual, section 18 (SCPI command reference):

- `:SOURce[1]:FUNCtion[:MODE] VOLTage|CURRent`, `:SOURce[1]:VOLTage:MODE FIXed`
- `:SOURce[1]:VOLTage[:LEVel][:IMMediate][:AMPLitude] <n>|MIN|MAX|DEF` (±210 V)
- `:SOURce[1]:VOLTage:RANGe <n>|MIN|MAX|DEF|UP|DOWN`, `:RANGe:AUTO <b>` (ranges 0.21/2.1/21/210 V)
- `:SOURce[1]:CURRent[:LEVel][:IMMediate][:AMPLitude] <n>` (±1.05 A)
- `[:SENSe[1]]:FUNCtion[:ON] <name>[,<name>]`, `:FUNCtion:OFF`, `:FUNCtion:OFF:ALL`,
  `:FUNCtion:CONCurrent`
- `[:SENSe[1]]:CURRent[:DC]:PROTection[:LEVel] <n>` (compliance, ±1.05 A, DEF 105 µA), `:TRIPped?`
- `[:SENSe[1]]:CURRent[:DC]:NPLCycles <n>` (0.01 to 10), `:CURRent[:DC]:RANGe[:UPPer]`, `:AUTO`
- `:FORMat:ELEMents[:SENSe[1]] VOLTage,CURRent,RESistance,TIME,STATus`, `:FORMat[:DATA] ASCii`
- `:OUTPut[1][:STATe] <b>`, `:TRIGger:COUNt <n>`
- `:READ?`, `:INITiate`, `:FETCh?`, `:MEASure:CURRent[:DC]?`, `:CONFigure:CURRent[:DC]`
- `:SYSTem:ERRor[:NEXT]?`, `:SYSTem:PRESet`, `:SYSTem:RSENse <b>` and the IEEE 488.2 commands.

Reading with the output off queues +803 "Output disabled", as the instrument does. Queries of
numeric settings accept MIN, MAX and DEF like the manual's `:VOLTage? MAXimum`. Readings come
from the shared `SimulatedBench`: the current through junction 0 and the load, limited by the
compliance; functions that are off read 9.91E37 (the 2400's NAN).
"""

from __future__ import annotations

import time

from smtjlab.mocks.bench import DEFAULT_OUTPUT, SimulatedBench
from smtjlab.mocks.scpi_parser import ScpiDevice, ScpiError, boolean, choice, number, one, string

VOLTAGE_RANGES = (0.21, 2.1, 21.0, 210.0)
CURRENT_RANGES = (1.05e-6, 10.5e-6, 105e-6, 1.05e-3, 10.5e-3, 105e-3, 1.05)
NAN_READING = 9.91e37
ELEMENTS = ("VOLTage", "CURRent", "RESistance", "TIME", "STATus")
ELEMENT_NAMES = ("VOLT", "CURR", "RES", "TIME", "STAT")  # as :FORMat:ELEMents? prints them
SENSE_NAMES = {"VOLT": "VOLT:DC", "CURR": "CURR:DC", "RES": "RES"}
STATUS_COMPLIANCE = 1 << 3


class MockKeithley2400(ScpiDevice):
    """The 2400 on the bench: its source drives the bench output named `output`."""

    IDN = "KEITHLEY INSTRUMENTS INC.,MODEL 2400,4120001,C32   Oct  4 2010 14:20:11/A02  /S/K"

    def __init__(self, bench: SimulatedBench, output: str = DEFAULT_OUTPUT) -> None:
        super().__init__()
        self.bench = bench
        self.bench_output = output
        self.reset()
        src = ":SOURce#"
        sense = "[:SENSe#]"
        self.command(f"{src}:FUNCtion[:MODE]", self._set_function, self._query_function)
        self.command(f"{src}:VOLTage:MODE", self._set_mode, lambda p, s: "FIX")
        self.command(f"{src}:VOLTage[:LEVel][:IMMediate][:AMPLitude]", self._set_v, self._query_v)
        self.command(f"{src}:VOLTage:RANGe:AUTO", self._set_v_auto, self._query_v_auto)
        self.command(f"{src}:VOLTage:RANGe", self._set_v_range, self._query_v_range)
        self.command(f"{src}:CURRent[:LEVel][:IMMediate][:AMPLitude]", self._set_i, self._query_i)
        self.command(f"{sense}:FUNCtion:CONCurrent", self._set_concurrent, self._query_concurrent)
        self.command(f"{sense}:FUNCtion:OFF:ALL", self._set_off_all)
        self.command(f"{sense}:FUNCtion:OFF", self._set_function_off, self._query_function_off)
        self.command(f"{sense}:FUNCtion[:ON]", self._set_function_on, self._query_function_on)
        self.command(f"{sense}:CURRent[:DC]:PROTection:TRIPped", query=self._query_tripped)
        self.command(
            f"{sense}:CURRent[:DC]:PROTection[:LEVel]", self._set_compliance, self._query_compliance
        )
        self.command(f"{sense}:CURRent[:DC]:NPLCycles", self._set_nplc, self._query_nplc)
        self.command(f"{sense}:CURRent[:DC]:RANGe:AUTO", self._set_i_auto, self._query_i_auto)
        self.command(f"{sense}:CURRent[:DC]:RANGe[:UPPer]", self._set_i_range, self._query_i_range)
        self.command(":FORMat:ELEMents[:SENSe#]", self._set_elements, self._query_elements)
        self.command(":FORMat[:DATA]", self._set_data_format, lambda p, s: "ASC")
        self.command(":OUTPut#[:STATe]", self._set_output, self._query_output)
        self.command(":TRIGger:COUNt", self._set_count, self._query_count)
        self.command(":READ", query=self._query_read)
        self.command(":INITiate[:IMMediate]", set=self._set_initiate)
        self.command(":FETCh", query=self._query_fetch)
        self.command(":CONFigure:CURRent[:DC]", set=self._set_configure)
        self.command(":MEASure:CURRent[:DC]", query=self._query_measure)
        self.command(":SYSTem:PRESet", set=lambda p, s: self.reset())
        self.command(":SYSTem:RSENse", self._set_rsense, self._query_rsense)

    # -- state ---------------------------------------------------------------------------------

    def reset(self) -> None:
        """*RST defaults from the manual's tables."""
        self.function = "VOLT"
        self.voltage = 0.0
        self.current = 0.0
        self.voltage_range = 21.0
        self.voltage_auto = True
        self.compliance = 105e-6
        self.nplc = 1.0
        self.current_range = 105e-6
        self.current_auto = True
        self.sense = {"CURR:DC"}
        self.concurrent = True
        self.elements = list(ELEMENT_NAMES)
        self.output_on = False
        self.trigger_count = 1
        self.rsense = False
        self.tripped = False
        self.buffer: list[list[float]] = []
        self.started = time.monotonic()
        self._drive()

    def _drive(self) -> None:
        """Put the source state on the shared bench."""
        if self.function == "VOLT":
            applied = self.voltage
        else:
            # A current source: the divider's resistance at the parallel state decides the voltage.
            params = self.bench.devices[0].params
            applied = self.current * (params.r_parallel + params.r_load)
        self.bench.set_output(self.bench_output, applied, self.output_on)

    # -- source --------------------------------------------------------------------------------

    def _set_function(self, params, suffixes):
        self.function = choice(one(params), ("VOLTage", "CURRent"))
        self._drive()

    def _query_function(self, params, suffixes):
        return self.function

    def _set_mode(self, params, suffixes):
        choice(one(params), ("FIXed",))

    def _set_v(self, params, suffixes):
        value = number(one(params), -210.0, 210.0, default=0.0)
        if not self.voltage_auto and abs(value) > self.voltage_range:
            raise ScpiError(-222, "Data out of range; level exceeds the source range")
        self.voltage = value
        if self.voltage_auto:
            self.voltage_range = _range_for(abs(value), VOLTAGE_RANGES)
        self._drive()

    def _query_v(self, params, suffixes):
        return self._numeric_query(params, self.voltage, -210.0, 210.0, 0.0)

    def _set_v_range(self, params, suffixes):
        text = one(params).upper()
        index = VOLTAGE_RANGES.index(self.voltage_range)
        if text == "UP":
            self.voltage_range = VOLTAGE_RANGES[min(index + 1, len(VOLTAGE_RANGES) - 1)]
        elif text == "DOWN":
            self.voltage_range = VOLTAGE_RANGES[max(index - 1, 0)]
        else:
            value = number(text, -210.0, 210.0, default=21.0, minimum=0.21, maximum=210.0)
            self.voltage_range = _range_for(abs(value), VOLTAGE_RANGES)
        if abs(self.voltage) > self.voltage_range:
            raise ScpiError(-221, "Settings conflict; source level exceeds the new range")
        self.voltage_auto = False

    def _query_v_range(self, params, suffixes):
        return self._numeric_query(params, self.voltage_range, 0.21, 210.0, 21.0)

    def _set_v_auto(self, params, suffixes):
        self.voltage_auto = boolean(one(params))

    def _query_v_auto(self, params, suffixes):
        return str(int(self.voltage_auto))

    def _set_i(self, params, suffixes):
        self.current = number(one(params), -1.05, 1.05, default=0.0)
        self._drive()

    def _query_i(self, params, suffixes):
        return self._numeric_query(params, self.current, -1.05, 1.05, 0.0)

    # -- sense ---------------------------------------------------------------------------------

    def _sense_names(self, params):
        if not params:
            raise ScpiError(-109)
        names = set()
        for param in params:
            text = string(param).upper()
            head = text.split(":")[0]
            key = choice(head, ("VOLTage", "CURRent", "RESistance"))
            if text.count(":") > 1 or (":" in text and text.split(":")[1] != "DC"):
                raise ScpiError(-224, f"Illegal parameter value; {param}")
            names.add(SENSE_NAMES[key])
        return names

    def _set_function_on(self, params, suffixes):
        names = self._sense_names(params)
        self.sense = (self.sense | names) if self.concurrent else set(list(names)[:1])

    def _query_function_on(self, params, suffixes):
        order = ("VOLT:DC", "CURR:DC", "RES")
        return ",".join(f'"{name}"' for name in order if name in self.sense)

    def _set_function_off(self, params, suffixes):
        self.sense -= self._sense_names(params)

    def _query_function_off(self, params, suffixes):
        order = ("VOLT:DC", "CURR:DC", "RES")
        return ",".join(f'"{name}"' for name in order if name not in self.sense)

    def _set_off_all(self, params, suffixes):
        self._no_params(params)
        self.sense = set()

    def _set_concurrent(self, params, suffixes):
        self.concurrent = boolean(one(params))

    def _query_concurrent(self, params, suffixes):
        return str(int(self.concurrent))

    def _set_compliance(self, params, suffixes):
        value = number(one(params), -1.05, 1.05, default=105e-6, minimum=-1.05, maximum=1.05)
        # The 2400 keeps the magnitude: compliance is symmetric about zero.
        self.compliance = abs(value)

    def _query_compliance(self, params, suffixes):
        return self._numeric_query(params, self.compliance, -1.05, 1.05, 105e-6)

    def _query_tripped(self, params, suffixes):
        return str(int(self.tripped))

    def _set_nplc(self, params, suffixes):
        self.nplc = number(one(params), 0.01, 10.0, default=1.0)

    def _query_nplc(self, params, suffixes):
        return self._numeric_query(params, self.nplc, 0.01, 10.0, 1.0)

    def _set_i_range(self, params, suffixes):
        text = one(params).upper()
        index = CURRENT_RANGES.index(self.current_range)
        if text == "UP":
            self.current_range = CURRENT_RANGES[min(index + 1, len(CURRENT_RANGES) - 1)]
        elif text == "DOWN":
            self.current_range = CURRENT_RANGES[max(index - 1, 0)]
        else:
            value = number(text, -1.05, 1.05, default=105e-6, minimum=1.05e-6, maximum=1.05)
            self.current_range = _range_for(abs(value), CURRENT_RANGES)
        self.current_auto = False

    def _query_i_range(self, params, suffixes):
        return self._numeric_query(params, self.current_range, 1.05e-6, 1.05, 105e-6)

    def _set_i_auto(self, params, suffixes):
        self.current_auto = boolean(one(params))

    def _query_i_auto(self, params, suffixes):
        return str(int(self.current_auto))

    # -- format, output, trigger ---------------------------------------------------------------

    def _set_elements(self, params, suffixes):
        if not params:
            raise ScpiError(-109)
        chosen = [choice(param, ELEMENTS) for param in params]
        self.elements = [name for name in ELEMENT_NAMES if name in chosen]

    def _query_elements(self, params, suffixes):
        return ",".join(self.elements)

    def _set_data_format(self, params, suffixes):
        choice(one(params), ("ASCii",))

    def _set_output(self, params, suffixes):
        self.output_on = boolean(one(params))
        self._drive()

    def _query_output(self, params, suffixes):
        return str(int(self.output_on))

    def _set_count(self, params, suffixes):
        self.trigger_count = int(number(one(params), 1, 2500, default=1))

    def _query_count(self, params, suffixes):
        return self._numeric_query(params, self.trigger_count, 1, 2500, 1)

    def _set_rsense(self, params, suffixes):
        self.rsense = boolean(one(params))

    def _query_rsense(self, params, suffixes):
        return str(int(self.rsense))

    # -- measurement ---------------------------------------------------------------------------

    def _measure(self) -> list[list[float]]:
        if not self.output_on:
            raise ScpiError(803, "Output disabled")
        readings = []
        for _ in range(self.trigger_count):
            current = self.bench.current_a(self.nplc / 60.0, output=self.bench_output)
            self.tripped = abs(current) >= self.compliance
            if self.tripped:
                current = self.compliance if current >= 0 else -self.compliance
            voltage = self.bench.output(self.bench_output)[0]
            values = {
                "VOLT": voltage,
                "CURR": current if "CURR:DC" in self.sense else NAN_READING,
                "RES": voltage / current if "RES" in self.sense and current else NAN_READING,
                "TIME": time.monotonic() - self.started,
                "STAT": float(STATUS_COMPLIANCE if self.tripped else 0),
            }
            readings.append([values[name] for name in self.elements])
        return readings

    def _format_readings(self, readings: list[list[float]]) -> str:
        return ",".join(self.format_number(value) for reading in readings for value in reading)

    def _query_read(self, params, suffixes):
        self._no_params(params)
        self.buffer = self._measure()
        return self._format_readings(self.buffer)

    def _set_initiate(self, params, suffixes):
        self._no_params(params)
        self.buffer = self._measure()

    def _query_fetch(self, params, suffixes):
        if not self.buffer:
            raise ScpiError(-230)
        return self._format_readings(self.buffer)

    def _set_configure(self, params, suffixes):
        """:CONFigure:CURRent selects current only and turns the output on (manual §18)."""
        self._no_params(params)
        self.sense = {"CURR:DC"}
        self.output_on = True
        self._drive()

    def _query_measure(self, params, suffixes):
        self._set_configure(params, suffixes)
        return self._query_read([], suffixes)

    # -- helpers -------------------------------------------------------------------------------

    def _numeric_query(self, params, value, low, high, default):
        """`<setting>?` or `<setting>? MINimum|MAXimum|DEFault`."""
        if not params:
            return self.format_number(value)
        word = choice(one(params), ("MINimum", "MAXimum", "DEFault"))
        return self.format_number({"MIN": low, "MAX": high, "DEF": default}[word])


def _range_for(magnitude: float, ranges: tuple[float, ...]) -> float:
    """The lowest range that holds `magnitude` (ranges include the 5 % over-range)."""
    for value in ranges:
        if magnitude <= value:
            return value
    return ranges[-1]
