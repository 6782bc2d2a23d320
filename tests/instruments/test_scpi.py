"""Protocol tests of the IEEE 488.2 base: common commands, error queue, retries, binary blocks."""

import numpy as np
import pytest
import pyvisa
from smtjlab.instruments.scpi import (
    Choice,
    ConnectionLostError,
    Flag,
    InstrumentError,
    Integer,
    Number,
    ScpiInstrument,
    Setting,
)

OK = (":SYSTem:ERRor?", '0,"No error"')


class Thing(ScpiInstrument):
    level = Setting(":SOURce:LEVel", "a level", Number(-1, 1))
    count = Setting(":COUNt", "a count", Integer(1, 10))
    enabled = Setting(":OUTPut", "on or off", Flag())
    mode = Setting(":MODE", "a mode", Choice({"fast": "FAST", "precise": "PRECise"}))


def thing(expect, exchanges):
    return expect(Thing, exchanges, timeout_ms=20)


def test_idn_reset_clear_status_and_operation_complete(expect):
    instrument = thing(
        expect,
        [
            ("*IDN?", "ACME,MODEL 1,123,1.0"),
            ("*RST", None),
            OK,
            ("*CLS", None),
            OK,
            ("*OPC?", "1"),
        ],
    )
    assert instrument.idn == "ACME,MODEL 1,123,1.0"
    instrument.reset()
    instrument.clear_status()
    instrument.wait_complete(timeout_ms=5000)
    assert instrument.resource.timeout == 20


def test_wait_complete_rejects_a_reply_other_than_one(expect):
    with pytest.raises(InstrumentError, match="answered '0'"):
        thing(expect, [("*OPC?", "0")]).wait_complete()


@pytest.mark.parametrize(
    ("attribute", "value", "command", "reply"),
    [
        ("level", -0.25, ":SOURce:LEVel -0.25", "-2.500000E-01"),
        ("count", 3, ":COUNt 3", "+3"),
        ("enabled", True, ":OUTPut ON", "1"),
        ("mode", "precise", ":MODE PRECise", "PREC"),
    ],
)
def test_a_setting_writes_then_checks_and_queries_back(expect, attribute, value, command, reply):
    header = command.split()[0]
    instrument = thing(expect, [(command, None), OK, (header + "?", reply)])
    setattr(instrument, attribute, value)
    assert getattr(instrument, attribute) == value


@pytest.mark.parametrize(
    ("attribute", "value", "message"),
    [
        ("level", 2, "outside"),
        ("level", float("nan"), "not a finite number"),
        ("level", "high", "not a number"),
        ("count", 2.5, "not a whole number"),
        ("mode", "slow", "not one of"),
    ],
)
def test_a_bad_value_is_refused_before_anything_is_sent(expect, attribute, value, message):
    instrument = thing(expect, [])
    with pytest.raises(InstrumentError, match=message):
        setattr(instrument, attribute, value)


def test_every_queued_error_is_reported_with_the_command(expect):
    instrument = thing(
        expect,
        [
            (":COUNt 3", None),
            (":SYSTem:ERRor?", '-113,"Undefined header"'),
            (":SYSTem:ERRor?", '-222,"Data out of range"'),
            OK,
        ],
    )
    with pytest.raises(InstrumentError) as raised:
        instrument.count = 3
    assert "':COUNt 3'" in str(raised.value)
    assert '-113,"Undefined header"; -222,"Data out of range"' in str(raised.value)


def test_a_query_that_times_out_is_retried_after_a_device_clear(expect):
    instrument = thing(expect, [(":COUNt?", None), OK, (":COUNt?", "+4")])
    assert instrument.count == 4


def test_a_query_refused_by_the_instrument_reports_the_error_not_a_timeout(expect):
    instrument = thing(expect, [(":READ?", None), (":SYSTem:ERRor?", '+803,"Output disabled"'), OK])
    with pytest.raises(InstrumentError, match=r"':READ\?'.*\+803"):
        instrument.query(":READ?")


def test_a_garbled_reply_is_retried(expect):
    instrument = thing(expect, [(":COUNt?", b"\xe5\xe6\xa5\n"), (":COUNt?", "+4")])
    assert instrument.count == 4


