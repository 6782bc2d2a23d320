"""`smtjlab energy`: activation and inference energy/latency, analog vs quantized s-MTJ SC-ANN.

Every assumption is printed with its source; docs/energy-model.md derives each ratio.
"""

from __future__ import annotations

import argparse

from smtjlab.arguments import positive_float, positive_int
from smtjlab.console import emit
from smtjlab.inference.checkpoint import check_storable_states
from smtjlab.inference.energy import EnergyParameters, compare, parameter_table
from smtjlab.inference.quantize import check_states


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "energy", help="energy/latency model: analog vs quantized SC-ANN", description=__doc__
    )
    parser.add_argument("--states", type=positive_int, default=5, help="N (default 5)")
    parser.add_argument("--length", type=positive_int, default=100, help="L (default 100)")
    parser.add_argument(
        "--hidden",
        type=positive_int,
        action="append",
        metavar="WIDTH",
        help="hidden widths of the network (default: 256)",
    )
    parser.add_argument(
        "--tau-c", type=positive_float, help="device correlation time in s (default 1e-9)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    check_storable_states(check_states(args.states), "--states")
    params = EnergyParameters() if args.tau_c is None else EnergyParameters(tau_c=args.tau_c)
    widths = [784, *(args.hidden or [256]), 10]
    result = compare(params, widths, args.states, args.length)
    result["assumptions"] = parameter_table(params)
    emit(result, args.json, _text(result))
    return 0


def _text(result: dict) -> str:
    ratios, paper = result["ratios"], result["paper"]
    lines = [
        f"Network {'-'.join(map(str, result['widths']))}, N = {result['states']} states, "
        f"L = {result['length']}; analog = per-neuron DAC-biased s-MTJ, quantized = comparators"
        " + level multiplexer (docs/energy-model.md).",
        "",
        "Neuron activation (finished count -> first output bit):",
    ]
    for design in ("analog", "quantized"):
        act = result["activation"][design]
        lines.append(
            f"  {design:9s} {act['energy'] * 1e12:7.3f} pJ  {act['latency'] * 1e9:7.2f} ns"
            f"   (+ L-bit stream {act['stream_energy'] * 1e12:.2f} pJ, "
            f"{act['stream_latency'] * 1e9:.0f} ns)"
        )
        for name, item in act["items"].items():
            lines.append(
                f"      {name:32s} {item['energy'] * 1e12:7.3f} pJ  {item['latency'] * 1e9:7.2f} ns"
            )
        if act["mux_energy_per_bit"]:
            lines.append(
                f"      {'mux, per passing bit x L':32s} "
                f"{act['mux_energy_per_bit'] * result['length'] * 1e12:7.3f} pJ"
            )
    lines += [
        "",
        "Ratios, analog / quantized (paper: latency 9x, energy 2.6x):",
        f"  activation latency        {ratios['activation_latency']:6.2f}x   "
        f"(paper {paper['activation_latency']:g}x)",
        f"  activation energy         {ratios['activation_energy']:6.2f}x   "
        f"(paper {paper['energy']:g}x)",
        f"  activation + stream       {ratios['activation_with_stream_latency']:6.2f}x latency, "
        f"{ratios['activation_with_stream_energy']:.2f}x energy",
        f"  whole inference           {ratios['inference_latency']:6.2f}x latency, "
        f"{ratios['inference_energy']:.2f}x energy "
        f"({result['inference']['quantized']['energy'] * 1e9:.2f} nJ quantized per image)",
        "",
        "Assumptions:",
    ]
    for row in result["assumptions"]:
        lines.append(f"  {row['name']} = {row['value']:g}: {row['source']}")
    return "\n".join(lines)
