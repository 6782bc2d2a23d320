"""What determines a training run: its configuration, apart from the torch code that runs it.

The command line builds its parser from these defaults without importing torch (train.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from smtjlab.inference.encoding import Encoding


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run (and is stored in the checkpoint)."""

    hidden: tuple[int, ...]
    states: int
    encoding: Encoding = Encoding.SIGN_MAGNITUDE
    sc_length: int | None = None  # None: plain QAT; L: SC-noise-aware training at length L
    epochs: int = 20
    seed: int = 0
    batch_size: int = 200
    lr: float = 3e-3
    input_8bit: bool = False

    def __post_init__(self) -> None:
        # An encoding given by name is parsed once here (EncodingError if unknown).
        object.__setattr__(self, "encoding", Encoding(self.encoding))
