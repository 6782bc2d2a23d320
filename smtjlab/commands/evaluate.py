"""`smtjlab evaluate`: classify MNIST test images with a checkpoint on the packed-bit SC engine."""

from __future__ import annotations

import argparse
import time

import numpy as np

from smtjlab.arguments import int_between, nonnegative_int, positive_int
from smtjlab.console import emit, progress
from smtjlab.errors import SmtjlabError

BATCH = 500


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate", help="MNIST accuracy of a model on the SC engine", description=__doc__
    )
    parser.add_argument(
        "--model", required=True, help="checkpoint .npz, or a shipped name such as mlp1-s5-sc"
    )
    parser.add_argument(
        "--length", type=positive_int, help="stream length L (SC models; not for a CNN)"
    )
    parser.add_argument(
        "--images",
        type=int_between(1, 10000),
        default=10000,
        help="first N test images (default all)",
    )
    parser.add_argument(
        "--bits", default="ideal", help="ideal (PRNG), mock (mock bench pools) or a bit-pool file"
    )
    parser.add_argument(
        "--seed", type=nonnegative_int, default=0, help="seed of the stream placement"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # heavy imports (numba, h5py, instruments) load when the command runs, not to build the parser
    from smtjlab.bench import open_bit_source
    from smtjlab.inference.checkpoint import load_checkpoint, resolve_model
    from smtjlab.inference.cnn_checkpoint import is_cnn_checkpoint
    from smtjlab.inference.engine import ScEngine, check_memory, device_levels
    from smtjlab.inference.mnist import load_mnist

    path = resolve_model(args.model)
    if is_cnn_checkpoint(path):
        images, labels = load_mnist("test")
        return run_cnn(args, path, images[: args.images], labels[: args.images])
    if args.length is None:
        raise SmtjlabError(f"{path.name} is an SC model: give --length L")
    checkpoint = load_checkpoint(path)
    check_memory(checkpoint, args.length, min(BATCH, args.images))  # before any work
    images, labels = load_mnist("test")
    images, labels = images[: args.images], labels[: args.images]
    bits = open_bit_source(args.bits, device_levels(checkpoint))
    engine = ScEngine(checkpoint, args.length, bits=bits, seed=args.seed)
    started = time.perf_counter()
    batches = range(0, len(images), BATCH)
    predictions = [
        engine.forward(images[start : start + BATCH]).predictions
        for start in progress(batches, "evaluate", total=len(batches))
    ]
    seconds = time.perf_counter() - started
    accuracy = float((np.concatenate(predictions) == labels).mean())
    result = {
        "accuracy": accuracy,
        "images": len(images),
        "length": args.length,
        "states": checkpoint.states,
        "encoding": checkpoint.encoding,
        "images_per_s": len(images) / seconds,
        "model": str(path),
        "hidden": list(checkpoint.hidden),
        "train_mode": checkpoint.train_mode,
        "bits": args.bits,
        "seed": args.seed,
    }
    emit(
        result,
        args.json,
        f"{path.name}: {100 * accuracy:.2f} % on {len(images)} test images at L = {args.length} "
        f"({checkpoint.encoding}, {checkpoint.states} states, {args.bits} bits, "
        f"{result['images_per_s']:.0f} images/s)",
    )
    return 0


def run_cnn(args: argparse.Namespace, path, images: np.ndarray, labels: np.ndarray) -> int:
    """The ternary CNN, deterministic (no bit source: it is not an SC model)."""
    from smtjlab.inference.cnn_checkpoint import load_cnn_checkpoint
    from smtjlab.inference.gxnor import cnn_from_checkpoint, cnn_inputs, predict  # torch

    checkpoint = load_cnn_checkpoint(path)
    started = time.perf_counter()
    predictions = predict(cnn_from_checkpoint(checkpoint), cnn_inputs(images))
    seconds = time.perf_counter() - started
    accuracy = float((predictions == labels).mean())
    result = {
        "accuracy": accuracy,
        "images": len(images),
        "length": None,
        "states": checkpoint.states,
        "encoding": None,
        "images_per_s": len(images) / seconds,
        "model": str(path),
        "architecture": "cnn",
        "train_bits": checkpoint.train_bits,
        "train_switching": checkpoint.train_switching,
    }
    emit(
        result,
        args.json,
        f"{path.name}: {100 * accuracy:.2f} % on {len(images)} test images (ternary CNN, "
        f"deterministic, {result['images_per_s']:.0f} images/s)",
    )
    return 0
