from pathlib import Path

from smtjlab.benchmarks import scale


def fake_table(seconds_in_process, seconds_workers, csv_workers="a,b\n"):
    def run(arguments):
        out = Path(arguments[arguments.index("--out") + 1])
        out.mkdir(parents=True, exist_ok=True)
        workers = "--workers" in arguments
        (out / "accuracy-table.csv").write_text(csv_workers if workers else "a,b\n")
        return seconds_workers if workers else seconds_in_process

    return run


def test_the_ratio_is_the_speed_up_of_the_medians(monkeypatch):
    monkeypatch.setattr(scale, "_wall_seconds", fake_table(16.0, 8.0))
    (row,) = scale.scale_benchmarks(rounds=3)
    assert row["unit"] == "cells/s" and row["value"] == scale.CELLS / 8.0
    assert row["ratio"] == 2.0 and row["meets_target"]
    assert "CSVs identical: True" in row["name"]


def test_slower_workers_or_different_csvs_miss(monkeypatch):
    monkeypatch.setattr(scale, "_wall_seconds", fake_table(8.0, 16.0))
    assert not scale.scale_benchmarks(rounds=1)[0]["meets_target"]
    monkeypatch.setattr(scale, "_wall_seconds", fake_table(16.0, 8.0, csv_workers="a,c\n"))
    (row,) = scale.scale_benchmarks(rounds=1)
    assert not row["meets_target"] and "CSVs identical: False" in row["name"]
