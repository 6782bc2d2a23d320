"""The instruments benchmark has a query-rate row for every source-measure unit with a mock."""

from smtjlab.instruments import registry
from smtjlab.mocks.station import MOCKS

from smtjlab.benchmarks.instruments import smu_query_rows


def test_every_smu_model_with_a_mock_gets_a_query_rate_row_beside_its_mock_called_directly():
    rows = smu_query_rows(queries=20)
    sources = sorted(m for m, d in registry.drivers().items() if d.role == "source" and m in MOCKS)
    assert "keithley2600" in sources
    assert [row["name"].rsplit(" ", 1)[1] for row in rows] == sources
    for row in rows:
        assert row["unit"] == "queries/s" and row["value"] > 0 and row["baseline_value"] > 0
