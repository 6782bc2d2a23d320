"""`smtjlab demo`: calibrate the mock bench, fill bit pools, classify MNIST live (the main job)."""

from __future__ import annotations

import argparse
import sys

from smtjlab.arguments import int_between, positive_int
from smtjlab.commands.where import add_bench_options, station_from
from smtjlab.console import emit
from smtjlab.outputs import OutputFile, add_force_argument


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo", help="the main job, offline on the mock bench", description=__doc__
    )
    parser.add_argument(
        "--images", type=int_between(1, 10000), default=1000, help="MNIST test images (1000)"
    )
    parser.add_argument(
        "--length",
        type=positive_int,
        help="bitstream length L (default 100)",
    )
    parser.add_argument("--model", help="shipped name or .npz path (default mlp3-s11-sc)")
    add_bench_options(parser, default="replay")
    parser.add_argument(
        "--report", default="smtjlab-demo.png", help="report figure path (smtjlab-demo.png)"
    )
    add_force_argument(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # heavy imports (numba, h5py, instruments) load when the command runs, not to build the parser
    from smtjlab import demo

    output = OutputFile(args.report, force=args.force, inputs=[args.recording, args.model])
    steps = iter(range(1, 10))

    def step(message: str) -> None:
        print(f"[{next(steps)}/5] {message}", file=sys.stderr, flush=True)

    result = demo.run_demo(
        images=args.images,
        length=args.length or demo.DEFAULT_LENGTH,
        model=args.model or demo.DEFAULT_MODEL,
        station=station_from(args),
        seed=args.seed,
        step=step,
    )
    with output.writing() as temp:
        demo.write_report(result, temp)
    summary = {**result.summary(), "report": str(output.path)}
    emit(summary, args.json, _text(summary))
    return 0


def _text(summary: dict) -> str:
    cal = summary["calibration"]
    levels = ", ".join(
        f"{lv['p_target']:.2f}→{lv['p_measured']:.3f}@{lv['bias_v']:.4f}V"
        + (f" ({lv['device']})" if "device" in lv else "")
        for lv in cal["levels"]
    )
    sem = summary["accuracy_by_length_sem"]
    sweep = ", ".join(
        f"L={k}: {100 * v:.2f} ± {100 * sem[k]:.2f} %"
        for k, v in summary["accuracy_by_length"].items()
    )
    ratios, paper = summary["energy"]["ratios"], summary["energy"]["paper"]
    return "\n".join(
        [
            f"calibration: V50 = {cal['fit']['v50']:.4f} V, width = {cal['fit']['width']:.4f} V",
            f"device levels (target→measured@bias): {levels}",
            f"model {summary['model']}, L = {summary['length']}: accuracy "
            f"{100 * summary['accuracy']:.2f} % on {summary['images']} test images, "
            f"{summary['images_per_s']:.0f} images/s",
            f"accuracy against L (mean ± standard error of {summary['sweep_seeds']} stream "
            f"seeds): {sweep}; deterministic network "
            f"{100 * summary['deterministic_accuracy']:.2f} %",
            "energy model, analog / quantized s-MTJ SC-ANN (docs/energy-model.md): activation "
            f"latency {ratios['activation_latency']:.1f}x "
            f"(paper {paper['activation_latency']:g}x), "
            f"activation energy {ratios['activation_energy']:.2f}x (paper {paper['energy']:g}x), "
            f"whole inference {ratios['inference_energy']:.2f}x energy",
            *(f"after the run, {line}" for line in summary["smu_final"]),
            f"report figure: {summary['report']}",
        ]
    )
