"""`smtjlab sweep`: same rows in process and on a Dask scheduler, resume, failures reported."""

import os
import re
import signal
import subprocess
import sys
import time

import pytest

from smtjlab.cli import main
from smtjlab.results import read_rows

TINY = """
images = 100
lengths = [16, 64]
seeds = [0]

[train]
hidden = [[16]]
states = [5]
training = ["plain", "sc"]
sc_length = 64
epochs = [2]
train_images = 500

[evaluate]
models = ["mlp1-s5-sc"{extra}]
"""
DASK = [sys.executable, "-m", "distributed.cli.dask_{}"]


@pytest.fixture
def sweep_file(tmp_path, mnist_dir, monkeypatch):
    monkeypatch.setenv("SMTJLAB_MNIST_DIR", str(mnist_dir))
    path = tmp_path / "tiny.toml"
    path.write_text(TINY.format(extra=""))
    return path


def rows_without_order(path):
    return sorted(tuple(sorted(row.items())) for row in read_rows(path))


@pytest.fixture
def dask_cluster(tmp_path, mnist_dir):
    """A `dask scheduler` and one `dask worker` on 127.0.0.1, always killed at the end."""
    env = {**os.environ, "SMTJLAB_MNIST_DIR": str(mnist_dir)}
    log = (tmp_path / "scheduler.log").open("w+")
    scheduler = subprocess.Popen(
        [
            *DASK[:2],
            DASK[2].format("scheduler"),
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--dashboard-address",
            ":0",
        ],
        stdout=log,
        stderr=log,
        env=env,
    )
    processes = [scheduler]
    try:
        address = None
        deadline = time.monotonic() + 30
        while address is None and time.monotonic() < deadline:
            time.sleep(0.2)
            found = re.search(
                r"Scheduler at:\s+(tcp://127\.0\.0\.1:\d+)",
                (tmp_path / "scheduler.log").read_text(),
            )
            address = found and found.group(1)
        assert address, "the dask scheduler did not start within 30 s"
        processes.append(
            subprocess.Popen(
                [
                    *DASK[:2],
                    DASK[2].format("worker"),
                    address,
                    "--nthreads",
                    "1",
                    "--host",
                    "127.0.0.1",
                    "--dashboard-address",
                    ":0",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
            )
        )
        yield address
    finally:
        for process in reversed(processes):
            process.kill()
            process.wait(timeout=10)
        log.close()


def test_a_scheduler_gives_the_same_rows_as_in_process(sweep_file, dask_cluster, tmp_path):
    local, remote = tmp_path / "local.csv", tmp_path / "remote.csv"
    assert main(["sweep", str(sweep_file), "-o", str(local)]) == 0
    assert main(["sweep", str(sweep_file), "-o", str(remote), "--scheduler", dask_cluster]) == 0
    rows = read_rows(local)
    assert len(rows) == 2 * 2 + 2  # two trained models x two lengths, one shipped x two
    assert rows_without_order(local) == rows_without_order(remote)
    trained = [row for row in rows if row["kind"] == "train"]
    assert all(len(row["weights_sha256"]) == 64 for row in trained)
    shipped = [row for row in rows if row["kind"] == "evaluate"]
    assert all(float(row["accuracy"]) > 0.9 for row in shipped)


def test_a_killed_sweep_resumes_without_redoing_finished_tasks(sweep_file, tmp_path):
    output = tmp_path / "results.csv"
    command = [sys.executable, "-m", "smtjlab", "sweep", str(sweep_file), "-o", str(output)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            if output.exists() and len(read_rows(output)) >= 2:  # the first task is in
                break
            time.sleep(0.05)
        assert process.poll() is None, "the sweep finished before it could be killed"
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait(timeout=10)
    before = read_rows(output)
    finished = {row["task"] for row in before}
    assert 1 <= len(finished) < 4
    ran = subprocess.run([*command, "--json"], capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr
    summary = __import__("json").loads(ran.stdout)
    assert summary["skipped"] == len(finished) and summary["ran"] == 4 - len(finished)
    after = read_rows(output)
    assert after[: len(before)] == before  # finished rows untouched, not redone
    assert len(after) == 6 and len({row["task"] for row in after}) == 4


def test_a_corrupt_model_is_reported_and_the_other_tasks_finish(sweep_file, tmp_path, capsys):
    (tmp_path / "corrupt.npz").write_bytes(b"PK\x03\x04 this is not a checkpoint")
    sweep_file.write_text(TINY.format(extra=', "corrupt.npz"'))
    output = tmp_path / "results.csv"
    assert main(["sweep", str(sweep_file), "-o", str(output)]) == 1
    err = capsys.readouterr().err
    failed = [line for line in err.splitlines() if "failed:" in line and "task" in line]
    assert len(failed) == 2  # the corrupt model at each of two lengths
    assert all('"model": "corrupt.npz"' in line and "CheckpointError" in line for line in failed)
    assert "error: 2 of 6 tasks failed" in err
    rows = read_rows(output)
    assert len(rows) == 6 and "corrupt.npz" not in {row["model"] for row in rows}


def test_ctrl_c_leaves_a_valid_file_of_finished_tasks(sweep_file, tmp_path, monkeypatch):
    import smtjlab.tasks

    calls = []
    real = smtjlab.tasks.evaluate

    def interrupted_after_one(config, **files):
        calls.append(config)
        if len(calls) > 1:
            raise KeyboardInterrupt
        return real(config, **files)

    monkeypatch.setattr(smtjlab.tasks, "evaluate", interrupted_after_one)
    output = tmp_path / "results.csv"
    assert main(["sweep", str(sweep_file), "-o", str(output)]) == 130
    rows = read_rows(output)
    assert len(rows) == 2 * 2 + 1  # both trained tasks and one evaluate task
    assert output.read_text().endswith("\n")


def test_an_unrelated_results_file_is_not_overwritten(sweep_file, tmp_path, capsys):
    output = tmp_path / "mine.csv"
    output.write_text("my,own\n1,2\n")
    assert main(["sweep", str(sweep_file), "-o", str(output)]) == 1
    assert "not a results file of smtjlab sweep" in capsys.readouterr().err
    assert output.read_text() == "my,own\n1,2\n"


def test_ctrl_c_on_local_workers_stops_cleanly(tmp_path):
    """Ctrl-C in a terminal signals the whole process group, the workers included."""
    sweep = tmp_path / "many.toml"
    seeds = ", ".join(map(str, range(40)))
    sweep.write_text(
        f'images = 1000\nlengths = [64]\nseeds = [{seeds}]\n[evaluate]\nmodels = ["mlp1-s5-sc"]\n'
    )
    output = tmp_path / "results.csv"
    process = subprocess.Popen(
        [sys.executable, "-m", "smtjlab", "sweep", str(sweep), "-o", str(output), "--workers", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            if output.exists() and len(read_rows(output)) >= 1:
                break
            time.sleep(0.05)
        assert process.poll() is None, "the sweep finished before Ctrl-C"
        os.killpg(process.pid, signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    assert process.returncode == 130
    assert "smtjlab sweep: SIGINT received, stopping" in err and "Traceback" not in err
    assert 1 <= len(read_rows(output)) < 40 and output.read_text().endswith("\n")
