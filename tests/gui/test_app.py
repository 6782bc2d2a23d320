"""`smtjlab gui --screenshot`: unattended run, pictures saved, exit 0."""

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


def test_negative_run_time_is_a_usage_error(qapp, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["gui", "--screenshot", str(tmp_path / "x.png"), "--run-seconds", "-1"])
    assert exit_info.value.code == 2
    assert "argument --run-seconds: '-1' is not > 0" in capsys.readouterr().err


@pytest.mark.parametrize("tab", ["live", "all"])
def test_an_existing_picture_is_refused_before_the_window_opens(qapp, tmp_path, capsys, tab):
    existing = tmp_path / ("x.png" if tab == "live" else "x-live.png")
    existing.write_bytes(b"yesterday's picture")
    code = main(["gui", "--screenshot", str(tmp_path / "x.png"), "--tab", tab])
    assert code == 1
    assert f"{existing.name}: exists; pass --force to replace it" in capsys.readouterr().err
    assert existing.read_bytes() == b"yesterday's picture"
    assert sorted(path.name for path in tmp_path.iterdir()) == [existing.name]
