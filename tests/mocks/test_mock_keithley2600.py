"""The mock Keithley 2600B speaks the manual's TSP, through plain PyVISA as any client would."""

import pytest
from pyvisa import errors
from smtjlab.mocks.bench import SimulatedBench
from smtjlab.mocks.mock_keithley2600 import MockKeithley2600
from smtjlab.mocks.visa_library import mock_resource_manager

RESOURCE = "GPIB0::26::INSTR"


def open_mock(model="2636B"):
    world = SimulatedBench(channels=2, wiring=["smu:1", "smu:2"])
    rm = mock_resource_manager(world, devices={RESOURCE: MockKeithley2600(world, "smu", model)})
    resource = rm.open_resource(RESOURCE, read_termination="\n", write_termination="\n")
    resource.timeout = 20
    resource.world = world
    return resource


@pytest.fixture
def k2636():
    return open_mock("2636B")


def errors_of(resource):
    found = []
    while float((reply := resource.query("print(errorqueue.next())")).split("\t")[0]) != 0:
        found.append(int(float(reply.split("\t")[0])))
    return found


def test_the_manuals_statements_bias_smua_and_only_smua(k2636):
    k2636.write("smua.source.func = smua.OUTPUT_DCVOLTS")
    k2636.write("smua.source.levelv = 0.3")
    k2636.write("smua.source.limiti = 1e-4")
    k2636.write("smua.source.output = smua.OUTPUT_ON")
    assert k2636.query("print(smua.source.levelv)") == "3.00000e-01"
    assert errors_of(k2636) == []
    assert k2636.world.output("smu:1") == (0.3, True)
    assert k2636.world.output("smu:2") == (0.0, False)
    assert k2636.world.bias_on(0) == 0.3 and k2636.world.bias_on(1) == 0.0


def test_each_channel_drives_its_own_junction(k2636):
    k2636.write("smua.source.levelv = 0.33 smua.source.output = 1")
    k2636.write("smub.source.levelv = 0.27 smub.source.output = smub.OUTPUT_ON")
    assert (k2636.world.bias_on(0), k2636.world.bias_on(1)) == (0.33, 0.27)
    current_a = float(k2636.query("print(smua.measure.i())"))
    current_b = float(k2636.query("print(smub.measure.i())"))
    assert current_a > current_b > 0  # more bias, more of the time in the high state
    i, v = (float(x) for x in k2636.query("print(smub.measure.iv())").split("\t"))
    assert v == 0.27 and i == pytest.approx(current_b, rel=0.3)


def test_the_current_follows_the_occupancy_of_the_junction(k2636):
    currents = []
    for bias in (0.25, 0.30, 0.35):
        k2636.write(f"smua.source.levelv = {bias} smua.source.output = smua.OUTPUT_ON")
        currents.append(float(k2636.query("print(smua.measure.i())")))
    assert currents[0] < currents[1] < currents[2]


def test_a_single_channel_model_has_no_smub():
    k2601 = open_mock("2601B")
    assert k2601.query("print(localnode.model)") == "2601B"
    assert k2601.query("*IDN?").startswith("Keithley Instruments Inc., Model 2601B,")
    k2601.write("smub.source.levelv = 0.1")
    reply = k2601.query("print(errorqueue.next())").split("\t")
    assert int(float(reply[0])) == -286
    assert reply[1] == "TSP Runtime error at line 1: attempt to index global `smub' (a nil value)"


@pytest.mark.parametrize(
    ("model", "statement", "code"),
    [
        ("2602B", "smua.source.levelv = 40.4", None),
        ("2602B", "smua.source.levelv = 41", 1101),
        ("2636B", "smua.source.levelv = -202", None),
        ("2636B", "smua.source.levelv = -203", 1102),
        ("2602B", "smua.source.limiti = 3.03", None),
        ("2636B", "smua.source.limiti = 3", 1101),
        ("2636B", "smua.source.limiti = 1e-11", 1102),
        ("2636B", "smua.measure.nplc = 0.0001", 1102),
        ("2636B", "smua.measure.nplc = 26", 1101),
        ("2636B", "smua.source.output = 3", 1101),
    ],
)
def test_the_models_ranges(model, statement, code):
    smu = open_mock(model)
    attribute = statement.split(" = ")[0]
    before = smu.query(f"print({attribute})")
    smu.write(statement)
    assert errors_of(smu) == ([code] if code else [])
    if code:
        assert smu.query(f"print({attribute})") == before  # the setting keeps its value


def test_autorange_follows_the_level_and_a_range_turns_it_off(k2636):
    k2636.write("smua.source.levelv = 15")
    assert k2636.query("print(smua.source.rangev, smua.source.autorangev)") == (
        "2.00000e+01\t1.00000e+00"
    )
    k2636.write("smua.source.rangev = 1.5")
    assert k2636.query("print(smua.source.rangev, smua.source.autorangev)") == (
        "2.00000e+00\t0.00000e+00"
    )


def test_the_current_limit_holds_the_reading_and_sets_the_status(k2636):
    k2636.write("smua.source.limiti = 1e-6 smua.source.levelv = 0.4 smua.source.output = 1")
    assert float(k2636.query("print(smua.measure.i())")) == pytest.approx(1e-6)
    assert k2636.query("print(smua.source.compliance)") == "true"
    assert k2636.query("print(status.measurement.instrument.smua.condition)") == "2.00000e+00"
    k2636.write("smua.source.limiti = 0.1")
    assert k2636.query("print(smua.source.compliance)") == "false"


def test_reset_and_rst_restore_the_defaults_with_the_outputs_off(k2636):
    for command in ("reset()", "*RST", "smua.reset() smub.reset()"):
        k2636.write("smua.source.levelv = 0.2 smua.source.output = 1 smub.source.output = 1")
        k2636.write(command)
        assert k2636.query("print(smua.source.levelv, smua.source.output)") == (
            "0.00000e+00\t0.00000e+00"
        )
        assert k2636.world.output("smu:1") == (0.0, False)
        assert k2636.world.output("smu:2")[1] is False
    assert k2636.query("print(smua.source.limiti, smua.measure.nplc)") == (
        "1.00000e-01\t1.00000e+00"
    )


def test_reading_with_nothing_to_read_times_out_and_queues_query_unterminated(k2636):
    with pytest.raises(errors.VisaIOError):
        k2636.read()
    assert errors_of(k2636) == [-420]


def test_a_bad_statement_is_reported_with_the_tsp_error(k2636):
    k2636.write(":SOURce:VOLTage 1")  # SCPI sent to a TSP instrument
    k2636.write("smua.source.levelv 0.3")
    assert errors_of(k2636) == [-285, -285]
    assert k2636.world.output("smu:1") == (0.0, False)
