"""`smtjlab gui --screenshot`: unattended run, pictures saved, exit 0; signals close it safely."""

import signal
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtGui import QImage
from smtjlab.gui.window import TABS, LabWindow

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


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_sigterm_and_sighup_close_the_window_safely(qapp, tmp_path, mocker, signum, code):
    windows = []

    class RecordedWindow(LabWindow):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            windows.append(self)

    mocker.patch("smtjlab.gui.window.LabWindow", RecordedWindow)
    biased = []

    def signal_once_biased() -> None:
        bench = windows[0].bench._bench if windows else None
        world = bench.readout.resource.visalib.bench if bench is not None else None
        if not biased and world is not None and world.output_on:
            biased.append(world)  # the simulated world behind the mock SMU
            signal.raise_signal(signum)

    poll = QTimer()
    poll.timeout.connect(signal_once_biased)
    poll.start(50)
    try:
        result = main(["gui", "--screenshot", str(tmp_path / "x.png"), "--run-seconds", "60"])
    finally:
        poll.stop()
    assert result == code
    (world,) = biased
    assert world.source_voltage == 0.0 and not world.output_on
    assert not (tmp_path / "x.png").exists()  # closed long before the picture was due


@pytest.mark.parametrize("tab", ["live", "all"])
def test_an_existing_picture_is_refused_before_the_window_opens(qapp, tmp_path, capsys, tab):
    existing = tmp_path / ("x.png" if tab == "live" else "x-live.png")
    existing.write_bytes(b"yesterday's picture")
    code = main(["gui", "--screenshot", str(tmp_path / "x.png"), "--tab", tab])
    assert code == 1
    assert f"{existing.name}: exists; pass --force to replace it" in capsys.readouterr().err
    assert existing.read_bytes() == b"yesterday's picture"
    assert sorted(path.name for path in tmp_path.iterdir()) == [existing.name]


def test_size_sets_the_window_and_says_when_it_cannot(qapp, tmp_path, caplog):
    # At most the screen (800×800 offscreen); below the window's own minimum, it says so.
    target = tmp_path / "small.png"
    argv = ["gui", "--screenshot", str(target), "--tab", "connect", "--size", "790x560"]
    assert main([*argv, "--run-seconds", "1"]) == 0
    picture = QImage(str(target))
    assert "the window cannot be 790x560: it needs at least" in caplog.text
    assert picture.width() >= 790 and picture.height() >= 560


@pytest.mark.parametrize("size", ["1366", "0x768", "widexhigh"])
def test_a_malformed_size_is_a_usage_error(qapp, tmp_path, capsys, size):
    with pytest.raises(SystemExit) as exit_info:
        main(["gui", "--screenshot", str(tmp_path / "x.png"), "--size", size])
    assert exit_info.value.code == 2
    assert "is not WIDTHxHEIGHT" in capsys.readouterr().err


def test_a_size_beyond_the_screen_is_one_line_before_any_window(qapp, tmp_path, capsys):
    # The offscreen screen of the tests is 800×800.
    assert main(["gui", "--screenshot", str(tmp_path / "x.png"), "--size", "1920x1080"]) == 1
    err = capsys.readouterr().err
    assert "--size 1920x1080 is larger than the screen (800x800)" in err
    assert not (tmp_path / "x.png").exists()


def test_gui_limits_narrower_than_the_sweep_still_calibrates(qapp, tmp_path, caplog):
    limits = tmp_path / "narrow.toml"
    limits.write_text("[bias]\nmax_abs_v = 0.4\n")
    target = tmp_path / "calibration.png"
    argv = ["gui", "--mock", "--limits", str(limits), "--screenshot", str(target)]
    assert main([*argv, "--tab", "calibration", "--run-seconds", "8"]) == 0
    assert "calibration failed" not in caplog.text
    assert "sweep 0.150 to 0.400 V: within the limits" in caplog.text
    assert "calibrated: V50" in caplog.text
