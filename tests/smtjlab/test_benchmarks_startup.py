from smtjlab.benchmarks import startup


def test_each_command_gets_a_row_against_the_numpy_baseline(monkeypatch):
    monkeypatch.setattr(startup, "_wall_seconds", lambda argv: 0.5 if "smtjlab" in argv else 0.2)
    rows = startup.startup_benchmarks(runs=3)
    assert [row["name"] for row in rows] == [
        "smtjlab --version (median of 3 processes)",
        "smtjlab evaluate --help (median of 3 processes)",
    ]
    assert all(row["ratio"] == 2.5 and row["meets_target"] for row in rows)
    monkeypatch.setattr(startup, "_wall_seconds", lambda argv: 0.7 if "smtjlab" in argv else 0.2)
    assert not any(row["meets_target"] for row in startup.startup_benchmarks(runs=1))


def test_the_commands_really_run():
    rows = startup.startup_benchmarks(runs=1)
    assert all(row["value"] > 0 and row["baseline_value"] > 0 for row in rows)
