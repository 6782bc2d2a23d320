"""`smtjlab gui --screenshot`: unattended run, pictures saved, exit 0."""

from pathlib import Path

import pytest
from PySide6.QtGui import QImage
from smtjlab.gui.window import TABS

from smtjlab.cli import main


def test_screenshot_of_every_tab_exits_zero(qapp, tmp_path):
    target = tmp_path / "shot.png"
    code = main(["gui", "--screenshot", str(target), "--run-seconds", "2", "--tab", "all"])
    assert code == 0
    for name in TABS:
        picture = QImage(str(tmp_path / f"shot-{name}.png"))
        assert not picture.isNull() and picture.width() > 800


def test_unknown_tab_is_a_usage_error(qapp, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(["gui", "--screenshot", str(tmp_path / "x.png"), "--tab", "nowhere"])
    assert exit_info.value.code == 2


def test_negative_run_time_is_one_clear_line(qapp, tmp_path, capsys):
    code = main(["gui", "--screenshot", str(tmp_path / "x.png"), "--run-seconds", "-1"])
    assert code == 1
    assert "--run-seconds must be positive" in capsys.readouterr().err


def test_a_station_file_and_a_limits_file_open_the_window(qapp, tmp_path, capsys):
    station = Path(__file__).resolve().parents[2] / "docs" / "stations" / "design-example.toml"
    limits = tmp_path / "limits.toml"
    limits.write_text("[bias]\nmax_abs_v = 0.4\n")
    target = tmp_path / "station.png"
    argv = ["gui", "--station", str(station), "--limits", str(limits), "--screenshot", str(target)]
    assert main([*argv, "--run-seconds", "3", "--tab", "connect"]) == 0
    assert target.stat().st_size > 10_000
    assert "smu: 0.000 V, output off" in capsys.readouterr().err


def test_a_broken_station_file_is_one_line_before_any_window(qapp, tmp_path, capsys):
    station = tmp_path / "bad.toml"
    station.write_text('visa_library = "@smtjlab"\n[[instrument]]\nname = "smu"\n')
    assert main(["gui", "--station", str(station)]) == 1
    err = capsys.readouterr().err
    assert "key 'resource' is missing" in err and str(station) in err
