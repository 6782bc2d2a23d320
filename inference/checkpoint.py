"""SC-MLP checkpoints: one documented .npz file, never a pickle (DESIGN §5.3).

Keys (docs/sc-semantics.md, "Checkpoint file"):

- `format` = "smtjlab.sc-mlp", `version` = 1
- `states` (odd N >= 3), `encoding` ("sign-magnitude" | "bipolar"), `hidden` (int widths),
  `input_8bit` (bool: pixels kept at 8 bits instead of the N-state grid)
- per layer l = 0 .. len(hidden): `weight_l` int8 levels (out, in) in [-h, h], h = (N-1)/2;
  `scale_l` float64 (out,) > 0; `bias_l` float64 (out,)
- `train_mode` ("sc" | "plain" | "gxnor" | "device-aware"), `train_sc_length` (L, 0 for
  plain), `train_epochs`, `train_seed`, `train_command` (the exact command line)
- `test_accuracy`: MNIST test accuracy (10k) of the deterministic quantized network
- optional `device_profile`: for "device-aware" models, the JSON of the device profile
  (smtjlab.acquisition.profile) the model was trained on; files without it load as before
"""

from __future__ import annotations

import io
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from smtjlab.inference.encoding import Encoding, EncodingError
from smtjlab.inference.mnist import N_CLASSES, N_INPUTS
from smtjlab.inference.quantize import half_range

from smtjlab.errors import SmtjlabError

FORMAT = "smtjlab.sc-mlp"
VERSION = 1
SHIPPED_DIR = Path(__file__).parent / "checkpoints"


def shipped_name(depth: int, states: int, mode: str, encoding: str = "sign-magnitude") -> str:
    """The shipped model of a paper configuration: mlp3-s11-sc, mlp1-s5-plain-bipolar, ..."""
    suffix = "" if Encoding(encoding) is Encoding.SIGN_MAGNITUDE else f"-{Encoding(encoding)}"
    return f"mlp{depth}-s{states}-{mode}{suffix}"


# the paper's eight configurations in each encoding (docs/accuracy.md), sign-magnitude first
SHIPPED_NAMES: tuple[str, ...] = tuple(
    shipped_name(depth, states, mode, encoding)
    for encoding in ("sign-magnitude", "bipolar")
    for depth in (1, 3)
    for states in (5, 11)
    for mode in ("sc", "plain")
)
# GXNOR-trained (docs/gxnor.md); the CNN is a smtjlab.tnn-cnn checkpoint, not an SC model
GXNOR_NAMES: tuple[str, ...] = ("tnn-mlp-gxnor", "tnn-cnn-gxnor")
TRAIN_MODES = ("sc", "plain", "gxnor", "device-aware")


class CheckpointError(SmtjlabError):
    """A checkpoint that is missing, corrupt, inconsistent or not ours."""


@dataclass(frozen=True)
class Layer:
    weights: np.ndarray  # int8 levels (out, in)
    scale: np.ndarray  # float64 (out,)
    bias: np.ndarray  # float64 (out,)


@dataclass(frozen=True)
class Checkpoint:
    states: int
    encoding: Encoding
    layers: tuple[Layer, ...]
    input_8bit: bool = False
    train_mode: str = "plain"
    train_sc_length: int = 0
    train_epochs: int = 0
    train_seed: int = 0
    train_command: str = ""
    test_accuracy: float = float("nan")
    device_profile: str = ""  # JSON of the measured device a device-aware model was tuned on

    def __post_init__(self) -> None:
        # An encoding given by name is parsed once here (EncodingError if unknown).
        object.__setattr__(self, "encoding", Encoding(self.encoding))

    @property
    def hidden(self) -> tuple[int, ...]:
        return tuple(layer.weights.shape[0] for layer in self.layers[:-1])

    @property
    def widths(self) -> list[int]:
        """Every layer's width, inputs first and outputs last (784, hidden..., 10)."""
        return [self.layers[0].weights.shape[1], *(layer.weights.shape[0] for layer in self.layers)]


def checkpoint_path(path: str | os.PathLike) -> Path:
    """The file `save_checkpoint` writes for `path`: the .npz suffix is added if missing."""
    path = Path(path)
    return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")


