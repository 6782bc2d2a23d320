"""The final-state report: printed last on success, attached to the error on the way out."""

import signal

import pytest
from smtjlab.instruments.keithley import Keithley2400
from smtjlab.instruments.safety import BiasLimits, OutputMayBeOnError
from smtjlab.mocks.visa_library import KEITHLEY_RESOURCE, mock_resource_manager

from smtjlab.console import final_states_reported

FAST = BiasLimits(ramp_step_v=0.1, ramp_rate_v_per_s=1e6)


@pytest.fixture
def smu():
    rm = mock_resource_manager()
    with Keithley2400(rm.open_resource(KEITHLEY_RESOURCE), FAST) as smu:
        yield smu


def test_a_block_that_succeeds_prints_the_state_read_back(smu, capsys):
    with final_states_reported({"smu": smu}):
        smu.set_bias(0.3)
    assert capsys.readouterr().err == "smu: 0.000 V, output off\n"
    assert not smu.resource.visalib.bench.output_on


@pytest.mark.parametrize("raised", [RuntimeError("analysis failed"), KeyboardInterrupt()])
def test_a_block_that_raises_carries_the_state_as_a_note(smu, capsys, raised):
    with pytest.raises(type(raised)) as info, final_states_reported({"smu": smu}):
        smu.set_bias(0.3)
        raise raised
    assert info.value.__notes__ == ["smu: 0.000 V, output off"]
    assert capsys.readouterr().err == ""  # the command line prints it, after its error line


def test_a_failed_shutdown_carries_the_state_it_could_read(capsys):
    rm = mock_resource_manager()
    smu = Keithley2400(rm.open_resource(KEITHLEY_RESOURCE), FAST, timeout_ms=5)
    with pytest.raises(OutputMayBeOnError) as info, final_states_reported({"smu": smu}):
        smu.set_bias(0.3)
        rm.visalib.faults(KEITHLEY_RESOURCE).set_rate("disconnect", 1.0)
    (note,) = info.value.__notes__
    assert note.startswith("smu: state unknown, the output may still be ON (")
    assert rm.visalib.bench.output_on  # it was right to worry


def test_a_signal_during_the_report_waits_for_it(smu, mocker):
    smu.set_bias(0.3)
    read_state = smu.read_state

    def interrupted_read():
        signal.raise_signal(signal.SIGINT)  # Ctrl-C while the state is being read back
        return read_state()

    mocker.patch.object(smu, "read_state", side_effect=interrupted_read)
    with pytest.raises(KeyboardInterrupt) as info, final_states_reported({"smu": smu}):
        pass
    assert info.value.__notes__ == ["smu: 0.000 V, output off"]
