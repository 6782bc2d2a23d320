"""Every source-measure unit with every scope family: a whole calibration on a mock station."""

import pytest
from smtjlab.instruments import registry
from smtjlab.mocks.station import MOCKS

from smtjlab.bench import Bench
from smtjlab.station import Station

SCOPES = {
    "infiniivision": "USB0::0x2A8D::0x1796::MY00000001::INSTR",
    "tektronix-mso": "USB0::0x0699::0x0522::C012345::INSTR",
}
SMUS = sorted(m for m, d in registry.drivers().items() if d.role == "source" and m in MOCKS)

STATION = """\
visa_library = "@smtjlab"
[limits]
max_abs_v = 0.45
ramp_rate_v_per_s = 100

[[instrument]]
name = "smu"
resource = "GPIB0::11::INSTR"
role = "source"
model = "{smu}"

[[instrument]]
name = "scope"
resource = "{scope_resource}"
role = "scope"
model = "{scope}"

[[device]]
name = "mtj"
source = "smu"
readout = "scope"

[mock]
seed = 3
"""


def test_every_source_and_scope_model_is_paired():
    assert {"keithley2400", "keithley2450", "keithley2600", "keysight-b2900"} <= set(SMUS)


@pytest.mark.parametrize("scope", sorted(SCOPES))
@pytest.mark.parametrize("smu", SMUS)
def test_a_calibration_reaches_every_level_on_each_pair(tmp_path, smu, scope):
    path = tmp_path / "station.toml"
    path.write_text(STATION.format(smu=smu, scope=scope, scope_resource=SCOPES[scope]))
    with Bench.open(Station.load(path), points=200_000) as bench:
        result = bench.calibrate([0.25, 0.5, 0.75])
    assert [line.split(": ", 1)[1] for line in bench.final_state] == ["0.000 V, output off"]
    for level in result.levels:
        assert abs(level.p_measured - level.p_target) <= 0.01
