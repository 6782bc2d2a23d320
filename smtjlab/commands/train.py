"""`smtjlab train`: train a quantized SC-MLP on MNIST and save its checkpoint."""

from __future__ import annotations

import argparse
import logging
import time

from smtjlab.arguments import nonnegative_int, positive_float, positive_int
from smtjlab.console import emit
from smtjlab.inference.checkpoint import check_storable_states, checkpoint_path, save_checkpoint
from smtjlab.inference.engine import deterministic_scores
from smtjlab.inference.mnist import load_mnist
from smtjlab.inference.quantize import DEFAULT_ENCODING, ENCODINGS, check_states
from smtjlab.inference.train import TrainConfig, to_checkpoint, train_model
from smtjlab.outputs import OutputFile, add_force_argument

log = logging.getLogger(__name__)
DEFAULTS = TrainConfig(hidden=(), states=5)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train", help="train a quantized SC-MLP on MNIST", description=__doc__
    )
    parser.add_argument(
        "--hidden",
        type=positive_int,
        action="append",
        required=True,
        metavar="WIDTH",
        help="width of a hidden layer; repeat for more layers",
    )
    parser.add_argument(
        "--states", type=positive_int, required=True, help="odd number of states N >= 3"
    )
    parser.add_argument("--encoding", choices=ENCODINGS, default=DEFAULT_ENCODING)
    parser.add_argument(
        "--sc-length",
        type=positive_int,
        metavar="L",
        help="train with the SC sampling noise of streams of length L (default: plain QAT)",
    )
    parser.add_argument("--epochs", type=positive_int, default=DEFAULTS.epochs)
    parser.add_argument("--seed", type=nonnegative_int, default=DEFAULTS.seed)
    parser.add_argument(
        "--lr", type=positive_float, default=DEFAULTS.lr, help="peak Adam learning rate"
    )
    parser.add_argument("--batch-size", type=positive_int, default=DEFAULTS.batch_size)
    parser.add_argument(
        "--input-8bit", action="store_true", help="keep pixels at 8 bits (default: N states)"
    )
    parser.add_argument("-o", "--output", required=True, metavar="MODEL", help="checkpoint .npz")
    add_force_argument(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    output = OutputFile(checkpoint_path(args.output), force=args.force)
    check_storable_states(check_states(args.states), "--states")
    config = TrainConfig(
        hidden=tuple(args.hidden),
        states=args.states,
        encoding=args.encoding,
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
    model = train_model(config, train_images, train_labels)
    seconds = time.perf_counter() - started
    checkpoint = to_checkpoint(model, config, float("nan"), command_line(config, args.output))
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


def command_line(config: TrainConfig, output: str) -> str:
    """The canonical command that reproduces `config` (stored in the checkpoint)."""
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
    words.append(f"-o {output}")
    return " ".join(words)
