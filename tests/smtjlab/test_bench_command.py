import json

from smtjlab.benchmarks import startup
from smtjlab.cli import main


def test_bench_json_records_the_machine_beside_the_figures(capsys, monkeypatch):
    monkeypatch.setattr(startup, "_wall_seconds", lambda argv: 0.3)
    assert main(["bench", "--only", "startup", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {"cpu", "flags", "cores", "usable_cores"} <= set(result["machine"])
    assert [row["group"] for row in result["results"]] == ["startup", "startup"]
    assert all(row["ratio"] == 1.0 and row["meets_target"] for row in result["results"])
