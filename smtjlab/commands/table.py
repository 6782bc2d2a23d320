"""`smtjlab table`: the paper's accuracy table, reproduced with the shipped checkpoints.

{1, 3 hidden layers} x {5, 11 states} x {with, without SC training} x L in {100 ... 500}, in
the sign-magnitude encoding, the bipolar one or both side by side, each cell the MNIST test
accuracy of the SC engine; written as CSV, markdown and a PNG plot. Each
(model, L, seed) is a pure task (smtjlab/tasks.py), run in process, or on Dask with --workers
or --scheduler (docs/scale.md); the files are the same every way.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

from smtjlab.arguments import int_between, nonnegative_int, positive_int
from smtjlab.console import emit, progress
from smtjlab.errors import SmtjlabError
from smtjlab.executors import Failed, add_arguments, open_executor
from smtjlab.inference.checkpoint import shipped_name
from smtjlab.inference.encoding import Encoding
from smtjlab.outputs import OutputFile, add_force_argument
from smtjlab.results import dicts_csv
from smtjlab.tasks import BATCH, evaluate

LENGTHS = (100, 200, 300, 400, 500)
DEPTHS = (1, 3)
STATES = (5, 11)
MODES = ("sc", "plain")
ENCODINGS = tuple(encoding.value for encoding in Encoding)  # sign-magnitude first
# The paper's published figures (arXiv 2504.06414), drawn on the plot for comparison.
PAPER_L100 = {1: 92.0, 3: 96.0}
PAPER_BEST = (400, 96.82)
# The same figures as the table words them: (hidden layers, L) -> accuracy (%)
PAPER_CELLS = {(1, 100): "92", (3, 100): "over 96", (3, 400): "96.82 (its best cell)"}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "table", help="reproduce the paper's accuracy table", description=__doc__
    )
    parser.add_argument(
        "--images",
        type=int_between(1, 10000),
        default=10000,
        help="first N test images (default all)",
    )
    parser.add_argument(
        "--bits",
        default="mock",
        help="mock (pools filled on the mock bench; default), ideal (PRNG) or a bit-pool file",
    )
    parser.add_argument(
        "--lengths", type=positive_int, nargs="+", default=list(LENGTHS), metavar="L"
    )
    parser.add_argument(
        "--encoding",
        choices=(*ENCODINGS, "both"),
        default=ENCODINGS[0],
        help="the shipped models of one encoding (default sign-magnitude), or both side by side",
    )
    parser.add_argument(
        "--seed", type=nonnegative_int, default=0, help="seed of the stream placement"
    )
    parser.add_argument(
        "--repeats",
        type=positive_int,
        default=1,
        help="runs per cell with seeds SEED, SEED+1, ...: the mean and spread are reported",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("docs"), help="folder for the CSV, markdown and PNG"
    )
    parser.add_argument(
        "--name",
        default="accuracy",
        help="file stem: OUT/NAME-table.csv, OUT/NAME-table.md, OUT/figures/NAME.png",
    )
    add_force_argument(parser)
    add_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


class TableError(SmtjlabError):
    """A cell of the table that could not be computed."""


def run(args: argparse.Namespace) -> int:
    # heavy imports (numba, h5py, instruments) load when the command runs, not to build the parser
    from smtjlab.inference.checkpoint import load_checkpoint
    from smtjlab.inference.engine import check_memory, deterministic_scores
    from smtjlab.inference.mnist import load_mnist

    started = time.perf_counter()
    bits_file = None if args.bits in ("ideal", "mock") else args.bits
    csv_out, md_out, png_out = (
        OutputFile(path, force=args.force, inputs=[bits_file], make_folder=True)
        for path in (
            args.out / f"{args.name}-table.csv",
            args.out / f"{args.name}-table.md",
            args.out / "figures" / f"{args.name}.png",
        )
    )
    images, labels = load_mnist("test")
    images, labels = images[: args.images], labels[: args.images]
    encodings = ENCODINGS if args.encoding == "both" else (args.encoding,)
    # (depth, states, mode, encoding): the arguments of the shipped model's name
    models = [(d, s, m, e) for e in encodings for d in DEPTHS for s in STATES for m in MODES]
    checkpoints = {key: load_checkpoint(shipped_name(*key)) for key in models}
    for checkpoint in checkpoints.values():  # refuse an absurd L before any work
        check_memory(checkpoint, max(args.lengths), min(BATCH, args.images))
    with open_executor(args) as executor:
        cells, pools = _run_cells(args, models, checkpoints, executor)
    rows = []
    for key in models:
        for length in args.lengths:
            accuracies = [100 * cell["accuracy"] for cell in cells[shipped_name(*key), length]]
            rows.append(
                {
                    "model": shipped_name(*key),
                    "encoding": key[3],
                    "hidden_layers": key[0],
                    "states": key[1],
                    "training": "with SC" if key[2] == "sc" else "without SC",
                    "length": length,
                    "accuracy": round(float(np.mean(accuracies)), 2),
                    "accuracy_std": round(float(np.std(accuracies, ddof=1)), 2)
                    if args.repeats > 1
                    else None,
                }
            )
    deterministic = {
        shipped_name(*key): round(
            100
            * float((deterministic_scores(checkpoints[key], images).argmax(1) == labels).mean()),
            2,
        )
        for key in models
    }
    text = _markdown(rows, deterministic, args, len(images), checkpoints) + _pool_note(pools)
    with csv_out.writing() as csv_temp, md_out.writing() as md_temp, png_out.writing() as png:
        csv_temp.write_text(dicts_csv(rows))
        md_temp.write_text(text)
        _plot(rows, deterministic, png)
    files = [csv_out.path, md_out.path, png_out.path]
    best = max(rows, key=lambda row: row["accuracy"])
    result = {
        "cells": rows,
        "deterministic": deterministic,
        "best": best,
        "images": len(images),
        "bits": args.bits,
        "pools": pools,
        "seed": args.seed,
        "repeats": args.repeats,
        "executor": executor.name,
        "tasks": [
            {key: value for key, value in cell.items() if key != "pool_stats"}
            for runs in cells.values()
            for cell in runs
        ],
        "seconds": round(time.perf_counter() - started, 1),
        "files": [str(path) for path in files],
    }
    emit(result, args.json, text)
    return 0


def _run_cells(args, models, checkpoints, executor) -> tuple[dict, list[dict]]:
    """Every (model, length, seed) as a task on `executor`: {(model, length): [rows by seed]},
    and the pools' statistics summed over the tasks."""
    from smtjlab.inference.checkpoint import resolve_model
    from smtjlab.inference.engine import device_levels

    # one bit-pool file per set of device levels: the mock bench calibrates and fills it once
    pool_files: dict[tuple[float, ...], Any] = {}
    jobs = []
    for key in models:
        checkpoint = checkpoints[key]
        levels = tuple(device_levels(checkpoint))
        if levels not in pool_files:
            pool_files[levels] = _pool_file(args.bits, levels, executor)
        files = {"model": executor.share(resolve_model(shipped_name(*key)).read_bytes())}
        if pool_files[levels] is not None:
            files["pool"] = pool_files[levels]
        for length in args.lengths:
            for seed in range(args.seed, args.seed + args.repeats):
                config = {
                    "model": shipped_name(*key),
                    "length": length,
                    "seed": seed,
                    "images": args.images,
                    "bits": args.bits,
                }
                jobs.append((evaluate, config, files))
    cells: dict[tuple[str, int], list[dict]] = {}
    results = [None] * len(jobs)
    for index, result in progress(executor.run(jobs), "table", total=len(jobs)):
        if isinstance(result, Failed):
            raise TableError(f"cell {jobs[index][1]} failed: {result.error}")
        results[index] = result
    for (_, config, _), result in zip(jobs, results, strict=True):
        cells.setdefault((config["model"], config["length"]), []).append(result)
    return cells, _pool_totals(results)


