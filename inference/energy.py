"""Per-operation energy and latency of a neuron activation and of one inference, for an
s-MTJ SC-ANN with analog (unquantized) activations and for the quantized one (docs/energy-model.md).

- **analog**: each neuron owns an s-MTJ. After its counter finishes, a digital multiply-add
  turns the count into a DAC code (scale and bias), an n-bit DAC sets the device's bias, the
  device's occupation relaxes to the new P(1), and then it emits the neuron's output stream.
- **quantized** (this project): N-1 digital comparators turn the count into a level, and a
  multiplexer routes that level's stream from a bank of s-MTJs biased once, statically, at
  the N-2 device levels. No DAC, no settling.

Both emit L output bits per neuron, one device bit each, so the stream itself is common;
"activation" below means everything from the finished count to the first output bit.
Every parameter carries its value, unit and source; nothing is fitted to the paper.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, fields

# The paper's claims for the quantized network over the analog one (arXiv 2504.06414).
PAPER_LATENCY_RATIO = 9.0
PAPER_ENERGY_RATIO = 2.6


@dataclass(frozen=True)
class EnergyParameters:
    """Values in SI units; `SOURCES` says where each comes from."""

    bit_energy: float = 20e-15  # J per random bit, s-MTJ + read circuit
    tau_c: float = 1e-9  # s, device correlation (= relaxation) time
    bit_interval_tau: float = 2.0  # bits sampled every 2 τc (DESIGN §3 rule of thumb)
    clock: float = 1e9  # Hz, digital logic clock
    gate_energy: float = 1e-15  # J per 2-input gate operation (AND, XNOR, 2:1 mux stage)
    gate_delay: float = 40e-12  # s per 2:1 mux stage (about 2 FO4)
    adder_bit_energy: float = 3.75e-15  # J per bit of a ripple add/compare (0.03 pJ / 8 bits)
    counter_bits: int = 20  # width of a neuron's counter (|D| <= 784 * 500 < 2^19)
    mac_energy: float = 0.3e-12  # J, 8-bit multiply + 32-bit add (count -> DAC code)
    dac_bits: int = 8
    dac_unit_cap: float = 1e-15  # F per unit capacitor of a binary-weighted C-DAC
    dac_vref: float = 1.0  # V
    dac_driver_ohm: float = 1e3  # Ω, output resistance driving the C-DAC and bias line
    bias_voltage: float = 0.3  # V across the s-MTJ
    device_ohm: float = 10e3  # Ω, mean of R_P ≈ 5-8 kΩ and R_AP at TMR ≈ 100 %


SOURCES: dict[str, str] = {
    "bit_energy": "Vodenicarevic et al., ISCAS 2018, arXiv:1806.09124: about 20 fJ/bit "
    "including the read circuit (DESIGN §3); easy-plane sMTJs: about 0.03 pJ/bit (DESIGN §3)",
    "tau_c": "easy-plane sMTJs stream 0.5-1 Gbit/s per device (Sun et al., J. Phys. D 59, "
    "2026, arXiv:2509.13469); 50 nm perpendicular SMTJs dwell about 3 ns (Soumah et al., "
    "arXiv:2402.03452). 1 ns is the fast end, which favours the analog design",
    "bit_interval_tau": "DESIGN §3: lag-1 correlation exp(-Δt/τc); Δt >= 2τc keeps it < 0.14",
    "clock": "assumption: 1 GHz digital logic (one counter/comparator cycle = 1 ns)",
    "gate_energy": "derived from Horowitz, ISSCC 2014 (45 nm, 0.9 V): an 8-bit add costs "
    "0.03 pJ, about 4 fJ per full-adder bit; a 2-input gate is about a quarter of that",
    "gate_delay": "assumption: 2 FO4 per 2:1 mux stage, FO4 about 20 ps at 45 nm",
    "adder_bit_energy": "Horowitz, ISSCC 2014: 8-bit add 0.03 pJ (a compare is a subtract; "
    "a parallel counter spends about one full adder per counted bit)",
    "counter_bits": "784 inputs x L <= 500 needs 19 bits plus sign",
    "mac_energy": "Horowitz, ISSCC 2014: 8-bit multiply 0.2 pJ + 32-bit add 0.1 pJ",
    "dac_bits": "assumption: 8 bits carry an unquantized activation (like an 8-bit pixel)",
    "dac_unit_cap": "assumption: 1 fF metal unit capacitor; the switching energy of a "
    "binary-weighted C-DAC is of order 2^n·C_u·Vref² (Saberi et al., IEEE TCAS-I 58, 2011)",
    "dac_vref": "assumption: 1 V reference",
    "dac_driver_ohm": "assumption: 1 kΩ driver; settling to n bits takes (n+1)·ln2·R·C",
    "bias_voltage": "DESIGN §3: superparamagnetic MTJs under 0.3-0.5 V bias",
    "device_ohm": "DESIGN §3: R_P about 5-8 kΩ and TMR about 100 %",
}


def activation(design: str, params: EnergyParameters, states: int, length: int) -> dict:
    """Energy (J) and latency (s) of one neuron's activation, itemised.

    Activation = from the finished count to the first bit of the output stream. The stream
    (L device bits) is reported separately as `stream_energy` / `stream_latency`.
    """
    cycle = 1.0 / params.clock
    items: dict[str, tuple[float, float]] = {}  # name -> (energy J, latency s)
    if design == "analog":
        dac_cap = 2**params.dac_bits * params.dac_unit_cap
        settle_lsb = (params.dac_bits + 1) * math.log(2)  # to 1/2 LSB
        relax = params.tau_c * settle_lsb  # the occupation relaxes as exp(-t/τc)
        items["multiply-add to DAC code"] = (params.mac_energy, cycle)
        items["DAC conversion + settling"] = (
            dac_cap * params.dac_vref**2,
            settle_lsb * params.dac_driver_ohm * dac_cap,
        )
        items["s-MTJ relaxation to new P(1)"] = (
            params.bias_voltage**2 / params.device_ohm * relax,
            relax,
        )
        mux_energy = 0.0
    elif design == "quantized":
        compare = params.counter_bits * params.adder_bit_energy
        stages = math.ceil(math.log2(states))  # N inputs: constants 0, 1 and N-2 levels
        items[f"{states - 1} comparators (parallel)"] = ((states - 1) * compare, cycle)
        items["level-select multiplexer"] = (0.0, stages * params.gate_delay)
        mux_energy = stages * params.gate_energy  # paid by every bit that passes
    else:
        raise ValueError(f"unknown design {design!r}; use 'analog' or 'quantized'")
    interval = params.bit_interval_tau * params.tau_c
    return {
        "items": {name: {"energy": e, "latency": t} for name, (e, t) in items.items()},
        "energy": sum(e for e, _ in items.values()) + length * mux_energy,
        "latency": sum(t for _, t in items.values()),
        "stream_energy": length * params.bit_energy,
        "stream_latency": length * interval,
        "mux_energy_per_bit": mux_energy,
    }


def inference(
    design: str, params: EnergyParameters, widths: list[int], states: int, length: int
) -> dict:
    """Energy (J) of one image through the network, itemised.

    Every input pixel and hidden neuron is an activation with an L-bit stream (pixels too:
    the analog design needs a DAC per unquantized input). Every weight x input pair costs L
    gate operations and L counter bits; weight streams are read from the devices once per
    image like any stream. Latency: per layer, the L-bit stream plus one activation.
    """
    act = activation(design, params, states, length)
    streamed = sum(widths[:-1])  # inputs + hidden neurons
    pairs = sum(a * b for a, b in itertools.pairwise(widths))
    items = {
        "activations": streamed * act["energy"],
        "activation streams": streamed * act["stream_energy"],
        "weight streams": pairs * length * params.bit_energy,
        "AND/XNOR gates": pairs * length * params.gate_energy,
        "counters": pairs * length * params.adder_bit_energy,  # a full adder per counted bit
    }
    layers = len(widths) - 1
    latency = layers * (act["latency"] + act["stream_latency"])
    return {"items": items, "energy": sum(items.values()), "latency": latency}


def compare(params: EnergyParameters, widths: list[int], states: int, length: int) -> dict:
    """Analog vs quantized: the activation and whole-inference ratios (analog / quantized)."""
    analog = activation("analog", params, states, length)
    quantized = activation("quantized", params, states, length)
    whole_a = inference("analog", params, widths, states, length)
    whole_q = inference("quantized", params, widths, states, length)
    return {
        "states": states,
        "length": length,
        "widths": list(widths),
        "activation": {"analog": analog, "quantized": quantized},
        "inference": {"analog": whole_a, "quantized": whole_q},
        "ratios": {
            "activation_latency": analog["latency"] / quantized["latency"],
            "activation_energy": analog["energy"] / quantized["energy"],
            "activation_with_stream_latency": (analog["latency"] + analog["stream_latency"])
            / (quantized["latency"] + quantized["stream_latency"]),
            "activation_with_stream_energy": (analog["energy"] + analog["stream_energy"])
            / (quantized["energy"] + quantized["stream_energy"]),
            "inference_latency": whole_a["latency"] / whole_q["latency"],
            "inference_energy": whole_a["energy"] / whole_q["energy"],
        },
        "paper": {"activation_latency": PAPER_LATENCY_RATIO, "energy": PAPER_ENERGY_RATIO},
    }


def parameter_table(params: EnergyParameters) -> list[dict]:
    """Every assumption: name, value, source."""
    return [
        {"name": f.name, "value": getattr(params, f.name), "source": SOURCES[f.name]}
        for f in fields(params)
    ]