def save_checkpoint(checkpoint: Checkpoint, path: str | os.PathLike) -> Path:
    """Write `checkpoint` as a compressed .npz (the suffix is added if missing)."""
    path = checkpoint_path(path)
    arrays: dict[str, np.ndarray] = {
        "format": np.array(FORMAT),
        "version": np.array(VERSION),
        "states": np.array(checkpoint.states),
        "encoding": np.array(checkpoint.encoding.value),
        "hidden": np.array(checkpoint.hidden, dtype=np.int64),
        "input_8bit": np.array(checkpoint.input_8bit),
        "train_mode": np.array(checkpoint.train_mode),
        "train_sc_length": np.array(checkpoint.train_sc_length),
        "train_epochs": np.array(checkpoint.train_epochs),
        "train_seed": np.array(checkpoint.train_seed),
        "train_command": np.array(checkpoint.train_command),
        "test_accuracy": np.array(checkpoint.test_accuracy),
    }
    if checkpoint.device_profile:  # only then: every other checkpoint's file is as before
        arrays["device_profile"] = np.array(checkpoint.device_profile)
    for index, layer in enumerate(checkpoint.layers):
        arrays[f"weight_{index}"] = layer.weights.astype(np.int8)
        arrays[f"scale_{index}"] = layer.scale.astype(np.float64)
        arrays[f"bias_{index}"] = layer.bias.astype(np.float64)
    _validate(checkpoint, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)
    return path


def resolve_model(model: str | os.PathLike) -> Path:
    """A checkpoint path, or the shipped checkpoint of that name (e.g. "mlp1-s5-sc")."""
    path = Path(model)
    if path.exists():
        return path
    if str(model) in SHIPPED_NAMES + GXNOR_NAMES:
        shipped = SHIPPED_DIR / f"{model}.npz"
        if not shipped.is_file():
            raise CheckpointError(
                f"shipped model {model} is missing ({shipped}); see docs/accuracy.md"
            )
        return shipped
    raise CheckpointError(
        f"{model}: no such checkpoint file, and not a shipped model name "
        f"({', '.join(SHIPPED_NAMES + GXNOR_NAMES)})"
    )


def load_checkpoint(model: str | os.PathLike) -> Checkpoint:
    """Load and validate a checkpoint file or shipped name; bad files raise CheckpointError."""
    path = resolve_model(model)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CheckpointError(f"{path}: cannot read checkpoint ({error.strerror})") from None
    return checkpoint_from_bytes(data, path)


