"""The TSP-subset interpreter: Lua's chunk rules, print's formats and the TSP error queue."""

import pytest
from smtjlab.mocks.tsp_interpreter import Attribute, Interpreter, TspObject, number_in


class Instrument(Interpreter):
    """An interpreter with one object holding one checked attribute."""

    def __init__(self):
        super().__init__()
        self.value = 0.0
        self.globals["thing"] = TspObject(
            "thing",
            {
                "value": Attribute(lambda: self.value, self._set),
                "fixed": Attribute(lambda: 7.0),
                "CONSTANT": 3.0,
                "pair": lambda: [1.0, "two"],
            },
        )

    def _set(self, value):
        self.value = number_in(value, -1.0, 1.0, "thing.value")


def run(tsp, chunk):
    tsp.write(chunk.encode())
    lines = []
    while (line := tsp.read()) is not None:
        lines.append(line.decode().rstrip("\n"))
    return lines


def errors(tsp):
    found = []
    while True:
        code, message, severity, _node = run(tsp, "print(errorqueue.next())")[0].split("\t")
        if float(code) == 0:
            assert message == "Queue Is Empty" and float(severity) == 0
            return found
        found.append((int(float(code)), message))


@pytest.fixture
def tsp():
    return Instrument()


def test_print_formats_numbers_booleans_nil_and_strings_joined_by_tabs(tsp):
    assert run(tsp, "print(1, 0.3, -2e-5, true, nil, 'text', \"q\\tx\")") == [
        "1.00000e+00\t3.00000e-01\t-2.00000e-05\ttrue\tnil\ttext\tq\tx"
    ]
    assert run(tsp, "format.asciiprecision = 3 print(0.123456)") == ["1.23e-01"]


def test_assignments_calls_and_several_statements_on_one_line(tsp):
    assert run(
        tsp, "thing.value = 0.5 print(thing.value) thing.value=-.25; print(thing.value)"
    ) == [
        "5.00000e-01",
        "-2.50000e-01",
    ]
    assert run(tsp, "a, b = thing.pair() print(b, a) local c = thing.CONSTANT print(c)") == [
        "two\t1.00000e+00",
        "3.00000e+00",
    ]
    assert run(tsp, "print(thing['value'], 0x10)") == ["-2.50000e-01\t1.60000e+01"]


def test_expressions_follow_lua_precedence(tsp):
    assert run(tsp, "print(1 + 2 * 3 ^ 2, -2 ^ 2, 7 % 3, 'a' .. 'b' .. 1 == 'ab1')") == [
        "1.90000e+01\t-4.00000e+00\t1.00000e+00\tfalse"
    ]
    assert run(tsp, "print(nil or 2, false and 1, not nil, 1 < 2, 2 ~= 2)") == [
        "2.00000e+00\tfalse\ttrue\ttrue\tfalse"
    ]


def test_a_syntax_error_anywhere_means_nothing_in_the_chunk_runs(tsp):
    assert run(tsp, "thing.value = 1 print('ran') thing.value = = 2") == []
    assert tsp.value == 0.0
    [(code, message)] = errors(tsp)
    assert code == -285 and message.startswith("TSP Syntax error at line 1:")


def test_a_runtime_error_stops_the_chunk_where_it_happens(tsp):
    assert run(tsp, "print('before') nothing.here = 1 print('after')") == ["before"]
    assert errors(tsp) == [
        (-286, "TSP Runtime error at line 1: attempt to index global `nothing' (a nil value)")
    ]
    run(tsp, "thing.fixed = 1")
    run(tsp, "thing.missing()")
    assert [code for code, _ in errors(tsp)] == [-286, -286]
    assert run(tsp, "print(1)\nthing.missing()") == ["1.00000e+00"]
    assert errors(tsp)[0][1].startswith("TSP Runtime error at line 2: attempt to call field")


def test_a_value_beyond_the_range_is_queued_and_the_setting_kept(tsp):
    assert run(tsp, "thing.value = 5 thing.value = -5 print(thing.value)") == ["0.00000e+00"]
    assert [code for code, _ in errors(tsp)] == [1101, 1102]
    run(tsp, "thing.value = 'x'")
    assert [code for code, _ in errors(tsp)] == [-286]


def test_the_error_queue_counts_and_clears(tsp):
    run(tsp, "x = = 1")
    run(tsp, "y = = 1")
    assert run(tsp, "print(errorqueue.count)") == ["2.00000e+00"]
    run(tsp, "errorqueue.clear()")
    assert errors(tsp) == []


def test_control_flow_outside_the_subset_is_refused_by_name(tsp):
    run(tsp, "for i = 1, 3 do print(i) end")
    [(code, message)] = errors(tsp)
    assert code == -285 and "`for' is outside the TSP subset" in message


def test_common_commands_and_the_output_queue_rules(tsp):
    assert run(tsp, "*IDN?") == [Instrument.IDN]
    tsp.write(b"print(1)")
    assert run(tsp, "print(2)") == ["2.00000e+00"]  # the first reply was never read
    assert run(tsp, "*OPC?") == ["1"]
    tsp.query_unterminated()
    assert [code for code, _ in errors(tsp)] == [-410, -420]
    run(tsp, "x = = 1")
    assert run(tsp, "*ESR?") != ["0"]
    run(tsp, "*CLS")
    assert errors(tsp) == [] and run(tsp, "*ESR?") == ["0"]
