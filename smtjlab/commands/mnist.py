"""`smtjlab mnist`: check the MNIST files the project will use, or download them."""

from __future__ import annotations

import argparse

from smtjlab.console import emit
from smtjlab.inference import mnist


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "mnist", help="verify (or download) the MNIST IDX files", description=__doc__
    )
    parser.add_argument("--folder", help=f"folder of IDX files (default: ${mnist.ENV_FOLDER})")
    parser.add_argument(
        "--download",
        action="store_true",
        help="fetch missing files from the mirrors into --folder or the user cache",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    folder = mnist.download(args.folder) if args.download else args.folder
    result = {}
    for split in ("train", "test"):
        images, labels = mnist.load_mnist(split, folder)
        result[split] = {"images": list(images.shape), "labels": len(labels)}
    text = "\n".join(
        f"{split}: {info['labels']} images of {info['images'][1]}x{info['images'][2]}, "
        "checksums verified"
        for split, info in result.items()
    )
    emit(result, args.json, text)
    return 0
