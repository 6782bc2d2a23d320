"""The shipped recording meets its contract and regenerates bit for bit."""

import numpy as np
from smtjlab.acquisition.tracefile import read_traces
from smtjlab.mocks import recorded
from smtjlab.mocks.bench import shipped_recording


def test_the_shipped_recording_meets_its_contract():
    path = shipped_recording()
    assert path.stat().st_size <= 15e6
    traces = read_traces(path)
    assert len(traces) >= 15
    for trace in traces:
        assert trace.source == "synthetic"
        assert trace.data.dtype in (np.int8, np.int16) and trace.is_codes
        assert trace.states is not None and len(trace.states) == len(trace.data)
    occupancy = [float(trace.states.mean()) for trace in traces]
    assert min(occupancy) <= 0.03 and max(occupancy) >= 0.97
    assert np.all(np.diff([trace.bias_voltage for trace in traces]) > 0)


def test_regeneration_is_bit_for_bit(tmp_path):
    first, second = tmp_path / "a.h5", tmp_path / "b.h5"
    recorded.generate(first, occupancies=(0.1, 0.5, 0.9), samples=4096, seed=5)
    recorded.generate(second, occupancies=(0.1, 0.5, 0.9), samples=4096, seed=5)
    assert first.read_bytes() == second.read_bytes()
    recorded.generate(second, occupancies=(0.1, 0.5, 0.9), samples=4096, seed=6)
    assert first.read_bytes() != second.read_bytes()


def test_the_documented_command_rebuilds_the_shipped_file(tmp_path, capsys):
    out = tmp_path / "recorded_traces.h5"
    assert recorded.main(["-o", str(out)]) == 0
    assert out.read_bytes() == shipped_recording().read_bytes()
    assert "wrote" in capsys.readouterr().out
