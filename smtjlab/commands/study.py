"""`smtjlab study`: the science studies of docs/accuracy.md and docs/energy-model.md.

- `sc-training`: with-SC against without-SC training at L = 100, every paper configuration
  and both encodings, over training seeds x stream seeds, paired by training seed, with a
  one-sided paired t-test (smtjlab/studies/sc_training.py). Each (configuration, encoding,
  training seed, mode) is one task, run in process or on Dask (--workers, --scheduler).
- `widths`: the paper's networks trained with SC at several hidden widths, and which width
  lies nearest to each of the paper's figures (smtjlab/studies/widths.py).
- `nonideal`: accuracy at L = 100 under correlated bits, level errors, drift and pool reuse,
  on synthetic banks and on banks the mock bench fills (`--source`), one task per (model,
  source, non-ideality, value) (smtjlab/studies/nonideal.py).
- `energy`: the analog/quantized activation-energy ratio over DAC resolution x τc, for 5 and
  11 states, with the paper's 2.6x as a contour (smtjlab/studies/energy.py).
- `device-aware`: fine-tune shipped models against a deliberately poor mock device's measured
  levels and bit correlation, and report the share of the non-ideal loss it wins back, one
  task per (model, seed) (smtjlab/studies/device_aware.py).
"""

from __future__ import annotations

import argparse
import csv
import io
import time
from pathlib import Path

from smtjlab.arguments import (
    int_between,
    nonnegative_float,
    nonnegative_int,
    positive_float,
    positive_int,
)
from smtjlab.console import emit, progress
from smtjlab.errors import SmtjlabError
from smtjlab.executors import Failed, add_arguments, open_executor
from smtjlab.inference.checkpoint import shipped_name
from smtjlab.inference.encoding import Encoding
from smtjlab.inference.train_config import TrainConfig
from smtjlab.outputs import OutputFile, add_force_argument
from smtjlab.results import dicts_csv

ENCODINGS = tuple(encoding.value for encoding in Encoding)  # sign-magnitude first
RECIPE = TrainConfig(hidden=(256,), states=5)  # the shipped models' recipe (docs/accuracy.md)