def test_persistent_timeouts_give_one_clear_error(expect):
    instrument = thing(expect, [(":COUNt?", None), OK, (":COUNt?", None), OK])
    with pytest.raises(InstrumentError, match=r"no reply within 20 ms to ':COUNt\?' after 2"):
        instrument.count  # noqa: B018


def test_a_garbled_error_queue_reply_is_asked_again_then_an_error(expect):
    instrument = thing(expect, [(":COUNt 2", None), (":SYSTem:ERRor?", "junk"), OK])
    instrument.count = 2
    instrument.script.extend([(":COUNt 2", None), (":SYSTem:ERRor?", "junk")])
    instrument.script.extend([(":SYSTem:ERRor?", "junk")])
    with pytest.raises(
        InstrumentError, match="garbled reply to ':SYSTem:ERRor\\?' after ':COUNt 2'"
    ):
        instrument.count = 2


def test_an_error_check_that_times_out_is_asked_again(expect):
    no_reply = (":SYSTem:ERRor?", None)
    instrument = thing(expect, [(":COUNt 2", None), no_reply, OK])
    instrument.count = 2


def test_the_queries_own_timeout_echoes_are_not_reported_as_refusals(expect):
    # A real instrument queues -420 Query UNTERMINATED when the error query was read too late.
    echo = (":SYSTem:ERRor?", '-420,"Query UNTERMINATED"')
    instrument = thing(expect, [(":COUNt 2", None), (":SYSTem:ERRor?", None), echo, OK])
    instrument.count = 2


def test_an_error_check_that_never_answers_is_one_error(expect):
    no_reply = (":SYSTem:ERRor?", None)
    instrument = thing(expect, [(":COUNt 2", None), no_reply, no_reply])
    with pytest.raises(
        InstrumentError, match=r"no reply to ':SYSTem:ERRor\?' after ':COUNt 2' \(2 attempts\)"
    ):
        instrument.count = 2


def test_a_lost_link_is_reopened_by_reconnect(expect):
    instrument = thing(expect, [(":COUNt?", "+4")])
    instrument.resource.visalib.faults("GPIB0::9::INSTR").inject("disconnect")
    with pytest.raises(ConnectionLostError, match=r"connection lost while sending ':COUNt\?'"):
        instrument.count  # noqa: B018 (the link dropped before the query went out)
    with pytest.raises(ConnectionLostError):
        instrument.count  # noqa: B018 (and stays down)
    instrument.reconnect()
    assert instrument.count == 4
    assert instrument.resource.timeout == 20  # the session's settings survive the reopening


def test_a_link_lost_while_recovering_from_a_timeout_says_so(expect):
    instrument = thing(expect, [(":COUNt?", None)])
    original = instrument.resource.clear

    def clear_then_drop():
        original()
        instrument.resource.visalib.faults("GPIB0::9::INSTR").inject("disconnect")

    instrument.resource.clear = clear_then_drop
    with pytest.raises(ConnectionLostError, match=r"while sending ':SYSTem:ERRor\?'"):
        instrument.count  # noqa: B018


def test_binary_blocks_go_through_query_binary_values(expect):
    data = np.arange(300, dtype="<u2")
    block = b"#8%08d" % data.nbytes + data.tobytes() + b"\n"
    instrument = thing(expect, [(":DATA?", block)])
    np.testing.assert_array_equal(instrument.query_block(":DATA?", "H"), data)


def test_query_floats(expect):
    instrument = thing(expect, [(":READ?", "+1.0E-01,-2.5E-06")])
    assert instrument.query_floats(":READ?") == [0.1, -2.5e-06]


def test_check_errors_drains_the_queue_and_close_ends_the_session(expect):
    instrument = thing(expect, [OK, (":SYSTem:ERRor?", '-350,"Queue overflow"'), OK])
    instrument.check_errors()
    with pytest.raises(InstrumentError, match=r'instrument error: -350,"Queue overflow"$'):
        instrument.check_errors()
    instrument.close()
    with pytest.raises(pyvisa.errors.InvalidSession):
        instrument.resource.session  # noqa: B018
