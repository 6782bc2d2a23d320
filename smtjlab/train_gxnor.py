"""`smtjlab train --method gxnor`: GXNOR training with its decisions drawn from a bit source.

Glue: it opens the bit source (the mock bench lives here, not in smtjlab.inference), refuses a
run the source cannot cover, trains (smtjlab.inference.gxnor) and writes the checkpoint:
a ternary MLP as a standard SC checkpoint, the CNN as a `smtjlab.tnn-cnn` checkpoint.
"""

from __future__ import annotations

import argparse
import logging
import time
from contextlib import ExitStack

import torch

from smtjlab.console import progress
from smtjlab.errors import SmtjlabError
from smtjlab.inference.checkpoint import save_checkpoint
from smtjlab.inference.cnn_checkpoint import save_cnn_checkpoint
from smtjlab.inference.decisions import (
    FAIR_LEVEL,
    Debias,
    DecisionCounter,
    FairBits,
    PoolFairBits,
    PrngFairBits,
    check_budget,
)
from smtjlab.inference.engine import deterministic_scores
from smtjlab.inference.gxnor import (
    GxnorConfig,
    build_model,
    decision_bound,
    steps_per_run,
    to_cnn_checkpoint,
    to_sc_checkpoint,
    train_gxnor,
)
from smtjlab.inference.mnist import load_mnist
from smtjlab.inference.switching import switching_law
from smtjlab.outputs import OutputFile

log = logging.getLogger(__name__)
MNIST_TRAIN_IMAGES = 60_000
MODEL_SOURCE = "mtj-model"  # decisions are MTJ switching events (thermal law by default)
MOCK_SEED = 0  # the simulated device's seed: --bits mock is the same bits for every run


def open_fair_bits(spec: str, seed: int, stack: ExitStack, debias: Debias = "none") -> FairBits:
    """The fair bits behind `--bits`: a PRNG, the mock bench live (closed by `stack`), or the
    p = ½ pool of a bit-pool file. Device bits are read once, in order, never reused."""
    if spec in ("ideal", MODEL_SOURCE):
        return PrngFairBits(seed)
    if spec == "mock":
        from smtjlab.bench import Bench  # lazy: it loads the whole mock bench
        from smtjlab.live_bits import LiveBenchBits
        from smtjlab.station import Station

        return LiveBenchBits(stack.enter_context(Bench.open(Station.mock(seed=MOCK_SEED))), debias)
    from smtjlab.bench import open_bit_source

    return PoolFairBits.from_bank(open_bit_source(spec, [FAIR_LEVEL]), debias)


def default_switching(bits: str) -> str:
    return "thermal" if bits == MODEL_SOURCE else "tanh"


def run_gxnor(args: argparse.Namespace, output: OutputFile) -> dict:
    """Train as `args` say and write the checkpoint; the result for `emit`."""
    switching = args.switching or default_switching(args.bits)
    if args.bits == MODEL_SOURCE and switching == "tanh":
        raise SmtjlabError(
            "--bits mtj-model draws MTJ switching events: use a thermal or "
            "precessional --switching law"
        )
    if args.arch == "cnn" and args.sc_length:
        raise SmtjlabError("--sc-length is for MLPs: the CNN does not run on the SC engine")
    if args.arch == "mlp" and args.states != 3:
        raise SmtjlabError("a GXNOR MLP exports to the SC engine with N = 3: use --states 3")
    config = GxnorConfig(
        architecture=args.arch,
        hidden=tuple(args.hidden or (1024,)),
        states=args.states,
        switching=switching,
        bits=args.bits,
        epochs=args.epochs,
        seed=args.seed,
        batch_size=args.batch_size,
        lr=args.lr,
        lr_final=args.lr_final,
        sc_length=args.sc_length,
        float_lr_scale=args.float_lr_scale,
    )
    n_train = args.train_images or MNIST_TRAIN_IMAGES
    decisions = decision_bound(build_model(config)) * steps_per_run(config, n_train)
    with ExitStack() as stack:  # the mock bench, if any, ends at 0 V, output off
        bits = open_fair_bits(args.bits, args.seed, stack, args.debias)
        check_budget(bits, decisions, f"{config.epochs} epochs of {n_train} images")
        return _train_and_save(args, config, bits, decisions, output, n_train)


