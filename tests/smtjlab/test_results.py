import pytest

from smtjlab.results import COLUMNS, ResultsError, ResultsFile, read_rows


def row(accuracy):
    return {"kind": "evaluate", "model": "m", "hidden": [8, 8], "length": 16, "accuracy": accuracy}


def test_rows_are_appended_per_task_and_resumed(tmp_path):
    path = tmp_path / "r.csv"
    results = ResultsFile.open(path, {"a": 1, "b": 2})
    assert not path.exists()  # created by the first finished task, not before
    results.append("a", [row(0.5)])
    results.close()
    assert [r["task"] for r in read_rows(path)] == ["a"]
    assert read_rows(path)[0]["hidden"] == "8-8"
    again = ResultsFile.open(path, {"a": 1, "b": 2})
    assert again.finished == {"a"}
    again.append("b", [row(0.25), row(0.75)])
    again.close()
    assert [r["task"] for r in read_rows(path)] == ["a", "b", "b"]


def test_a_torn_tail_is_dropped_and_its_task_runs_again(tmp_path):
    path = tmp_path / "r.csv"
    results = ResultsFile.open(path, {"a": 1, "b": 2})
    results.append("a", [row(0.5)])
    results.append("b", [row(0.25), row(0.75)])
    results.close()
    text = path.read_text()
    path.write_text(text[: text.rindex("\n", 0, len(text) - 1) + 5])  # half of b's last row
    resumed = ResultsFile.open(path, {"a": 1, "b": 2})
    resumed.close()
    assert resumed.finished == {"a"}
    assert [r["task"] for r in read_rows(path)] == ["a"]


def test_a_file_that_is_not_this_sweeps_is_refused_untouched(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("name,value\nx,1\n")
    with pytest.raises(ResultsError, match="not a results file"):
        ResultsFile.open(path, {"a": 1})
    assert path.read_text() == "name,value\nx,1\n"
    other = tmp_path / "other.csv"
    results = ResultsFile.open(other, {"z": 1})
    results.append("z", [row(0.5)])
    results.close()
    before = other.read_text()
    with pytest.raises(ResultsError, match="another grid"):
        ResultsFile.open(other, {"a": 1})
    assert other.read_text() == before
    assert before.splitlines()[0] == ",".join(COLUMNS)
