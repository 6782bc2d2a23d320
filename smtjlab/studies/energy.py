"""Where could the paper's 2.6x activation-energy saving come from? (`smtjlab study energy`)

The ratio analog / quantized of one neuron's activation energy (inference/energy.py) over the
two parameters it depends on most: the DAC's resolution (its switching energy grows as 2^n)
and the device's correlation time τc (the analog neuron's bias burns while its s-MTJ relaxes,
for a time proportional to τc). Every other parameter stays at its default: nothing here is
chosen to land on 2.6x; the plot shows where 2.6x lies against the defaults.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np

from smtjlab.inference.energy import PAPER_ENERGY_RATIO, EnergyParameters, activation

DAC_BITS = np.arange(4, 17)  # 4 ... 16 bits
TAU_C = np.geomspace(0.1e-9, 100e-9, 61)  # 0.1 ns ... 100 ns


def energy_ratio(params: EnergyParameters, states: int, length: int) -> float:
    """Activation energy, analog / quantized (the stream itself is common to both)."""
    analog = activation("analog", params, states, length)["energy"]
    return analog / activation("quantized", params, states, length)["energy"]


def sensitivity(states: int, length: int) -> dict:
    """The ratio on the DAC_BITS x TAU_C grid, the defaults' ratio, and where 2.6x lies."""
    defaults = EnergyParameters()
    ratios = np.array(
        [
            [
                energy_ratio(
                    dataclasses.replace(defaults, dac_bits=int(bits), tau_c=tau), states, length
                )
                for tau in TAU_C
            ]
            for bits in DAC_BITS
        ]
    )
    return {
        "states": states,
        "length": length,
        "dac_bits": DAC_BITS,
        "tau_c": TAU_C,
        "ratios": ratios,
        "default": {
            "dac_bits": defaults.dac_bits,
            "tau_c": defaults.tau_c,
            "ratio": energy_ratio(defaults, states, length),
        },
        "tau_c_for_paper": _tau_for(PAPER_ENERGY_RATIO, defaults, states, length),
        "dac_bits_for_paper": _bits_for(PAPER_ENERGY_RATIO, defaults, states, length),
    }


def _tau_for(target: float, params: EnergyParameters, states: int, length: int) -> float:
    """The τc at which the ratio reaches `target` with the other parameters as given (the
    ratio grows with τc), by bisection on log τc; NaN if not within TAU_C."""
    low, high = math.log(TAU_C[0]), math.log(TAU_C[-1])

    def ratio(log_tau: float) -> float:
        return energy_ratio(dataclasses.replace(params, tau_c=math.exp(log_tau)), states, length)

    if not ratio(low) <= target <= ratio(high):
        return math.nan
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if ratio(middle) < target else (low, middle)
    return math.exp((low + high) / 2)


def _bits_for(target: float, params: EnergyParameters, states: int, length: int) -> int | None:
    """The fewest DAC bits in DAC_BITS at which the ratio reaches `target` (None if none)."""
    for bits in DAC_BITS:
        if energy_ratio(dataclasses.replace(params, dac_bits=int(bits)), states, length) >= target:
            return int(bits)
    return None


def summary(one: dict) -> dict:
    """A map without its grid: what the JSON and the text report."""
    return {
        key: one[key]
        for key in ("states", "length", "default", "tau_c_for_paper", "dac_bits_for_paper")
    }


def text(maps: list[dict], path: Path) -> str:
    lines = [
        "Activation energy, analog / quantized (docs/energy-model.md), over DAC bits x τc; "
        f"the paper's {PAPER_ENERGY_RATIO:g}x as a contour:"
    ]
    for one in maps:
        default, tau, bits = one["default"], one["tau_c_for_paper"], one["dac_bits_for_paper"]
        lines.append(
            f"  N = {one['states']}, L = {one['length']}: {default['ratio']:.2f}x at the defaults "
            f"({default['dac_bits']} bits, τc = {default['tau_c'] * 1e9:g} ns); "
            f"{PAPER_ENERGY_RATIO:g}x needs τc = "
            + (f"{tau * 1e9:.1f} ns" if math.isfinite(tau) else "more than the grid's range")
            + f" at {default['dac_bits']} bits, or "
            + (f"{bits} DAC bits" if bits is not None else "more DAC bits than the grid's")
            + f" at τc = {default['tau_c'] * 1e9:g} ns"
        )
    lines.append(f"figure: {path}")
    return "\n".join(lines)


def plot(maps: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm
    from matplotlib.lines import Line2D

    figure, axes = plt.subplots(1, len(maps), figsize=(5.5 * len(maps), 4.5), squeeze=False)
    for axis, one in zip(axes[0], maps, strict=True):
        tau_ns = one["tau_c"] * 1e9
        mesh = axis.pcolormesh(
            tau_ns,
            one["dac_bits"],
            one["ratios"],
            norm=LogNorm(0.1, 100),
            cmap="RdBu_r",
            shading="nearest",
        )
        ratios = one["ratios"]
        axis.contour(tau_ns, one["dac_bits"], ratios, levels=[1.0], colors="grey", linestyles="--")
        axis.contour(
            tau_ns, one["dac_bits"], ratios, levels=[PAPER_ENERGY_RATIO], colors="k", linewidths=2
        )
        default = one["default"]
        axis.plot(default["tau_c"] * 1e9, default["dac_bits"], "k*", markersize=12)
        axis.legend(
            handles=[
                Line2D([], [], color="k", linewidth=2, label=f"paper: {PAPER_ENERGY_RATIO:g}x"),
                Line2D([], [], color="grey", linestyle="--", label="1x (break-even)"),
                Line2D(
                    [],
                    [],
                    color="k",
                    marker="*",
                    linestyle="",
                    markersize=10,
                    label=f"defaults: {default['ratio']:.2f}x",
                ),
            ],
            loc="upper left",
            fontsize=8,
        )
        axis.set_xscale("log")
        axis.set(
            xlabel="device correlation time τc (ns)",
            ylabel="DAC resolution (bits)",
            title=f"N = {one['states']} states, L = {one['length']}",
        )
        figure.colorbar(mesh, ax=axis, label="activation energy, analog / quantized")
    figure.suptitle(
        "Where the paper's 2.6x energy saving could come from (all else at its default)"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110, format="png")
    plt.close(figure)