def _train_and_save(
    args: argparse.Namespace,
    config: GxnorConfig,
    bits: FairBits,
    decisions: int,
    output: OutputFile,
    n_train: int,
) -> dict:
    images, labels = load_mnist("train")
    train = images[:n_train], labels[:n_train]
    test = load_mnist("test")
    law = switching_law(config.switching)
    counter = DecisionCounter(bits)
    log.info(
        "gxnor: %s bits, %s law (%s), up to %d decisions",
        bits.name,
        law.name,
        law.describe(),
        decisions,
    )
    torch.set_num_threads(args.threads)
    started = time.perf_counter()

    def epochs(items):
        return progress(items, "train", total=config.epochs)

    def report(row):
        log.info(
            "epoch %(epoch)d: lr %(lr).3g, test accuracy %(test_accuracy).4f, "
            "%(decisions)d decisions, %(fair_bits)d fair bits",
            row,
        )

    result = train_gxnor(config, law, counter, train, test, epochs, report)
    seconds = time.perf_counter() - started
    history = result.history
    best = max(history, key=lambda row: row["test_accuracy"])
    command = command_line(config, args.output, args.train_images, args.debias, args.threads)
    if args.arch == "mlp":
        checkpoint = to_sc_checkpoint(result.model, config, float("nan"), command)
        accuracy = float((deterministic_scores(checkpoint, test[0]).argmax(1) == test[1]).mean())
        with output.writing() as temp:
            save_checkpoint(to_sc_checkpoint(result.model, config, accuracy, command), temp)
    else:
        accuracy = history[-1]["test_accuracy"]
        with output.writing() as temp:
            save_cnn_checkpoint(
                to_cnn_checkpoint(
                    result.model,
                    train_command=command,
                    train_epochs=config.epochs,
                    train_seed=config.seed,
                    train_bits=config.bits,
                    train_switching=config.switching,
                    decisions=counter.decisions,
                    fair_bits=bits.consumed,
                    test_accuracy=accuracy,
                ),
                temp,
            )
    dst = result.dst
    return {
        "model": str(output.path),
        "architecture": config.architecture,
        "test_accuracy": accuracy,
        "best_epoch": best["epoch"],
        "best_accuracy": best["test_accuracy"],
        "history": history,
        "train_seconds": round(seconds, 1),
        "bits": config.bits,
        "switching": config.switching,
        "debias": args.debias,
        "threads": args.threads,
        "law": law.describe(),
        **counter.stats(),
        "decision_bound": decisions,
        "skipped_decisions": dst.skipped,
        "extra_jumps": dst.extra_jumps,
        "whole_jumps": dst.jumps,
        "pulse_energy_j": dst.pulse_energy_j,
        "pulses": dst.pulses,
        "size_bytes": output.path.stat().st_size,
        **({"bench": bits.stats()} if hasattr(bits, "stats") else {}),
    }


def command_line(
    config: GxnorConfig,
    output: str,
    n_train: int | None = None,
    debias: str = "none",
    threads: int = 2,
) -> str:
    """The canonical command that reproduces `config` (stored in the checkpoint); it names the
    threads too, since float sums in another order can tip a decision."""
    words = ["smtjlab", "train", "--method gxnor", f"--arch {config.architecture}"]
    if config.architecture == "mlp":
        words += [f"--hidden {width}" for width in config.hidden]
    words += [
        f"--states {config.states}",
        f"--bits {config.bits}",
        f"--switching {config.switching}",
        *([f"--debias {debias}"] if debias != "none" else []),
        f"--epochs {config.epochs}",
        f"--seed {config.seed}",
        f"--lr {config.lr:g}",
        f"--lr-final {config.lr_final:g}",
        f"--float-lr-scale {config.float_lr_scale:g}",
        f"--batch-size {config.batch_size}",
    ]
    if config.sc_length:
        words.append(f"--sc-length {config.sc_length}")
    words.append(f"--threads {threads}")
    if n_train:
        words.append(f"--train-images {n_train}")
    words.append(f"-o {output}")
    return " ".join(words)
