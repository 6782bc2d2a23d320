from smtjlab.instruments import registry
from smtjlab.mocks.station import MOCKS

from smtjlab.benchmarks import instruments


def test_every_mocked_scope_and_smu_has_its_rows():
    rows = instruments.bench_benchmarks(repeats=1, queries=20, points=100_000)
    by_model: dict[str, list[dict]] = {}
    for row in rows:
        by_model.setdefault(row["name"].split(":")[0], []).append(row)
    expected = {
        model: driver.role
        for model, driver in registry.drivers().items()
        if model in MOCKS and driver.role in ("scope", "source")
    }
    assert set(by_model) == set(expected)
    assert {"scope", "source"} <= set(expected.values())
    for model, role in expected.items():
        units = [row["unit"] for row in by_model[model]]
        assert units == (["ms", "frames/s"] if role == "scope" else ["queries/s"])
    for row in rows:
        assert row["value"] > 0 and row["baseline_value"] > 0 and row["ratio"] is not None


def test_a_model_without_a_mock_is_skipped(monkeypatch):
    monkeypatch.setattr(instruments, "MOCKS", {"keithley2400": MOCKS["keithley2400"]})
    (row,) = instruments.bench_benchmarks(queries=10)
    assert row["name"].startswith("keithley2400: *IDN? query rate")