def _pool_file(bits: str, levels: tuple[float, ...], executor) -> Any:
    """The bit-pool file the tasks of these levels read, shared: None for ideal bits."""
    from smtjlab.bench import open_bit_source

    if bits == "ideal":
        return None
    source = open_bit_source(bits, list(levels))  # checks a file and fills mock pools here
    data = Path(bits).read_bytes() if bits != "mock" else source.to_bytes()
    return executor.share(data)


def _pool_totals(results: list[dict]) -> list[dict]:
    """Each pool's statistics over all tasks that drew from it (each drew from its own copy)."""
    totals: dict[tuple[str, float], dict] = {}
    for result in results:
        for stats in result["pool_stats"]:
            key = (result["bits_sha256"], stats["p_target"])
            total = totals.setdefault(key, {**stats, "drawn_segments": 0, "reuse": 0.0})
            overlapping = total["overlap_rate"] * total["drawn_segments"]
            overlapping += stats["overlap_rate"] * stats["drawn_segments"]
            total["drawn_segments"] += stats["drawn_segments"]
            total["overlap_rate"] = overlapping / max(total["drawn_segments"], 1)
            total["reuse"] += stats["reuse"]
    return list(totals.values())


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _markdown(rows, deterministic, args, images: int, checkpoints) -> str:
    lengths = sorted({row["length"] for row in rows})
    encodings = list(dict.fromkeys(key[3] for key in checkpoints))
    by_cell = {(row["model"], row["length"]): row["accuracy"] for row in rows}
    header = "| encoding | hidden layers | states | training | " + " | ".join(
        f"L = {n}" for n in lengths
    )
    runs = (
        f"the mean of {args.repeats} runs (seeds {args.seed}–{args.seed + args.repeats - 1}; "
        "each run draws new weight and input streams)"
        if args.repeats > 1
        else f"seed {args.seed}"
    )
    lines = [
        f"MNIST test accuracy (%) of the SC engine on {images} test images, {args.bits} bits, "
        f"{runs}. The last column is the deterministic quantized network (L = ∞).",
        "",
        header + " | L = ∞ |",
        "|" + " --- |" * (5 + len(lengths)),
    ]
    for key, checkpoint in checkpoints.items():
        name = shipped_name(*key)
        cells = " | ".join(f"{by_cell[(name, n)]:.2f}" for n in lengths)
        lines.append(
            f"| {key[3]} | {key[0]} ({'-'.join(map(str, checkpoint.hidden))}) | {key[1]} | "
            f"{'with SC' if key[2] == 'sc' else 'without SC'} | {cells} | "
            f"{deterministic[name]:.2f} |"
        )
    spread = [row["accuracy_std"] for row in rows if row["accuracy_std"] is not None]
    if spread:
        lines += [
            "",
            f"Run-to-run standard deviation of a cell: {min(spread):.2f}–{max(spread):.2f} points.",
        ]
    first = lengths[0]
    for encoding in encodings:
        gaps = []
        for depth in DEPTHS:
            for states in STATES:
                sc, plain = (
                    by_cell[(shipped_name(depth, states, m, encoding), first)] for m in MODES
                )
                gaps.append(f"{depth} hidden, {states} states: {sc - plain:+.2f}")
        lines += ["", f"{encoding}, with SC minus without SC at L = {first}: " + "; ".join(gaps)]
        lines[-1] += "."
    return "\n".join(lines + _beside_the_paper(by_cell, lengths, encodings)) + "\n"


