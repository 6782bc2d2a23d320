"""Where tasks run (DESIGN §5.6): in this process, on a local Dask cluster, or on a Dask cluster
that is already running. smtjlab never schedules work itself; Dask does.

A job is a pure task function with its arguments, `function(config, **files)`: `config` a dict
of plain values, `files` the bytes of the files it reads (a model, a bit pool). `share` hands
such bytes to the executor once, so a file used by many tasks travels to each worker once.
Dask loads only when asked for, so the command line starts fast.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from smtjlab.arguments import positive_int
from smtjlab.errors import SmtjlabError

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 10  # a scheduler that does not answer within this is an error, not a hang
# (function, config, files: name -> bytes or a handle from `share`)
Job = tuple[Callable[..., Any], dict, dict[str, Any]]


class ExecutorError(SmtjlabError):
    """A Dask cluster that cannot be started or reached."""


@dataclass(frozen=True)
class Failed:
    """The result of a task that raised: its error as one line."""

    error: str


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The executor options every command that runs tasks takes."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--workers",
        type=positive_int,
        metavar="N",
        help="run the tasks on a local Dask cluster of N worker processes",
    )
    where.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the tasks on the Dask cluster whose scheduler is at ADDRESS (tcp://HOST:PORT)",
    )


def open_executor(args: argparse.Namespace) -> Executor:
    """The executor the command line asked for: in process unless --workers or --scheduler."""
    if args.workers is not None or args.scheduler is not None:
        return DaskExecutor(workers=args.workers, scheduler=args.scheduler)
    return InProcess()


class Executor:
    """Runs jobs and yields (index, result) as each finishes; a task that raises gives Failed."""

    name = "in process"

    def share(self, data: bytes) -> Any:
        return data

    def run(self, jobs: Sequence[Job]) -> Iterator[tuple[int, Any]]:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class InProcess(Executor):
    """One job after another in this process, in order."""

    def run(self, jobs: Sequence[Job]) -> Iterator[tuple[int, Any]]:
        for index, (function, config, files) in enumerate(jobs):
            try:
                result = function(config, **files)
            except Exception as error:  # a failing task is a result; Ctrl-C is not
                result = Failed(_one_line(error))
            yield index, result


class DaskExecutor(Executor):
    """A `distributed.Client` on a new LocalCluster (`workers`) or an existing scheduler.

    A worker that dies takes its tasks with it; the scheduler reruns them on another worker
    (Dask's `distributed.scheduler.allowed-failures`, 3 by default) before they count as failed.
    """

    def __init__(self, workers: int | None = None, scheduler: str | None = None) -> None:
        import distributed

        # Dask logs every connection at INFO; show its logs only when -v asks for ours
        logging.getLogger("distributed").setLevel(logging.getLogger().getEffectiveLevel())
        self._distributed = distributed
        self._cluster = None
        try:
            if scheduler is not None:
                self.name = f"Dask scheduler {scheduler}"
                self.client = distributed.Client(scheduler, timeout=CONNECT_TIMEOUT_S)
            else:
                self.name = f"{workers} local Dask workers"
                with _workers_ignore_ctrl_c():
                    self._cluster = distributed.LocalCluster(
                        n_workers=workers,
                        threads_per_worker=1,
                        processes=True,
                        dashboard_address=":0",  # any free port: never a clash with another
                        # the worker processes' own logs: a task's error comes back through
                        # its future, and a dying worker is logged by its nanny here; what
                        # is left is shutdown noise (a heartbeat to a scheduler just closed)
                        silence_logs=logging.CRITICAL,
                        # one core per worker: the engine's parallel kernels use one thread
                        # each instead of every worker's kernels contending for all the cores
                        env={"NUMBA_NUM_THREADS": "1"},
                    )
                self.client = distributed.Client(self._cluster)
        except (OSError, TimeoutError, ValueError, RuntimeError) as error:
            self.close()
            where = scheduler if scheduler is not None else f"a local cluster of {workers}"
            raise ExecutorError(f"cannot reach {where}: {_one_line(error)}") from None
        log.info("running tasks on %s", self.name)

    def share(self, data: bytes) -> Any:
        # one copy per worker, sent once, instead of one copy inside every task
        return self.client.scatter(data, broadcast=True, hash=True)

    def run(self, jobs: Sequence[Job]) -> Iterator[tuple[int, Any]]:
        futures = {
            self.client.submit(function, config, pure=False, **files): index
            for index, (function, config, files) in enumerate(jobs)
        }
        try:
            for future in self._distributed.as_completed(futures):
                try:
                    result = future.result()
                except Exception as error:  # the task's own error, re-raised by Dask
                    result = Failed(_one_line(error))
                yield futures[future], result
        finally:
            # Ctrl-C or a consumer that stops early: nothing keeps running on the cluster
            self.client.cancel([future for future in futures if not future.done()])

    def close(self) -> None:
        client = getattr(self, "client", None)
        if client is not None:
            client.close()
        if self._cluster is not None:
            self._cluster.close()


@contextlib.contextmanager
def _workers_ignore_ctrl_c() -> Iterator[None]:
    """Start worker processes with SIGINT ignored (they inherit it): Ctrl-C in a terminal
    reaches every process of the group, and the command, not each worker, handles it by
    closing the cluster. Without this every worker prints its own KeyboardInterrupt trace."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may change signal handlers
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
