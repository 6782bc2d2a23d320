"""What a GXNOR training run is made of (docs/gxnor.md), without torch: the command line reads it.

`inference/gxnor.py` trains with it; the choices here are the ones the command line offers.
"""

from __future__ import annotations

from dataclasses import dataclass

ARCHITECTURES: tuple[str, ...] = ("cnn", "mlp")
SWITCHING_LAWS: tuple[str, ...] = ("tanh", "thermal", "precessional")
DEBIAS: tuple[str, ...] = ("none", "xor", "von-neumann")


@dataclass(frozen=True)
class GxnorConfig:
    """Everything that determines a GXNOR run (and is stored in the checkpoint)."""

    architecture: str = "mlp"
    hidden: tuple[int, ...] = (1024,)
    states: int = 3
    switching: str = "tanh"
    bits: str = "ideal"
    epochs: int = 10
    seed: int = 0
    batch_size: int = 250
    lr: float = 0.3  # first step (docs/gxnor.md: DST needs a large one)
    lr_final: float = 2e-3  # last step; geometric in between
    sc_length: int | None = None  # MLP only: train with the SC noise of length-L streams
    float_lr_scale: float = 1.0  # batch norm's lr relative to the discrete weights'
