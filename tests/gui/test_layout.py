"""The window on real screen sizes: 1366×768 and 1920×1080 (offscreen screens of that size).

Each case runs in a fresh interpreter: the offscreen platform's screen size is fixed when the
QApplication starts, and this session's is 800×800."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import json, sys
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    app = QApplication(["smtjlab"])
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, sys.argv[1])
    from smtjlab.gui.bench_worker import BenchWorker
    from smtjlab.gui.inference_worker import InferenceWorker
    from smtjlab.gui.window import LabWindow

    def opened():
        inference = InferenceWorker(resolve=lambda choice: sys.argv[2])
        window = LabWindow(mock=True, bench=BenchWorker(), inference=inference)
        window.show()
        for _ in range(20):
            app.processEvents()
        return window

    def rect(r):
        return [r.x(), r.y(), r.width(), r.height()]

    first = opened()
    result = {
        "available": rect(first.screen().availableGeometry()),
        "frame": rect(first.frameGeometry()),
        "minimum": [first.minimumSizeHint().width(), first.minimumSizeHint().height()],
    }
    # Eleven states: nine pools, whose raster labels must not pile up.
    import numpy as np
    from smtjlab.gui.messages import PoolStatus

    levels = [k / 10 for k in range(1, 10)]
    status = PoolStatus(levels, [1.0] * 9, [1 << 20] * 9, levels, np.zeros((9, 400), np.uint8),
                        [0.135] * 9, [0.5] * 9, [0.0] * 9, 10_000)
    first.pools_view.show_status(status)
    first.show_tab("pools")
    for _ in range(20):
        app.processEvents()
    raster = first.pools_view.raster
    result["raster_row_px"] = raster.getViewBox().height() / 9
    result["label_px"] = raster.fontMetrics().height()
    result["frame_with_pools"] = rect(first.frameGeometry())
    first.resize(int(sys.argv[3]), int(sys.argv[4]))  # as the user left it
    app.processEvents()
    result["left"] = [first.width(), first.height()]
    first.close()
    second = opened()
    result["reopened"] = rect(second.frameGeometry())
    result["reopened_size"] = [second.width(), second.height()]
    second.close()
    print(json.dumps(result))
    """
)


def run_on_screen(tmp_path, width, height, left, tiny_model):
    screen = tmp_path / "screen.json"
    screen.write_text(
        json.dumps(
            {
                "screens": [
                    {
                        "name": "screen",
                        "x": 0,
                        "y": 0,
                        "width": width,
                        "height": height,
                        "logicalDpi": 96,
                        "logicalBaseDpi": 96,
                        "dpr": 1,
                    }
                ]
            }
        )
    )
    env = dict(os.environ, QT_QPA_PLATFORM=f"offscreen:configfile={screen}")
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path), str(tiny_model), *map(str, left)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def inside(frame, available):
    x, y, w, h = frame
    ax, ay, aw, ah = available
    return ax <= x and ay <= y and x + w <= ax + aw and y + h <= ay + ah


@pytest.mark.parametrize("screen", [(1366, 768), (1920, 1080)])
def test_the_window_opens_inside_the_screen_and_reopens_as_left(tmp_path, tiny_model, screen):
    width, height = screen
    left = (width - 100, height - 40)
    found = run_on_screen(tmp_path, width, height, left, tiny_model)
    assert inside(found["frame"], found["available"]), found
    assert inside(found["frame_with_pools"], found["available"]), found
    assert found["raster_row_px"] >= found["label_px"], found  # nine labels, one per row
    assert found["minimum"][0] <= 1366 and found["minimum"][1] <= 768 - 40, found  # room to spare
    assert found["left"] == list(left)
    assert found["reopened_size"] == list(left)  # the geometry was remembered (QSettings)
    assert inside(found["reopened"], found["available"]), found


def test_a_geometry_remembered_on_a_bigger_screen_is_shrunk_to_this_one(tmp_path, tiny_model):
    big = run_on_screen(tmp_path, 1920, 1080, (1900, 1050), tiny_model)
    assert big["reopened_size"] == [1900, 1050]
    small = run_on_screen(tmp_path, 1366, 768, (1300, 740), tiny_model)  # same settings folder
    # The first window of this run restored 1900×1050 and had to fit 1366×768.
    assert inside(small["frame"], small["available"]), small