def checkpoint_from_bytes(data: bytes, where: str | os.PathLike) -> Checkpoint:
    """Validate the bytes of a checkpoint file (`where` names it in errors), as a task
    that received the file rather than a path does (smtjlab/tasks.py)."""
    path = Path(where)
    source = io.BytesIO(data)
    if not zipfile.is_zipfile(source):
        raise CheckpointError(f"{path}: not a readable .npz checkpoint (not a zip archive)")
    try:
        with np.load(source, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except ValueError as error:
        if "allow_pickle" in str(error):
            raise CheckpointError(f"{path}: holds a pickled object array; refused") from None
        raise CheckpointError(f"{path}: not a readable .npz checkpoint ({error})") from None
    except (OSError, EOFError, zipfile.BadZipFile, zipfile.LargeZipFile) as error:
        raise CheckpointError(f"{path}: not a readable .npz checkpoint ({error})") from None
    checkpoint = _from_arrays(arrays, path)
    _validate(checkpoint, path)
    return checkpoint


METADATA: dict[str, type] = {
    "format": str,
    "version": int,
    "states": int,
    "encoding": str,
    "input_8bit": bool,
    "train_mode": str,
    "train_sc_length": int,
    "train_epochs": int,
    "train_seed": int,
    "train_command": str,
    "test_accuracy": float,
}


# Keys a file may lack (older files, models of other modes), with their type.
OPTIONAL: dict[str, type] = {"device_profile": str}


# The numpy dtype kinds each metadata type may be stored as: no float reads as an int
# (`states = 5.5` is not 5) and no integer as a bool.
DTYPE_KINDS: dict[type, str] = {str: "U", int: "iu", bool: "b", float: "fiu"}
# Weight levels are stored as int8, |level| <= h = (N-1)/2 <= 127: at most 255 states.
MAX_STATES = 2 * int(np.iinfo(np.int8).max) + 1


def check_storable_states(states: int, where: str = "checkpoint") -> None:
    """Refuse a number of states whose weight levels int8 cannot hold (N > 255)."""
    if states > MAX_STATES:
        raise CheckpointError(
            f"{where}: {states} states are more than the {MAX_STATES} whose weight levels "
            "a checkpoint stores (int8, |level| <= 127)"
        )


def _from_arrays(arrays: dict[str, np.ndarray], path: Path) -> Checkpoint:
    meta = {}
    for key, kind in (METADATA | OPTIONAL).items():
        if key not in arrays:
            if key in OPTIONAL:
                continue
            raise CheckpointError(f"{path}: missing key {key!r}")
        value = arrays[key]
        if value.shape != () or value.dtype.kind not in DTYPE_KINDS[kind]:
            raise CheckpointError(
                f"{path}: {key!r} must be a scalar {kind.__name__}, not {value.dtype} "
                f"of shape {value.shape}"
            )
        meta[key] = kind(value.item())
    if meta.pop("format") != FORMAT:
        raise CheckpointError(f"{path}: format is not {FORMAT!r}")
    if meta.pop("version") != VERSION:
        raise CheckpointError(f"{path}: version {arrays['version']} unsupported (want {VERSION})")
    states = meta["states"]
    if states < 3 or states % 2 == 0:
        raise CheckpointError(f"{path}: states must be an odd integer >= 3, got {states}")
    check_storable_states(states, str(path))
    hidden = arrays.get("hidden")
    if hidden is None or hidden.ndim != 1 or hidden.dtype.kind not in "iu":
        raise CheckpointError(f"{path}: 'hidden' must be a 1-D integer array of widths")
    layer_keys = [
        (f"weight_{index}", f"scale_{index}", f"bias_{index}") for index in range(len(hidden) + 1)
    ]
    unexpected = (
        set(arrays)
        - set(METADATA)
        - set(OPTIONAL)
        - {"hidden"}
        - {k for keys in layer_keys for k in keys}
    )
    if unexpected:
        raise CheckpointError(f"{path}: unexpected key {sorted(unexpected)[0]!r}")
    layers = []
    for index, keys in enumerate(layer_keys):
        missing = [key for key in keys if key not in arrays]
        if missing:
            raise CheckpointError(f"{path}: missing key {missing[0]!r}")
        weights, scale, bias = (arrays[key] for key in keys)
        if weights.dtype.kind not in "iu" or scale.dtype.kind != "f" or bias.dtype.kind != "f":
            raise CheckpointError(
                f"{path}: layer {index} has dtypes {weights.dtype}/{scale.dtype}/{bias.dtype}, "
                "want integer weights and float scale/bias"
            )
        if np.abs(weights.astype(np.int64)).max(initial=0) > (states - 1) // 2:
            raise CheckpointError(f"{path}: layer {index} has weight levels outside the grid")
        layers.append(
            Layer(weights.astype(np.int8), scale.astype(np.float64), bias.astype(np.float64))
        )
    try:
        checkpoint = Checkpoint(layers=tuple(layers), **meta)
    except EncodingError as error:
        raise CheckpointError(f"{path}: {error}") from None
    if tuple(int(width) for width in hidden) != checkpoint.hidden:
        raise CheckpointError(f"{path}: 'hidden' {hidden.tolist()} does not match the weights")
    return checkpoint


def _validate(checkpoint: Checkpoint, path: Path) -> None:
    states = checkpoint.states
    if states < 3 or states % 2 == 0:
        raise CheckpointError(f"{path}: states must be an odd integer >= 3, got {states}")
    check_storable_states(states, str(path))
    if checkpoint.train_mode not in TRAIN_MODES:
        raise CheckpointError(f"{path}: train_mode must be one of {', '.join(TRAIN_MODES)}")
    if checkpoint.device_profile:
        # here, not at the top: the profile module loads h5py and numba (start-up, DESIGN §6)
        from smtjlab.acquisition.profile import DeviceProfile, ProfileError

        try:
            DeviceProfile.from_json(checkpoint.device_profile, f"{path}: device_profile")
        except ProfileError as error:
            raise CheckpointError(str(error)) from None
    h = half_range(states)
    n_in = N_INPUTS
    for index, layer in enumerate(checkpoint.layers):
        n_out = N_CLASSES if index == len(checkpoint.layers) - 1 else layer.weights.shape[0]
        where = f"{path}: layer {index}"
        if layer.weights.ndim != 2 or layer.weights.shape != (n_out, n_in) or n_out < 1:
            raise CheckpointError(
                f"{where} weights have shape {layer.weights.shape}, want ({n_out}, {n_in})"
            )
        if layer.scale.shape != (n_out,) or layer.bias.shape != (n_out,):
            raise CheckpointError(
                f"{where} scale/bias have shapes {layer.scale.shape}/{layer.bias.shape}, "
                f"want ({n_out},)"
            )
        if np.abs(layer.weights.astype(np.int64)).max(initial=0) > h:
            raise CheckpointError(f"{where} has weight levels outside [-{h}, {h}]")
        if not (np.all(np.isfinite(layer.scale)) and np.all(layer.scale > 0)):
            raise CheckpointError(f"{where} scale must be finite and > 0")
        if not np.all(np.isfinite(layer.bias)):
            raise CheckpointError(f"{where} bias is not finite")
        n_in = n_out