def _beside_the_paper(by_cell: dict, lengths: list[int], encodings: list[str]) -> list[str]:
    """The paper's published cells beside the same cells of the models trained with SC."""
    cells = [(depth, length) for depth, length in PAPER_CELLS if length in lengths]
    if not cells:
        return []
    columns = [(encoding, states) for encoding in encodings for states in STATES]
    lines = [
        "",
        "Beside the paper (arXiv 2504.06414), models trained with SC:",
        "",
        "| cell | paper | " + " | ".join(f"{e}, {n} states" for e, n in columns) + " |",
        "|" + " --- |" * (2 + len(columns)),
    ]
    for depth, length in cells:
        ours = " | ".join(
            f"{by_cell[(shipped_name(depth, states, 'sc', encoding), length)]:.2f}"
            for encoding, states in columns
        )
        lines.append(
            f"| {depth} hidden layer{'s' if depth > 1 else ''}, L = {length} | "
            f"{PAPER_CELLS[depth, length]} | {ours} |"
        )
    return lines


def _pool_note(pools: list[dict]) -> str:
    """How hard the device pools were used: overlap within one image's streams, and reuse."""
    if not pools:
        return ""
    return (
        f"\nBit pools: {len(pools)} device levels of {pools[0]['n_bits']} bits each; streams "
        f"of one image overlapping another of its streams: at most "
        f"{max(pool['overlap_rate'] for pool in pools):.2%}; streams of different images "
        f"reuse the pools, each pooled bit read {max(pool['reuse'] for pool in pools):.0f} "
        "times at most over the whole table.\n"
    )


def _plot(rows, deterministic, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    encodings = list(dict.fromkeys(row["encoding"] for row in rows))
    figure, grid = plt.subplots(len(encodings), 2, figsize=(10, 4 * len(encodings)), squeeze=False)
    for encoding, axes in zip(encodings, grid, strict=True):
        for axis, depth in zip(axes, DEPTHS, strict=True):
            _plot_panel(axis, rows, deterministic, depth, encoding)
            axis.set_title(
                f"{depth} hidden layer{'s' if depth > 1 else ''}, {encoding}"
                if len(encodings) > 1
                else f"{depth} hidden layer{'s' if depth > 1 else ''}"
            )
    figure.tight_layout()
    figure.savefig(path, dpi=120, format="png")
    plt.close(figure)


def _plot_panel(axis, rows, deterministic, depth: int, encoding: str) -> None:
    """Accuracy against L of one depth and encoding: both state counts, with and without SC."""
    for states, colour in zip(STATES, ("tab:blue", "tab:red"), strict=True):
        for mode, style in (("sc", "-"), ("plain", "--")):
            name = shipped_name(depth, states, mode, encoding)
            points = sorted((r["length"], r["accuracy"]) for r in rows if r["model"] == name)
            axis.plot(
                *zip(*points, strict=True),
                style,
                marker="o" if mode == "sc" else "s",
                color=colour,
                label=f"{states} states, {'with' if mode == 'sc' else 'without'} SC",
            )
            axis.axhline(deterministic[name], color=colour, linestyle=style, linewidth=0.5)
    axis.axhline(PAPER_L100[depth], color="grey", linestyle=":", label="paper, L = 100")
    if depth == 3:
        axis.plot(*PAPER_BEST, "k*", markersize=10, label="paper, best cell")
    if max(row["length"] for row in rows) > 1000:
        axis.set_xscale("log")
    axis.set_xlabel("bitstream length L (thin lines: deterministic network, L = ∞)")
    axis.set_ylabel("MNIST test accuracy (%)")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=7, loc="lower right")
