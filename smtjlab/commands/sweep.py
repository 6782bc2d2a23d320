"""`smtjlab sweep CONFIG.toml`: a grid of train-and-evaluate runs, each a pure task (DESIGN §5.6).

Rows go to the results file as each task finishes; rerunning the same command resumes,
skipping the tasks the file already holds. A task that fails is reported with its
configuration and the others go on.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from smtjlab.console import emit, progress
from smtjlab.errors import SmtjlabError
from smtjlab.executors import Failed, InProcess, add_arguments, open_executor


class SweepFailed(SmtjlabError):
    """Some tasks of the sweep failed (each was reported above)."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sweep", help="run a grid of train-and-evaluate tasks", description=__doc__
    )
    parser.add_argument("config", type=Path, metavar="CONFIG.toml", help="the sweep file")
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        help="results CSV (default: CONFIG-results.csv beside the sweep file); an existing "
        "file of the same sweep is resumed",
    )
    add_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from smtjlab.results import ResultsFile
    from smtjlab.sweep_grid import Sweep
    from smtjlab.tasks import evaluate, train_and_evaluate

    started = time.perf_counter()
    sweep = Sweep.load(args.config)
    output = args.output or args.config.with_name(f"{args.config.stem}-results.csv")
    results = ResultsFile.open(output, {task.key: task.rows for task in sweep.tasks})
    todo = [task for task in sweep.tasks if task.key not in results.finished]
    failures: list[dict] = []
    try:
        # nothing left to run: no cluster to start
        with open_executor(args) if todo else InProcess() as executor:
            files = {}
            if sweep.bits_file is not None:
                files["pool"] = executor.share(sweep.bits_file.read_bytes())
            models = {
                task.model_file: executor.share(task.model_file.read_bytes())
                for task in todo
                if task.model_file is not None
            }
            functions = {"train": train_and_evaluate, "evaluate": evaluate}
            jobs = [
                (functions[task.kind], task.config, {**files, **_model(task, models)})
                for task in todo
            ]
            for index, result in progress(executor.run(jobs), "sweep", len(jobs)):
                task = todo[index]
                if isinstance(result, Failed):
                    failures.append(
                        {"task": task.key, "config": task.config, "error": result.error}
                    )
                    print(
                        f"smtjlab sweep: task {task.key} failed: {result.error}; "
                        f"its configuration: {json.dumps(task.config)}",
                        file=sys.stderr,
                    )
                    continue
                rows = result if isinstance(result, list) else [result]
                results.append(task.key, [{**row, "kind": task.kind} for row in rows])
    finally:
        results.close()
    done = len(todo) - len(failures)
    summary = {
        "results": str(output),
        "tasks": len(sweep.tasks),
        "skipped": len(sweep.tasks) - len(todo),
        "ran": done,
        "failed": failures,
        "executor": executor.name,
        "seconds": round(time.perf_counter() - started, 1),
    }
    emit(
        summary,
        args.json,
        f"{output}: {done} tasks run, {summary['skipped']} already there, "
        f"{len(failures)} failed, of {len(sweep.tasks)}",
    )
    if failures:
        raise SweepFailed(f"{len(failures)} of {len(todo)} tasks failed (reported above)")
    return 0


def _model(task, models: dict) -> dict:
    return {"model": models[task.model_file]} if task.model_file is not None else {}
