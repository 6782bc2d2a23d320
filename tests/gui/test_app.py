"""`smtjlab gui --screenshot`: unattended run, pictures saved, exit 0; signals close it safely."""

import signal

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


def test_negative_run_time_is_one_clear_line(qapp, tmp_path, capsys):
    code = main(["gui", "--screenshot", str(tmp_path / "x.png"), "--run-seconds", "-1"])
    assert code == 1
    assert "--run-seconds must be positive" in capsys.readouterr().err


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
        rm = getattr(windows[0].bench, "_rm", None) if windows else None
        if not biased and rm is not None and rm.visalib.bench.output_on:
            biased.append(rm.visalib.bench)  # the simulated world behind the mock SMU
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
