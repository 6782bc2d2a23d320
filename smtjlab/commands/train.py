"""`smtjlab train`: train a quantized SC-MLP on MNIST and save its checkpoint."""

from __future__ import annotations

import argparse
import logging
import time

from smtjlab.arguments import nonnegative_int, positive_float, positive_int
from smtjlab.console import emit, progress
from smtjlab.errors import SmtjlabError
from smtjlab.inference.encoding import Encoding
from smtjlab.inference.gxnor_config import ARCHITECTURES, DEBIAS, SWITCHING_LAWS, GxnorConfig
from smtjlab.inference.train_config import TrainConfig
from smtjlab.outputs import OutputFile, add_force_argument

log = logging.getLogger(__name__)
DEFAULTS = TrainConfig(hidden=(), states=5)
GXNOR = GxnorConfig()


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train", help="train a quantized SC-MLP on MNIST", description=__doc__
    )
    parser.add_argument(
        "--hidden",
        type=positive_int,
        action="append",
        metavar="WIDTH",
        help="width of a hidden layer; repeat for more layers (required for --method sc)",
    )
    parser.add_argument(
        "--states",
        type=int,
        help="odd number of states N >= 3 (required for --method sc; gxnor: 3)",
    )
    parser.add_argument(
        "--encoding", choices=[name.value for name in Encoding], default=DEFAULTS.encoding.value
    )
    parser.add_argument(
        "--sc-length",
        type=positive_int,
        metavar="L",
        help="train with the SC sampling noise of streams of length L (default: plain QAT)",
    )
    parser.add_argument("--epochs", type=positive_int, default=DEFAULTS.epochs)
    parser.add_argument("--seed", type=nonnegative_int, default=DEFAULTS.seed)
    parser.add_argument(
        "--lr", type=positive_float, help="peak Adam learning rate (gxnor: first step)"
    )
    parser.add_argument("--batch-size", type=positive_int)
    parser.add_argument(
        "--input-8bit", action="store_true", help="keep pixels at 8 bits (default: N states)"
    )
    parser.add_argument("-o", "--output", required=True, metavar="MODEL", help="checkpoint .npz")
    add_force_argument(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    gxnor = parser.add_argument_group("--method gxnor (docs/gxnor.md)")
    gxnor.add_argument(
        "--method",
        choices=("sc", "gxnor"),
        default="sc",
        help="sc: SC-aware QAT (default); gxnor: discrete state transitions on device bits",
    )
    gxnor.add_argument("--arch", choices=ARCHITECTURES, default="mlp")
    gxnor.add_argument(
        "--bits", default="ideal", help="ideal, mock, mtj-model or a bit-pool file (p = 1/2 pool)"
    )
    gxnor.add_argument(
        "--switching", choices=SWITCHING_LAWS, help="f(x) of the DST update (default tanh)"
    )
    gxnor.add_argument(
        "--lr-final", type=float, default=GXNOR.lr_final, help="gxnor: last step's lr"
    )
    gxnor.add_argument(
        "--float-lr-scale",
        type=float,
        default=GXNOR.float_lr_scale,
        help="batch norm's lr as a fraction of the discrete weights' (default 1)",
    )
    gxnor.add_argument(
        "--threads",
        type=positive_int,
        default=2,
        help="torch threads, both methods (default 2; on a loaded machine 1 is faster)",
    )
    gxnor.add_argument(
        "--debias",
        choices=DEBIAS,
        default="none",
        help="device bits: none, XOR of pairs or von Neumann before the decisions",
    )
    gxnor.add_argument(
        "--train-images", type=positive_int, help="train on the first N images (default all)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.method == "gxnor":
        return run_gxnor_command(args)
    if not args.hidden or args.states is None:
        raise SmtjlabError("--method sc needs --hidden WIDTH and --states N")
    args.lr = DEFAULTS.lr if args.lr is None else args.lr
    args.batch_size = args.batch_size or DEFAULTS.batch_size
    # torch (and numba) load only when training runs, not to build the parser
    from smtjlab.inference.checkpoint import (
        check_storable_states,
        checkpoint_path,
        save_checkpoint,
    )
    from smtjlab.inference.engine import deterministic_scores
    from smtjlab.inference.mnist import load_mnist
    from smtjlab.inference.quantize import check_states
    from smtjlab.inference.train import to_checkpoint, train_model

    output = OutputFile(checkpoint_path(args.output), force=args.force)
    check_storable_states(check_states(args.states), "--states")
    config = TrainConfig(
        hidden=tuple(args.hidden),
        states=args.states,
        encoding=Encoding(args.encoding),
        sc_length=args.sc_length,
        epochs=args.epochs,
        seed=args.seed,
        batch_size=args.batch_size,
        lr=args.lr,
        input_8bit=args.input_8bit,
    )
    train_images, train_labels = load_mnist("train")
    test_images, test_labels = load_mnist("test")
    started = time.perf_counter()
    model = train_model(config, train_images, train_labels, progress, threads=args.threads)
    seconds = time.perf_counter() - started
    command = command_line(config, args.output, args.threads)
    checkpoint = to_checkpoint(model, config, float("nan"), command)
    accuracy = float(
        (deterministic_scores(checkpoint, test_images).argmax(1) == test_labels).mean()
    )
    with output.writing() as temp:
        save_checkpoint(to_checkpoint(model, config, accuracy, checkpoint.train_command), temp)
    path = output.path
    result = {
        "model": str(path),
        "test_accuracy": accuracy,
        "train_seconds": round(seconds, 1),
        "hidden": list(config.hidden),
        "states": config.states,
        "encoding": config.encoding,
        "sc_length": config.sc_length,
        "epochs": config.epochs,
        "seed": config.seed,
        "size_bytes": path.stat().st_size,
    }
    emit(
        result,
        args.json,
        f"{path}: deterministic test accuracy {100 * accuracy:.2f} % "
        f"after {seconds:.0f} s ({path.stat().st_size / 1024:.0f} KiB)",
    )
    return 0


def run_gxnor_command(args: argparse.Namespace) -> int:
    from smtjlab.inference.checkpoint import checkpoint_path
    from smtjlab.inference.quantize import check_states
    from smtjlab.train_gxnor import run_gxnor  # lazy: torch and the mock bench

    output = OutputFile(checkpoint_path(args.output), force=args.force)  # before any work
    args.states = 3 if args.states is None else check_states(args.states)
    args.lr = GXNOR.lr if args.lr is None else args.lr
    args.batch_size = args.batch_size or GXNOR.batch_size
    result = run_gxnor(args, output)
    emit(
        result,
        args.json,
        f"{result['model']}: deterministic test accuracy {100 * result['test_accuracy']:.2f} % "
        f"(best {100 * result['best_accuracy']:.2f} % at epoch {result['best_epoch']}), "
        f"{result['decisions']} decisions from {result['fair_bits']} {result['source']} bits, "
        f"{result['train_seconds']:.0f} s",
    )
    return 0


def command_line(config: TrainConfig, output: str, threads: int = 2) -> str:
    """The canonical command that reproduces `config` on `threads` torch threads (stored in
    the checkpoint; --threads only when not the default 2, as the shipped models name none)."""
    words = ["smtjlab", "train"]
    words += [f"--hidden {width}" for width in config.hidden]
    words += [f"--states {config.states}", f"--encoding {config.encoding}"]
    if config.sc_length:
        words.append(f"--sc-length {config.sc_length}")
    words += [
        f"--epochs {config.epochs}",
        f"--seed {config.seed}",
        f"--lr {config.lr:g}",
        f"--batch-size {config.batch_size}",
    ]
    if config.input_8bit:
        words.append("--input-8bit")
    if threads != 2:
        words.append(f"--threads {threads}")
    words.append(f"-o {output}")
    return " ".join(words)
