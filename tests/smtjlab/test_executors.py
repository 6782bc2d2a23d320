import argparse
import os
from pathlib import Path

import pytest

from smtjlab.executors import DaskExecutor, ExecutorError, Failed, InProcess, open_executor


def square_or_fail(config, **files):
    if config["x"] < 0:
        raise ValueError(f"negative {config['x']}\nsecond line")
    return config["x"] ** 2 + len(files.get("blob", b""))


def test_in_process_runs_in_order_and_turns_errors_into_failed():
    jobs = [({"x": 2}, {"blob": b"abc"}), ({"x": -1}, {}), ({"x": 3}, {})]
    with InProcess() as executor:
        results = list(executor.run([(square_or_fail, *job) for job in jobs]))
    assert results == [(0, 7), (1, Failed("ValueError: negative -1 second line")), (2, 9)]


def test_no_flag_means_in_process():
    assert isinstance(open_executor(argparse.Namespace(workers=None, scheduler=None)), InProcess)


def test_a_local_cluster_gives_the_same_results_and_failures():
    jobs = [(square_or_fail, {"x": x}, {}) for x in (4, -2, 5)]
    with DaskExecutor(workers=2) as executor:
        shared = executor.share(b"xy")
        results = dict(executor.run([*jobs, (square_or_fail, {"x": 1}, {"blob": shared})]))
    assert results == {0: 16, 1: Failed("ValueError: negative -2 second line"), 2: 25, 3: 3}


def test_an_unreachable_scheduler_is_one_error():
    with pytest.raises(ExecutorError, match=r"cannot reach tcp://127\.0\.0\.1:9"):
        DaskExecutor(scheduler="tcp://127.0.0.1:9")


def die_the_first_time(config, **files):
    marker = Path(config["marker"])
    if not marker.exists():
        marker.write_text("this worker died here")
        os._exit(1)  # the worker process dies, as a crashed or killed node would
    return "rerun"


def test_a_task_whose_worker_dies_is_rerun_by_dask(tmp_path):
    with DaskExecutor(workers=1) as executor:
        job = (die_the_first_time, {"marker": str(tmp_path / "died")}, {})
        assert list(executor.run([job])) == [(0, "rerun")]
    assert (tmp_path / "died").exists()
