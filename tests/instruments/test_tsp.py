"""The TSP driver base: attributes, constants and the TSP error queue's replies."""

import pytest
from smtjlab.instruments.scpi import InstrumentError, Number
from smtjlab.instruments.tsp import Boolean, Constant, TspAttribute, TspInstrument

EMPTY = "0.00000e+00\tQueue Is Empty\t0.00000e+00\t0.00000e+00"
ON_OFF = Constant({True: ("{smu}.OUTPUT_ON", 1), False: ("{smu}.OUTPUT_OFF", 0)})


class Smu(TspInstrument):
    level = TspAttribute("{smu}.source.levelv", "source level", Number(-1, 1))
    output = TspAttribute("{smu}.source.output", "output", ON_OFF)
    tripped = TspAttribute("{smu}.source.compliance", "at the limit", Boolean(), readonly=True)

    def __init__(self, resource, **kwargs):
        super().__init__(resource, **kwargs)
        self.scpi_fields = {"smu": "smub"}


def test_attributes_print_to_read_and_assign_to_write(expect):
    smu = expect(
        Smu,
        [
            ("print(smub.source.levelv)", "-2.50000e-01"),
            ("smub.source.levelv = 0.125", None),
            ("print(errorqueue.next())", EMPTY),
            ("smub.source.output = smub.OUTPUT_ON", None),
            ("print(errorqueue.next())", EMPTY),
            ("print(smub.source.output)", "1.00000e+00"),
            ("print(smub.source.compliance)", "true"),
        ],
    )
    assert smu.level == -0.25
    smu.level = 0.125
    smu.output = True
    assert smu.output is True
    assert smu.tripped is True
    with pytest.raises(AttributeError, match="read-only"):
        smu.tripped = False
    assert "TSP {smu}.source.levelv" in Smu.level.__doc__


def test_error_replies_are_parsed_from_their_tab_separated_fields():
    reply = "-2.85000e+02\tTSP Syntax error at line 1: unexpected symbol near `*'\t2.00000e+01\t1"
    assert TspInstrument.parse_error(reply) == (
        -285,
        '-285,"TSP Syntax error at line 1: unexpected symbol near `*\'"',
    )
    assert TspInstrument.parse_error(EMPTY)[0] == 0
    with pytest.raises(ValueError):
        TspInstrument.parse_error("garbage")


def test_a_constant_outside_its_table_is_refused_or_read_as_its_default():
    with pytest.raises(InstrumentError, match="not one of"):
        ON_OFF.format("maybe", "smu.output")
    with pytest.raises(ValueError):
        ON_OFF.parse("2.00000e+00")
    assert Constant(ON_OFF.constants, otherwise=False).parse("2.00000e+00") is False
    with pytest.raises(ValueError):
        Boolean().parse("1")
