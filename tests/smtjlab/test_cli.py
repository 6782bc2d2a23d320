import argparse
import signal
import subprocess
import sys
import time
import weakref

import pytest

from smtjlab import __version__, cli
from smtjlab.cli import main


def test_version_and_help_through_python_dash_m():
    version = subprocess.run(
        [sys.executable, "-m", "smtjlab", "--version"], capture_output=True, text=True, check=True
    )
    assert version.stdout.strip() == f"smtjlab {__version__}"
    helptext = subprocess.run(
        [sys.executable, "-m", "smtjlab", "--help"], capture_output=True, text=True, check=True
    )
    assert "mnist" in helptext.stdout


def test_usage_errors_exit_2(capsys):
    assert main([]) == 2
    try:
        main(["no-such-command"])
    except SystemExit as exit_:
        assert exit_.code == 2


def test_errors_are_one_line_on_stderr_with_stdout_clean(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("SMTJLAB_MNIST_DIR", str(tmp_path))
    assert main(["mnist", "--json"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and "no MNIST train files" in captured.err


def test_building_the_parser_imports_no_heavy_library():
    """Start-up stays fast (DESIGN §6): torch, Qt, h5py and numba load only in a command's run."""
    heavy = ("torch", "PySide6", "h5py", "numba", "dask", "distributed")
    script = (
        "import sys\n"
        "from smtjlab.cli import build_parser\n"
        "build_parser()\n"
        f"print(' '.join(name for name in {heavy!r} if name in sys.modules))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.split()
    assert loaded == []


def test_help_states_the_defaults_that_run_resolves(capsys):
    """demo and calibrate resolve some defaults in `run` (their modules are heavy to import),
    so their help states them in words; this keeps the words true."""
    from smtjlab import demo
    from smtjlab.bench import SWEEP_RANGE

    for argv, defaults in [
        (["demo", "--help"], [f"default {demo.DEFAULT_LENGTH})", f"default {demo.DEFAULT_MODEL})"]),
        (["calibrate", "--help"], ["default {:g} {:g})".format(*SWEEP_RANGE)]),
    ]:
        with pytest.raises(SystemExit):
            main(argv)
        helptext = " ".join(capsys.readouterr().out.split())
        for default in defaults:
            assert default in helptext


def command_raising(exception):
    def run(args):
        raise exception

    return run


@pytest.mark.parametrize(
    ("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)]
)
def test_a_stop_signal_ends_the_command_with_128_plus_its_number(monkeypatch, capfd, signum, code):
    ended = []

    def run(args):
        try:
            signal.raise_signal(signum)
            time.sleep(1)  # the handler raises before this returns
        finally:
            ended.append("finally ran")  # the way out runs, as for Ctrl-C

    before = signal.getsignal(signum)
    monkeypatch.setattr(cli, "build_parser", lambda: parser_running(run))
    assert main(["fake"]) == code
    assert ended == ["finally ran"]
    assert signal.getsignal(signum) is before  # the previous handler is back
    name = signal.Signals(signum).name
    assert capfd.readouterr().err == f"smtjlab fake: {name} received, stopping\n"


def test_ctrl_c_raised_in_code_is_reported_as_interrupted(monkeypatch, capsys):
    monkeypatch.setattr(
        cli, "build_parser", lambda: parser_running(command_raising(KeyboardInterrupt))
    )
    assert main(["fake"]) == 130
    assert capsys.readouterr().err == "smtjlab fake: interrupted\n"


def test_the_signal_notice_comes_before_the_lines_of_the_way_out(monkeypatch, capfd):
    def run(args):
        try:
            signal.raise_signal(signal.SIGTERM)
        finally:
            print("smu: 0.000 V, output off", file=sys.stderr)

    monkeypatch.setattr(cli, "build_parser", lambda: parser_running(run))
    assert main(["fake"]) == 143
    assert capfd.readouterr().err.splitlines() == [
        "smtjlab fake: SIGTERM received, stopping",
        "smu: 0.000 V, output off",
    ]


def test_a_signal_landing_in_a_weakref_callback_still_stops_the_command(monkeypatch, capfd):
    # Python prints and drops an exception raised inside a weakref callback, so a Terminated
    # raised there by the handler would be lost and the command would run on (seen under load).
    class Held:
        pass

    def callback(ref):
        signal.raise_signal(signal.SIGTERM)
        for _ in range(1000):  # the handler runs here, inside the callback
            pass

    ran_on = []

    def run(args):
        held = Held()
        ref = weakref.ref(held, callback)
        del held  # the callback runs now
        assert ref() is None
        time.sleep(1)  # the signal delivered again raises before this returns
        ran_on.append("the command ran on")

    hook = sys.unraisablehook
    monkeypatch.setattr(cli, "build_parser", lambda: parser_running(run))
    assert main(["fake"]) == 143
    assert ran_on == []
    assert sys.unraisablehook is hook  # put back
    err = capfd.readouterr().err
    assert err.count("SIGTERM received, stopping") == 1  # said once, however often delivered


def parser_running(run):
    parser = argparse.ArgumentParser(prog="smtjlab")
    parser.add_argument("-v", "--verbose", action="count", default=0)
    parser.add_argument("--debug", action="store_true")
    parser.add_subparsers(dest="command").add_parser("fake").set_defaults(run=run)
    return parser
