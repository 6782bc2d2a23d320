"""Ternary CNN checkpoints (the GXNOR reference CNN): one documented .npz, never a pickle.

Keys (docs/gxnor.md, "CNN checkpoint file"):

- `format` = "smtjlab.tnn-cnn", `version` = 1, `states` (odd S >= 3: weight states in [−1, 1])
- `weight_0` .. `weight_3`: int8 weight levels k, weight = k·2/(S − 1), of conv1 (32, 1, 5, 5),
  conv2 (64, 32, 5, 5), fc1 (512, 1024) and fc2 (10, 512)
- `bn_{mean,var,gamma,beta}_0` .. `_3`: float32 batch norm after each of them (32, 64, 512, 10),
  with `bn_eps`
- `train_command`, `train_epochs`, `train_seed`, `train_bits`, `train_switching`,
  `decisions`, `fair_bits`, `test_accuracy` (the deterministic ternary network on the 10k set)
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from smtjlab.inference.checkpoint import CheckpointError

FORMAT = "smtjlab.tnn-cnn"
VERSION = 1
WEIGHT_SHAPES = ((32, 1, 5, 5), (64, 32, 5, 5), (512, 1024), (10, 512))
BN_FIELDS = ("mean", "var", "gamma", "beta")
METADATA: dict[str, type] = {
    "states": int,
    "bn_eps": float,
    "train_command": str,
    "train_epochs": int,
    "train_seed": int,
    "train_bits": str,
    "train_switching": str,
    "decisions": int,
    "fair_bits": int,
    "test_accuracy": float,
}


@dataclass(frozen=True)
class CnnCheckpoint:
    states: int
    weights: tuple[np.ndarray, ...]  # int8 levels, WEIGHT_SHAPES
    norms: tuple[dict[str, np.ndarray], ...]  # BN_FIELDS -> float32 (features,)
    bn_eps: float
    train_command: str = ""
    train_epochs: int = 0
    train_seed: int = 0
    train_bits: str = ""
    train_switching: str = ""
    decisions: int = 0
    fair_bits: int = 0
    test_accuracy: float = float("nan")


def is_cnn_checkpoint(path: str | os.PathLike) -> bool:
    """Whether the .npz at `path` says it is a ternary CNN checkpoint."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            return "format" in archive.files and str(archive["format"]) == FORMAT
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        return False


def save_cnn_checkpoint(checkpoint: CnnCheckpoint, path: str | os.PathLike) -> Path:
    """Validate and write `checkpoint` as a compressed .npz at `path`."""
    path = Path(path)
    _validate(checkpoint, path)
    arrays: dict[str, np.ndarray] = {"format": np.array(FORMAT), "version": np.array(VERSION)}
    for key in METADATA:
        arrays[key] = np.array(getattr(checkpoint, key))
    for index, (weights, norm) in enumerate(
        zip(checkpoint.weights, checkpoint.norms, strict=False)
    ):
        arrays[f"weight_{index}"] = weights.astype(np.int8)
        for name in BN_FIELDS:
            arrays[f"bn_{name}_{index}"] = norm[name].astype(np.float32)
    with open(path, "wb") as handle:
        np.savez_compressed(handle, **arrays)
    return path


def load_cnn_checkpoint(path: str | os.PathLike) -> CnnCheckpoint:
    """Read and validate a CNN checkpoint; anything wrong is a CheckpointError naming it."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise CheckpointError(f"{path}: not a readable .npz checkpoint ({error})") from None
    if str(arrays.get("format", "")) != FORMAT or arrays.get("version") != VERSION:
        raise CheckpointError(f"{path}: not a {FORMAT} version {VERSION} checkpoint")
    meta = {}
    for key, kind in METADATA.items():
        value = arrays.get(key)
        if value is None or value.shape != () or (kind is str) != (value.dtype.kind == "U"):
            raise CheckpointError(f"{path}: {key!r} must be a scalar {kind.__name__}")
        meta[key] = kind(value.item())
    weights, norms = [], []
    for index in range(len(WEIGHT_SHAPES)):
        keys = [f"weight_{index}"] + [f"bn_{name}_{index}" for name in BN_FIELDS]
        missing = [key for key in keys if key not in arrays]
        if missing:
            raise CheckpointError(f"{path}: missing key {missing[0]!r}")
        if arrays[keys[0]].dtype.kind not in "iu":
            raise CheckpointError(f"{path}: {keys[0]} must hold integer levels")
        weights.append(arrays[keys[0]].astype(np.int8))
        norms.append({name: arrays[f"bn_{name}_{index}"] for name in BN_FIELDS})
    checkpoint = CnnCheckpoint(weights=tuple(weights), norms=tuple(norms), **meta)
    _validate(checkpoint, path)
    return checkpoint


def _validate(checkpoint: CnnCheckpoint, path: Path) -> None:
    states = checkpoint.states
    if states < 3 or states % 2 == 0:
        raise CheckpointError(f"{path}: states must be an odd integer >= 3, got {states}")
    if not checkpoint.bn_eps > 0:
        raise CheckpointError(f"{path}: bn_eps must be > 0")
    half = (states - 1) // 2
    for index, (weights, norm, shape) in enumerate(
        zip(checkpoint.weights, checkpoint.norms, WEIGHT_SHAPES, strict=True)
    ):
        if weights.shape != shape:
            raise CheckpointError(f"{path}: weight_{index} has shape {weights.shape}, want {shape}")
        if np.abs(weights.astype(np.int64)).max(initial=0) > half:
            raise CheckpointError(f"{path}: weight_{index} has levels outside [-{half}, {half}]")
        for name in BN_FIELDS:
            values = norm[name]
            if values.dtype.kind != "f" or values.shape != (shape[0],):
                raise CheckpointError(f"{path}: bn_{name}_{index} must be float ({shape[0]},)")
            if not np.all(np.isfinite(values)) or (name == "var" and np.any(values < 0)):
                raise CheckpointError(f"{path}: bn_{name}_{index} is not finite and valid")