class StudyError(SmtjlabError):
    """A study that cannot run or whose task failed."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("study", help="science studies (issue 17)", description=__doc__)
    studies = parser.add_subparsers(dest="study", metavar="STUDY", required=True)
    _register_sc_training(studies)
    _register_widths(studies)
    _register_nonideal(studies)
    _register_energy(studies)
    _register_device_aware(studies)


def _register_sc_training(studies: argparse._SubParsersAction) -> None:
    parser = studies.add_parser(
        "sc-training",
        help="with-SC against without-SC training, paired by training seed",
        description="With-SC against without-SC training at L, every paper configuration "
        "and encoding, over training seeds x stream seeds on ideal bits, paired by training "
        "seed, with a one-sided paired t-test (docs/accuracy.md).",
    )
    parser.add_argument("--encoding", choices=(*ENCODINGS, "both"), default="both")
    parser.add_argument("--depths", type=int, nargs="+", choices=(1, 3), default=[1, 3])
    parser.add_argument("--states", type=int, nargs="+", choices=(5, 11), default=[5, 11])
    parser.add_argument(
        "--train-seeds", type=positive_int, default=3, help="training seeds 0 .. N-1 (3)"
    )
    parser.add_argument(
        "--stream-seeds", type=positive_int, default=3, help="stream seeds 0 .. N-1 per model (3)"
    )
    parser.add_argument(
        "--length", type=positive_int, default=100, help="L of SC training and evaluation (100)"
    )
    parser.add_argument("--width", type=positive_int, default=RECIPE.hidden[0], help="(256)")
    parser.add_argument("--epochs", type=positive_int, default=RECIPE.epochs)
    parser.add_argument("--lr", type=positive_float, default=RECIPE.lr)
    parser.add_argument("--batch-size", type=positive_int, default=RECIPE.batch_size)
    parser.add_argument(
        "--train-images", type=positive_int, help="train on the first N images (default all)"
    )
    parser.add_argument(
        "--threads",
        type=positive_int,
        default=1,
        help="torch threads per training (default 1: on a shared machine a second mostly waits)",
    )
    parser.add_argument(
        "--images", type=int_between(1, 10000), default=10000, help="first N test images (all)"
    )
    parser.add_argument(
        "--models",
        type=Path,
        metavar="FOLDER",
        help="keep each trained model here, and reuse the ones already there (resumes a study)",
    )
    parser.add_argument("--out", type=Path, default=Path("docs"), help="folder of the outputs")
    parser.add_argument(
        "--name", default="sc-training", help="file stem: OUT/NAME.csv and OUT/NAME.md"
    )
    add_force_argument(parser)
    add_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run_sc_training)


def run_sc_training(args: argparse.Namespace) -> int:
    from smtjlab.studies import sc_training

    started = time.perf_counter()
    csv_out, md_out = (
        OutputFile(args.out / f"{args.name}.{suffix}", force=args.force, make_folder=True)
        for suffix in ("csv", "md")
    )
    encodings = ENCODINGS if args.encoding == "both" else (args.encoding,)
    configs = [
        {
            "hidden": [args.width] * depth,
            "states": states,
            "encoding": encoding,
            "training": mode,
            "length": args.length,
            "epochs": args.epochs,
            "train_seed": seed,
            "batch_size": args.batch_size,
            "lr": args.lr,
            "train_images": args.train_images,
            "threads": args.threads,
            "images": args.images,
            "stream_seeds": list(range(args.stream_seeds)),
        }
        for encoding in encodings
        for depth in args.depths
        for states in args.states
        for seed in range(args.train_seeds)
        for mode in sc_training.MODES
    ]
    with open_executor(args) as executor:
        results, sources = _train_and_score(configs, args.models, executor)
    summary = sc_training.summarize(results)
    text = _sc_markdown(summary, args, configs[0])
    with csv_out.writing() as csv_temp, md_out.writing() as md_temp:
        csv_temp.write_text(_sc_csv(results, sources))
        md_temp.write_text(text)
    emit(
        {
            "summary": summary,
            "tasks": [
                {"config": result["config"], "source": source, "rows": result["rows"]}
                for result, source in zip(results, sources, strict=True)
            ],
            "recipe": sc_training.recipe(configs[0]),
            "executor": executor.name,
            "seconds": round(time.perf_counter() - started, 1),
            "files": [str(csv_out.path), str(md_out.path)],
        },
        args.json,
        text,
    )
    return 0


def _train_and_score(
    configs: list[dict], models: Path | None, executor
) -> tuple[list[dict], list[str]]:
    """Every config as a sc_training.train_and_score task: the results, in order, and where
    each model came from. Models trained here are kept in `models` (when given)."""
    from smtjlab.studies.sc_training import train_and_score

    if models is not None and models.exists() and not models.is_dir():
        raise StudyError(f"--models {models}: is not a folder")
    jobs, sources = [], []
    for config in configs:
        model, source = _existing_model(config, models)
        sources.append(source)
        files = {} if model is None else {"model": executor.share(model)}
        jobs.append((train_and_score, config, files))
    results = [None] * len(jobs)
    for index, result in progress(executor.run(jobs), "study", total=len(jobs)):
        if isinstance(result, Failed):
            raise StudyError(f"task {_task_name(configs[index])} failed: {result.error}")
        if result["checkpoint"] is not None and models is not None:
            _keep(result["checkpoint"], models / f"{_task_name(configs[index])}.npz")
        results[index] = result
    return results, sources


def _task_name(config: dict) -> str:
    name = shipped_name(len(config["hidden"]), config["states"], config["training"])
    width = config["hidden"][0]
    widened = "" if width == RECIPE.hidden[0] else f"-w{width}"  # the shipped width: no suffix
    return f"{name}-{config['encoding']}{widened}-seed{config['train_seed']}"


def _existing_model(config: dict, folder: Path | None) -> tuple[bytes | None, str]:
    """A model trained by the task's own recipe, and where it came from: the --models folder,
    or, for training seed 0, the shipped checkpoint when the recipe is the shipped one on any
    number of threads (they change only the order of float sums)."""
    from smtjlab.inference.checkpoint import checkpoint_from_bytes, resolve_model
    from smtjlab.studies.sc_training import recipe

    wanted = recipe(config)
    kept = None if folder is None else folder / f"{_task_name(config)}.npz"
    if kept is not None and kept.exists():
        data = kept.read_bytes()
        if _recipe_of(checkpoint_from_bytes(data, kept)) != wanted:
            raise StudyError(
                f"{kept}: a model of another recipe than this study's ({wanted}); "
                "choose another --models folder"
            )
        return data, "models folder"
    if config["train_seed"] == 0:
        name = shipped_name(
            len(config["hidden"]), config["states"], config["training"], config["encoding"]
        )
        data = resolve_model(name).read_bytes()
        if _recipe_of(checkpoint_from_bytes(data, name)) == recipe({**config, "threads": 2}):
            return data, "shipped"
    return None, "trained"


def _recipe_of(checkpoint) -> str:
    return checkpoint.train_command.partition(" -o ")[0]


def _keep(data: bytes, path: Path) -> None:
    output = OutputFile(path, make_folder=True)
    with output.writing() as temp:
        temp.write_bytes(data)


def _sc_csv(results: list[dict], sources: list[str]) -> str:
    buffer = io.StringIO()
    columns = [
        "encoding",
        "hidden",
        "states",
        "training",
        "train_seed",
        "model_source",
        "weights_sha256",
        "deterministic_accuracy",
        "length",
        "images",
        "bits",
        "stream_seed",
        "correct",
        "accuracy",
    ]
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for result, source in zip(results, sources, strict=True):
        config = result["config"]
        for row in result["rows"]:
            writer.writerow(
                {
                    "encoding": config["encoding"],
                    "hidden": "-".join(map(str, config["hidden"])),
                    "states": config["states"],
                    "training": config["training"],
                    "train_seed": config["train_seed"],
                    "model_source": source,
                    "weights_sha256": result["weights_sha256"],
                    "deterministic_accuracy": result["deterministic_accuracy"],
                    "length": config["length"],
                    "images": config["images"],
                    "bits": "ideal",
                    **row,
                }
            )
    return buffer.getvalue()


def _sc_markdown(summary: list[dict], args: argparse.Namespace, example: dict) -> str:
    from smtjlab.studies.sc_training import recipe

    def cell(stat: dict) -> str:
        return f"{stat['mean']:.2f} ± {stat['sd']:.2f}"

    lines = [
        f"Training with SC against without SC at L = {args.length}: MNIST test accuracy (%) on "
        f"{args.images} test images with ideal bits. Each model's accuracy is the mean over "
        f"stream seeds 0–{args.stream_seeds - 1}; the columns give mean ± sd over training "
        f"seeds 0–{args.train_seeds - 1}. Δ is paired by training seed; p is the one-sided "
        'paired t-test of "with SC > without SC".',
        "",
        "| encoding | hidden layers | states | with SC | without SC | Δ (with − without) | "
        "t | p (one-sided) | noise cost to the plain model (L = ∞ − L) |",
        "|" + " --- |" * 9,
    ]
    for row in summary:
        difference = row["difference"]
        lines.append(
            f"| {row['encoding']} | {len(row['hidden'])} ({'-'.join(map(str, row['hidden']))}) "
            f"| {row['states']} | {cell(row['with_sc'])} | {cell(row['without_sc'])} | "
            f"{difference['mean']:+.2f} ± {difference['sd']:.2f} | {difference['t']:.2f} | "
            f"{difference['p']:.3g} | {cell(row['plain_noise_cost'])} |"
        )
    lines += [
        "",
        f"Each model: `{recipe(example)}` with the encoding, depth, states and seed of its row "
        f"(`--sc-length {args.length}` only with SC); training seed 0 reuses the shipped "
        "checkpoint when its recipe is this one on any number of threads (the shipped ones "
        "were trained on 2).",
    ]
    return "\n".join(lines) + "\n"


def _register_widths(studies: argparse._SubParsersAction) -> None:
    from smtjlab.studies.widths import LENGTHS, WIDTHS

    parser = studies.add_parser(
        "widths",
        help="the paper's networks at several hidden widths, nearest to its figures",
        description="Train the paper's networks with SC at several hidden widths, evaluate "
        "each on ideal bits at the paper's lengths, and name the width nearest to each of the "
        "paper's figures (92 %% at 1 hidden layer, over 96 %% at 3, 96.82 %% at 3 and L = 400).",
    )
    parser.add_argument("--widths", type=positive_int, nargs="+", default=list(WIDTHS))
    parser.add_argument("--encoding", choices=ENCODINGS, default="bipolar", help="(bipolar)")
    parser.add_argument("--depths", type=int, nargs="+", choices=(1, 3), default=[1, 3])
    parser.add_argument("--states", type=int, nargs="+", choices=(5, 11), default=[5, 11])
    parser.add_argument("--length", type=positive_int, default=100, help="L of SC training (100)")
    parser.add_argument(
        "--lengths",
        type=positive_int,
        nargs="+",
        default=list(LENGTHS),
        help="evaluation lengths (100 400: the paper's)",
    )
    parser.add_argument("--train-seed", type=nonnegative_int, default=0, help="(0)")
    parser.add_argument(
        "--stream-seeds", type=positive_int, default=3, help="stream seeds 0 .. N-1 per model (3)"
    )
    parser.add_argument("--epochs", type=positive_int, default=RECIPE.epochs)
    parser.add_argument(
        "--train-images", type=positive_int, help="train on the first N images (default all)"
    )
    parser.add_argument(
        "--threads", type=positive_int, default=1, help="torch threads per training (1)"
    )
    parser.add_argument(
        "--images", type=int_between(1, 10000), default=10000, help="first N test images (all)"
    )
    parser.add_argument(
        "--models",
        type=Path,
        metavar="FOLDER",
        help="keep each trained model here, and reuse the ones already there (resumes a study)",
    )
    parser.add_argument("--out", type=Path, default=Path("docs"), help="folder of the outputs")
    parser.add_argument(
        "--name", default="widths", help="OUT/NAME.csv, OUT/NAME.md, OUT/figures/NAME.png"
    )
    add_force_argument(parser)
    add_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run_widths)


def run_widths(args: argparse.Namespace) -> int:
    from smtjlab.studies import widths

    started = time.perf_counter()
    csv_out, md_out, png_out = (
        OutputFile(path, force=args.force, make_folder=True)
        for path in (
            args.out / f"{args.name}.csv",
            args.out / f"{args.name}.md",
            args.out / "figures" / f"{args.name}.png",
        )
    )
    configs = [
        {
            "hidden": [width] * depth,
            "states": states,
            "encoding": args.encoding,
            "training": "sc",
            "length": args.length,
            "lengths": sorted(set(args.lengths)),
            "epochs": args.epochs,
            "train_seed": args.train_seed,
            "batch_size": RECIPE.batch_size,
            "lr": RECIPE.lr,
            "train_images": args.train_images,
            "threads": args.threads,
            "images": args.images,
            "stream_seeds": list(range(args.stream_seeds)),
        }
        for depth in sorted(set(args.depths))
        for states in sorted(set(args.states))
        for width in sorted(set(args.widths))
    ]
    with open_executor(args) as executor:
        results, sources = _train_and_score(configs, args.models, executor)
    rows = widths.summarize(results, sources)
    nearest = widths.nearest_to_paper(rows)
    text = _widths_markdown(rows, nearest, args, configs[0])
    with csv_out.writing() as csv_temp, md_out.writing() as md_temp, png_out.writing() as png:
        csv_temp.write_text(dicts_csv(rows))
        md_temp.write_text(text)
        _widths_plot(rows, args, png)
    emit(
        {
            "rows": rows,
            "nearest": nearest,
            "executor": executor.name,
            "seconds": round(time.perf_counter() - started, 1),
            "files": [str(output.path) for output in (csv_out, md_out, png_out)],
        },
        args.json,
        text,
    )
    return 0


def _widths_markdown(rows: list[dict], nearest: list[dict], args, example: dict) -> str:
    from smtjlab.studies.sc_training import recipe

    lengths = sorted(set(args.lengths))
    lines = [
        f"MNIST test accuracy (%) of {args.encoding} networks trained with SC at L = "
        f"{args.length} (training seed {args.train_seed}), by hidden width, on {args.images} "
        f"test images with ideal bits: mean ± sd over stream seeds 0–{args.stream_seeds - 1}.",
        "",
        "| hidden layers | states | width | "
        + " | ".join(f"L = {length}" for length in lengths)
        + " | L = ∞ |",
        "|" + " --- |" * (4 + len(lengths)),
    ]
    by_model: dict[tuple, list[dict]] = {}
    for row in rows:
        by_model.setdefault((row["hidden_layers"], row["states"], row["width"]), []).append(row)
    for (depth, states, width), mine in by_model.items():
        cells = " | ".join(
            f"{row['accuracy']:.2f} ± {row['accuracy_sd']:.2f}"
            for row in sorted(mine, key=lambda r: r["length"])
        )
        lines.append(f"| {depth} | {states} | {width} | {cells} | {mine[0]['deterministic']:.2f} |")
    lines += [
        "",
        "Nearest to each of the paper's figures (arXiv 2504.06414):",
        "",
        "| cell | paper | nearest setting | its accuracy | difference |",
        "| --- | --- | --- | --- | --- |",
    ]
    for found in nearest:
        lines.append(
            f"| {found['hidden_layers']} hidden layer{'s' if found['hidden_layers'] > 1 else ''}"
            f", L = {found['length']} | {found['paper_label']} | width {found['width']}, "
            f"{found['states']} states | {found['accuracy']:.2f} ± {found['accuracy_sd']:.2f} "
            f"| {found['difference']:+.2f} |"
        )
    lines += [
        "",
        f"Each model: `{recipe(example)}` with the width, depth and states of its row; the "
        "shipped checkpoint is reused where its recipe is this one.",
    ]
    return "\n".join(lines) + "\n"


def _widths_plot(rows: list[dict], args, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from smtjlab.studies.widths import PAPER

    lengths = sorted(set(args.lengths))
    figure, axes = plt.subplots(1, len(lengths), figsize=(5.5 * len(lengths), 4.2), squeeze=False)
    for axis, length in zip(axes[0], lengths, strict=True):
        for depth in sorted({row["hidden_layers"] for row in rows}):
            for states, style in zip(
                sorted({row["states"] for row in rows}), ("o-", "s--"), strict=False
            ):
                mine = sorted(
                    (row["width"], row["accuracy"], row["accuracy_sd"])
                    for row in rows
                    if row["length"] == length
                    and row["hidden_layers"] == depth
                    and row["states"] == states
                )
                if mine:
                    x, y, sd = zip(*mine, strict=True)
                    axis.errorbar(
                        x,
                        y,
                        yerr=sd,
                        fmt=style,
                        capsize=3,
                        label=f"{depth} hidden, {states} states",
                    )
        for (depth, paper_length), paper in PAPER.items():
            if paper_length == length:
                axis.axhline(  # in the legend: a label on the plot would cross the curves
                    paper,
                    color="grey",
                    linestyle=":",
                    linewidth=1.2,
                    label=f"paper, {depth} hidden: {paper:g} %",
                )
        axis.set_xscale("log", base=2)
        widths_seen = sorted({row["width"] for row in rows})
        axis.set_xticks(widths_seen, [str(w) for w in widths_seen])
        axis.minorticks_off()
        axis.set(
            xlabel="hidden width",
            ylabel="MNIST test accuracy (%)",
            title=f"{args.encoding}, trained with SC, L = {length}",
        )
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7, loc="lower right")
    figure.tight_layout()
    figure.savefig(path, dpi=110, format="png")
    plt.close(figure)


NONIDEAL_MODELS = ("mlp1-s5-sc", "mlp3-s5-sc", "mlp1-s5-sc-bipolar", "mlp3-s5-sc-bipolar")
LOSSES = (0.5, 2.0)  # points of accuracy whose thresholds the report names
BIT_SOURCES = {
    "synthetic": ("synthetic",),
    "bench": ("mock bench",),
    "both": ("mock bench", "synthetic"),
}


def _register_nonideal(studies: argparse._SubParsersAction) -> None:
    from smtjlab.studies.nonideal import POOL_BITS

    parser = studies.add_parser(
        "nonideal",
        help="accuracy under correlated bits, level errors, drift and pool reuse",
        description="Accuracy at L of shipped models on bit banks made non-ideal on purpose: "
        "Δt/τc 0.25-4 (lag-1 correlation), level error 0.002-0.05, drift, pool reuse "
        "(smtjlab/studies/nonideal.py), on synthetic banks and on banks the mock bench fills "
        "(drift: synthetic only). Every (model, source, non-ideality, value) is one task; the "
        "mock bench fills each bank once, in this process.",
    )
    parser.add_argument(
        "--model",
        action="append",
        metavar="NAME",
        help="shipped name or .npz; repeat (default: 1 and 3 hidden layers, 5 states, with "
        "SC, in each encoding)",
    )
    parser.add_argument(
        "--source",
        choices=tuple(BIT_SOURCES),
        default="both",
        help="where the non-ideal bits come from: synthetic banks, the mock bench, or both "
        "(default)",
    )
    parser.add_argument(
        "--pool-bits",
        type=int_between(64, 1 << 26),
        default=POOL_BITS,
        help=f"bits per level of every bank but the pool-size sweep's (default {POOL_BITS})",
    )
    parser.add_argument("--length", type=positive_int, default=100, help="L (default 100)")
    parser.add_argument(
        "--images", type=int_between(1, 10000), default=10000, help="first N test images (all)"
    )
    parser.add_argument("--seed", type=nonnegative_int, default=0, help="bank and stream seed")
    parser.add_argument("--out", type=Path, default=Path("docs"), help="folder of the outputs")
    parser.add_argument(
        "--name", default="nonideal", help="OUT/NAME.csv, OUT/NAME.md, OUT/figures/NAME.png"
    )
    add_force_argument(parser)
    add_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run_nonideal)


def run_nonideal(args: argparse.Namespace) -> int:
    from smtjlab.inference.checkpoint import load_checkpoint, resolve_model
    from smtjlab.inference.engine import device_levels
    from smtjlab.studies import nonideal

    started = time.perf_counter()
    csv_out, md_out, png_out = (
        OutputFile(path, force=args.force, make_folder=True)
        for path in (
            args.out / f"{args.name}.csv",
            args.out / f"{args.name}.md",
            args.out / "figures" / f"{args.name}.png",
        )
    )
    names = args.model or list(NONIDEAL_MODELS)
    checkpoints = {name: load_checkpoint(name) for name in names}  # refuse a bad one first
    sources = BIT_SOURCES[args.source]
    settings = [("ideal", "ideal", 0.0)] + [
        (source, kind, value)
        for source in sources
        for kind, values in nonideal.SWEEPS.items()
        if source == "synthetic" or kind in nonideal.BENCH_KINDS
        for value in values
    ]
    with open_executor(args) as executor:
        banks, bench_seconds = _bench_banks(names, checkpoints, settings, args, executor)
        jobs = []
        for name in names:
            model = executor.share(resolve_model(name).read_bytes())
            levels = tuple(device_levels(checkpoints[name]))
            for source, kind, value in settings:
                config = {
                    "model": name,
                    "bits": source,
                    "kind": kind,
                    "value": value,
                    "seed": args.seed,
                    "images": args.images,
                    "length": args.length,
                    "pool_bits": int(value) if kind == "pool_bits" else args.pool_bits,
                }
                files = {"model": model}
                if source == "mock bench":
                    files["bank"] = banks[levels, kind, value]
                jobs.append((nonideal.accuracy_under, config, files))
        rows = [None] * len(jobs)
        for index, result in progress(executor.run(jobs), "study", total=len(jobs)):
            if isinstance(result, Failed):
                raise StudyError(f"task {jobs[index][1]} failed: {result.error}")
            rows[index] = result
    ideal = {row["model"]: row["accuracy"] for row in rows if row["kind"] == "ideal"}
    for row in rows:
        row["encoding"] = checkpoints[row["model"]].encoding.value
        row["loss_points"] = 100 * (ideal[row["model"]] - row["accuracy"])
    thresholds = _thresholds(rows, names, sources)
    seconds = round(time.perf_counter() - started, 1)
    text = _nonideal_markdown(rows, thresholds, names, sources, args, (seconds, bench_seconds))
    with csv_out.writing() as csv_temp, md_out.writing() as md_temp, png_out.writing() as png:
        csv_temp.write_text(dicts_csv(rows))
        md_temp.write_text(text)
        _nonideal_plot(rows, names, sources, args, png)
    emit(
        {
            "rows": rows,
            "thresholds": thresholds,
            "executor": executor.name,
            "bench_seconds": bench_seconds,
            "seconds": seconds,
            "files": [str(output.path) for output in (csv_out, md_out, png_out)],
        },
        args.json,
        text,
    )
    return 0


def _bench_banks(names, checkpoints, settings, args, executor) -> tuple[dict, float]:
    """Every mock-bench bank the tasks read, filled here once per (levels, kind, value) and
    shared with the executor as bytes; and the seconds the filling took."""
    from smtjlab.inference.engine import device_levels
    from smtjlab.studies.nonideal import bench_bank

    started = time.perf_counter()
    wanted = {
        (tuple(device_levels(checkpoints[name])), kind, value)
        for name in names
        for source, kind, value in settings
        if source == "mock bench"
    }
    banks = {}
    for key in progress(sorted(wanted), "mock bench", total=len(wanted)):
        levels, kind, value = key
        try:
            bank = bench_bank(list(levels), kind, value, args.seed, args.pool_bits)
        except SmtjlabError as error:
            raise StudyError(f"the mock bench's bank for {kind} = {value:g}: {error}") from None
        banks[key] = executor.share(bank.to_bytes())
    return banks, round(time.perf_counter() - started, 1)


def _thresholds(rows: list[dict], names: list[str], sources: tuple[str, ...]) -> list[dict]:
    """Per model, source and non-ideality: the value at which it loses each of LOSSES points."""
    from smtjlab.studies.nonideal import SWEEPS, crossing

    found = []
    for name in names:
        for source in sources:
            for kind in SWEEPS:
                mine = [
                    row
                    for row in rows
                    if row["model"] == name and row["bits"] == source and row["kind"] == kind
                ]
                if not mine:
                    continue  # the mock bench has no drift
                values = [row["value"] for row in mine]
                losses = [row["loss_points"] for row in mine]
                found.append(
                    {
                        "model": name,
                        "bits": source,
                        "kind": kind,
                        **{
                            f"loses_{loss:g}": crossing(kind, values, losses, loss)
                            for loss in LOSSES
                        },
                    }
                )
    return found


def _nonideal_markdown(rows, thresholds, names, sources, args, seconds) -> str:
    from smtjlab.studies.nonideal import LABELS, SWEEPS

    by_cell = {(row["model"], row["bits"], row["kind"], row["value"]): row for row in rows}
    lines = [
        f"MNIST test accuracy (%) at L = {args.length} on {args.images} test images, seed "
        f"{args.seed}, on bit banks made non-ideal on purpose, one property at a time, from "
        f"{' and '.join(f'`{source}`' for source in sources)} bits ({args.pool_bits} bits per "
        "level but in the pool-size sweep; smtjlab/studies/nonideal.py). The `ideal` column "
        "has independent bits at the exact levels. Below each table, what the banks measured "
        "(the largest over the models' banks): their pools' mean lag-1 correlation and the "
        "largest |P(1) − target| of a pool.",
    ]
    for kind, values in SWEEPS.items():
        mine = [source for source in sources if (names[0], source, kind, values[0]) in by_cell]
        if not mine:
            continue
        lines += [
            "",
            f"{LABELS[kind]}:",
            "",
            "| model | bits | ideal | " + " | ".join(f"{value:g}" for value in values) + " |",
            "|" + " --- |" * (3 + len(values)),
        ]
        for name in names:
            for source in mine:
                cells = " | ".join(
                    f"{100 * by_cell[name, source, kind, value]['accuracy']:.2f}"
                    for value in values
                )
                ideal = 100 * by_cell[name, "ideal", "ideal", 0.0]["accuracy"]
                lines.append(f"| {name} | {source} | {ideal:.2f} | {cells} |")
        for source in mine:
            for key, label in (
                ("measured_lag1", "lag-1 ρ"),
                ("measured_level_error", "level error"),
            ):
                cells = " | ".join(
                    f"{max(by_cell[name, source, kind, value][key] for name in names):.4f}"
                    for value in values
                )
                lines.append(f"| *bank {label}* | {source} | | {cells} |")
    lines += [
        "",
        "Where each model first loses 0.5 and 2 points against ideal bits as the bits get "
        "worse (interpolated in the logarithm of the value; — where the grid never gets "
        "there; the grid's best value where it is lost already there):",
        "",
        "| model | bits | non-ideality | loses 0.5 points at | loses 2 points at |",
        "| --- | --- | --- | --- | --- |",
    ]
    for found in thresholds:
        cells = " | ".join(
            "—" if found[f"loses_{loss:g}"] is None else f"{found[f'loses_{loss:g}']:.3g}"
            for loss in LOSSES
        )
        lines.append(f"| {found['model']} | {found['bits']} | {found['kind']} | {cells} |")
    total, bench = seconds
    lines += [
        "",
        f"Wall time {total:.0f} s, of which {bench:.0f} s filling the mock bench's banks.",
    ]
    return "\n".join(lines) + "\n"


def _nonideal_plot(rows, names, sources, args, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from smtjlab.studies.nonideal import LABELS, SWEEPS

    styles = {"mock bench": "o-", "synthetic": "s--"}
    figure, axes = plt.subplots(2, 2, figsize=(11, 8))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for axis, kind in zip(axes.ravel(), SWEEPS, strict=True):
        for name, colour in zip(names, colours, strict=False):
            for source in sources:
                mine = sorted(
                    (row["value"], 100 * row["accuracy"])
                    for row in rows
                    if row["model"] == name and row["bits"] == source and row["kind"] == kind
                )
                if mine:
                    axis.plot(
                        *zip(*mine, strict=True),
                        styles[source],
                        color=colour,
                        markersize=4,
                        label=f"{name} ({source})",
                    )
            ideal = next(r for r in rows if r["model"] == name and r["kind"] == "ideal")
            axis.axhline(100 * ideal["accuracy"], color=colour, linestyle=":", linewidth=1)
        axis.set_xscale("log")
        values = SWEEPS[kind]
        axis.set_xticks(
            values,
            [f"2^{int(v).bit_length() - 1}" if kind == "pool_bits" else f"{v:g}" for v in values],
        )
        axis.minorticks_off()
        title = LABELS[kind] + (" (synthetic only)" if kind == "drift" else "")
        axis.set(xlabel=title, ylabel="MNIST test accuracy (%)")
        axis.grid(alpha=0.3)
        if axis.get_legend_handles_labels()[0]:  # a bench-only study has no drift
            axis.legend(
                fontsize=6,
                loc="lower right" if kind in ("correlation", "pool_bits") else "lower left",
            )
    figure.suptitle(
        f"Accuracy at L = {args.length} on non-ideal bits ({args.images} test images; "
        "solid: mock bench, dashed: synthetic, dotted: ideal bits)"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110, format="png")
    plt.close(figure)


def _register_energy(studies: argparse._SubParsersAction) -> None:
    parser = studies.add_parser(
        "energy",
        help="the activation-energy ratio over DAC bits x τc, the paper's 2.6x as a contour",
        description="The analog/quantized activation-energy ratio of docs/energy-model.md "
        "over DAC resolution x τc, one panel per number of states, every other parameter at "
        "its default; the paper's 2.6x is drawn as a contour, the defaults as a point.",
    )
    parser.add_argument("--states", type=positive_int, nargs="+", default=[5, 11])
    parser.add_argument("--length", type=positive_int, default=100, help="L (default 100)")
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path("docs/figures/energy-sensitivity.png"),
        help="the PNG (default docs/figures/energy-sensitivity.png)",
    )
    add_force_argument(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run_energy)


def run_energy(args: argparse.Namespace) -> int:
    from smtjlab.inference.checkpoint import check_storable_states
    from smtjlab.inference.quantize import check_states
    from smtjlab.studies import energy

    for states in args.states:
        check_storable_states(check_states(states), "--states")
    output = OutputFile(args.output, force=args.force, make_folder=True)
    maps = [energy.sensitivity(states, args.length) for states in args.states]
    with output.writing() as temp:
        energy.plot(maps, temp)
    result = {"maps": [energy.summary(one) for one in maps], "file": str(output.path)}
    emit(result, args.json, energy.text(result["maps"], output.path))
    return 0


DEVICE_AWARE_MODELS = ("mlp1-s5-sc-bipolar",)


def _register_device_aware(studies: argparse._SubParsersAction) -> None:
    from smtjlab.studies.device_aware import DEFAULTS, LEVEL_SIGNS

    parser = studies.add_parser(
        "device-aware",
        help="fine-tune against a poor mock device's measured levels and bit correlation",
        description="Device-aware training (smtjlab/studies/device_aware.py): per model and "
        "seed, a deliberately poor mock device (levels calibrated off target by ±δ with a "
        "loose tolerance on few bits, bits every Δt/τc = spacing), its measured profile, and "
        "the shipped model fine-tuned with the device's noise model and, as a control, with "
        "the ideal one; accuracy at L on ideal and poor bits and the share of the non-ideal "
        "loss each fine-tuning wins back.",
    )
    parser.add_argument(
        "--model",
        action="append",
        metavar="NAME",
        help="shipped name or .npz; repeat (default: mlp1-s5-sc-bipolar)",
    )
    parser.add_argument("--seeds", type=positive_int, default=3, help="seeds 0 .. N-1 (3)")
    parser.add_argument("--length", type=positive_int, default=DEFAULTS["length"], help="(100)")
    parser.add_argument(
        "--images", type=int_between(1, 10000), default=10000, help="first N test images (all)"
    )
    parser.add_argument(
        "--train-images", type=positive_int, help="fine-tune on the first N images (default all)"
    )
    parser.add_argument("--epochs", type=positive_int, default=DEFAULTS["epochs"], help="(3)")
    parser.add_argument("--lr", type=positive_float, default=DEFAULTS["lr"], help="(0.003)")
    parser.add_argument("--batch-size", type=positive_int, default=DEFAULTS["batch_size"])
    parser.add_argument(
        "--level-error",
        type=nonnegative_float,
        default=DEFAULTS["level_error"],
        help="δ: each level is calibrated for p ± δ (default 0.01)",
    )
    parser.add_argument(
        "--level-signs",
        choices=LEVEL_SIGNS,
        default=DEFAULTS["level_signs"],
        help="common: every level off by the same ±δ (a moved V50); random: a sign per level",
    )
    parser.add_argument(
        "--spacing",
        type=positive_float,
        default=DEFAULTS["spacing"],
        help="the bits' Δt/τc (default 0.5; the bench's usual is 2)",
    )
    parser.add_argument(
        "--tolerance",
        type=positive_float,
        default=DEFAULTS["tolerance"],
        help="the poor calibration's tolerance (default 0.02)",
    )
    parser.add_argument(
        "--verify-bits",
        type=positive_int,
        default=DEFAULTS["verify_bits"],
        help="bits per try of a level (default 5000)",
    )
    parser.add_argument(
        "--sweep-bits",
        type=positive_int,
        default=DEFAULTS["sweep_bits"],
        help="bits per sweep bias (default 5000)",
    )
    parser.add_argument(
        "--bits-per-level",
        type=int_between(1 << 10, 1 << 26),
        default=DEFAULTS["bits_per_level"],
        help="pool size (default 2^20)",
    )
    parser.add_argument(
        "--threads", type=positive_int, default=2, help="torch threads of the fine-tuning (2)"
    )
    parser.add_argument(
        "--models",
        type=Path,
        metavar="FOLDER",
        help="keep each device-aware model here (NAME-device-aware-seedS.npz)",
    )
    parser.add_argument("--out", type=Path, default=Path("docs"), help="folder of the outputs")
    parser.add_argument(
        "--name", default="device-aware", help="file stem: OUT/NAME.csv and OUT/NAME.md"
    )
    add_force_argument(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run_device_aware)


def run_device_aware(args: argparse.Namespace) -> int:
    from smtjlab.inference.checkpoint import load_checkpoint, resolve_model, save_checkpoint
    from smtjlab.studies import device_aware

    started = time.perf_counter()
    csv_out, md_out = (
        OutputFile(args.out / f"{args.name}.{suffix}", force=args.force, make_folder=True)
        for suffix in ("csv", "md")
    )
    names = args.model or list(DEVICE_AWARE_MODELS)
    for name in names:
        if load_checkpoint(name).train_mode == "gxnor":  # refuse a bad one before any work
            raise StudyError(f"--model {name}: a GXNOR model has no SC noise model to tune")
    kept = (
        {
            (name, seed): OutputFile(
                args.models / f"{Path(name).stem}-device-aware-seed{seed}.npz",
                force=args.force,
                make_folder=True,
            )
            for name in names
            for seed in range(args.seeds)
        }
        if args.models is not None
        else {}
    )
    configs = [
        {
            "model": name,
            "seed": seed,
            "images": args.images,
            "train_images": args.train_images,
            "threads": args.threads,
            **{key: getattr(args, key) for key in device_aware.DEFAULTS},
        }
        for name in names
        for seed in range(args.seeds)
    ]
    results = []
    for config in progress(configs, "study", total=len(configs)):
        result = device_aware.run_seed(config, resolve_model(config["model"]).read_bytes())
        output = kept.get((config["model"], config["seed"]))
        if output is not None:
            with output.writing() as temp:
                save_checkpoint(result["checkpoint"], temp)
        results.append(result)
    rows = [result["row"] for result in results]
    summary = device_aware.summarize(rows)
    seconds = round(time.perf_counter() - started, 1)
    text = _device_aware_markdown(rows, summary, args, seconds)
    with csv_out.writing() as csv_temp, md_out.writing() as md_temp:
        csv_temp.write_text(dicts_csv(rows))
        md_temp.write_text(text)
    emit(
        {
            "summary": summary,
            "rows": rows,
            "profiles": [
                {"model": r["row"]["model"], "seed": r["row"]["seed"], **r["profile"]}
                for r in results
            ],
            "seconds": seconds,
            "files": [str(csv_out.path), str(md_out.path)]
            + [str(output.path) for output in kept.values()],
        },
        args.json,
        text,
    )
    return 0


def _device_aware_markdown(rows: list[dict], summary: list[dict], args, seconds: float) -> str:
    def pct(stat: dict) -> str:
        return f"{100 * stat['mean']:.2f} ± {100 * stat['sd']:.2f}"

    lines = [
        f"Device-aware training on a deliberately poor mock device (synthetic bits): MNIST "
        f"test accuracy (%) at L = {args.length} on {args.images} test images, mean ± sd over "
        f"seeds 0–{args.seeds - 1} (each seed its own mock device, fine-tuning and streams); "
        f"the run took {seconds:g} s. The poor device: each level calibrated for "
        f"p ± {args.level_error:g} ("
        + (
            "the same sign for every level, random per seed"
            if args.level_signs == "common"
            else "a random sign per level and seed"
        )
        + f") with tolerance "
        f"{args.tolerance:g} on {args.verify_bits} bits per try, its bits taken every "
        f"{args.spacing:g} τc. Fine-tuning: {args.epochs} epoch(s) from the shipped model at "
        f"lr {args.lr:g} on "
        + (f"the first {args.train_images}" if args.train_images else "all 60000")
        + " training images, with the poor device's measured noise model (device-aware) "
        "or the ideal one (ideal-aware, the control). Win-back = (tuned − poor)/(ideal − poor).",
        "",
        "| model | ideal bits | poor bits | device-aware on poor | ideal-aware on poor | "
        "device-aware on ideal | win-back device-aware | win-back ideal-aware |",
        "|" + " --- |" * 8,
    ]
    for row in summary:
        lines.append(
            f"| {row['model']} | {pct(row['ideal'])} | {pct(row['poor'])} | "
            f"{pct(row['device-aware_poor'])} | {pct(row['ideal-aware_poor'])} | "
            f"{pct(row['device-aware_ideal'])} | {pct(row['device-aware_winback'])} % | "
            f"{pct(row['ideal-aware_winback'])} % |"
        )
    lines += [
        "",
        "Per seed (the device's measured levels p and lag-1 correlations ρ):",
        "",
        "| model | seed | ideal | poor | device-aware | ideal-aware | win-back | measured levels |",
        "|" + " --- |" * 8,
    ]
    for row in rows:
        levels = ", ".join(
            f"{key[1:-9]}→{row[key]:.4f} (ρ {row[key[:-9] + '_lag1']:.2f})"
            for key in row
            if key.endswith("_measured")
        )
        lines.append(
            f"| {row['model']} | {row['seed']} | {100 * row['ideal']:.2f} | "
            f"{100 * row['poor']:.2f} | {100 * row['device-aware_poor']:.2f} | "
            f"{100 * row['ideal-aware_poor']:.2f} | {100 * row['device-aware_winback']:.1f} % | "
            f"{levels} |"
        )
    return "\n".join(lines) + "\n"
