"""Sweep files (TOML): a grid of train-and-evaluate runs, validated like station files.

```toml
images = 1000              # first N MNIST test images every model is evaluated on
lengths = [100, 200]       # stream lengths L
seeds = [0, 1]             # each seeds training and the stream placement
bits = "ideal"             # optional: "ideal" (default) or a bit-pool file

[train]                    # optional: models trained by the sweep
hidden = [[128], [128, 128, 128]]
states = [5, 11]
encodings = ["sign-magnitude"]   # optional; also "bipolar"
training = ["plain", "sc"]       # optional; "sc" trains with the SC noise of L = sc_length
sc_length = 100                  # optional
epochs = [20]                    # optional
train_images = 60000             # optional: first N training images

[evaluate]                 # optional: checkpoints evaluated as they are
models = ["mlp1-s5-sc", "models/mine.npz"]
```

Every grid point is one task (smtjlab/tasks.py) with a key: the SHA-256 of its configuration
(and of the model file it evaluates), so a results file knows which tasks it already holds.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from itertools import product
from pathlib import Path
from typing import Any

import tomllib

from smtjlab.errors import SmtjlabError

MAX_LENGTH = 1 << 16  # a longer stream is refused: it would take hours, not a typo's seconds
MAX_IMAGES = 10_000  # the MNIST test split
MAX_TRAIN_IMAGES = 60_000
ENCODINGS = ("sign-magnitude", "bipolar")
TRAINING = ("plain", "sc")
_TOP = {"images", "lengths", "seeds", "bits", "train", "evaluate"}
_TRAIN = {"hidden", "states", "encodings", "training", "sc_length", "epochs", "train_images"}
_EVALUATE = {"models"}


class SweepError(SmtjlabError):
    """A sweep file that breaks the format: one line per mistake."""


@dataclass(frozen=True)
class Task:
    """One grid point: `kind` "train" (train_and_evaluate) or "evaluate" (one model, one L)."""

    kind: str
    config: dict[str, Any]
    key: str  # short SHA-256 of the configuration: the row's `task`
    rows: int  # rows it writes
    model_file: Path | None = None  # the checkpoint an evaluate task reads


@dataclass(frozen=True)
class Sweep:
    path: Path
    bits: str  # "ideal" or the bit-pool file as the sweep names it
    bits_file: Path | None  # that file, found beside the sweep file
    tasks: tuple[Task, ...]

    @classmethod
    def load(cls, path: str | os.PathLike) -> Sweep:
        path = Path(path)
        try:
            table = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise SweepError(f"{path}: cannot read sweep file ({error.strerror})") from None
        except UnicodeDecodeError:
            raise SweepError(f"{path}: not a sweep file (not UTF-8 text)") from None
        except tomllib.TOMLDecodeError as error:
            raise SweepError(f"{path}: not valid TOML ({error})") from None
        return parse(table, path)


def parse(table: dict[str, Any], path: Path) -> Sweep:
    """Validate a sweep's TOML tables; every mistake is one line of the error."""
    problems: list[str] = []

    def problem(where: str, message: str) -> None:
        problems.append(f"{path}: {where}: {message}")

    def check(where: str, entry: dict, key: str, test, what: str, default: Any = None):
        if key not in entry:
            if default is None:
                problem(where, f"key {key!r} is missing")
            return default
        value = entry[key]
        if not test(value):
            problem(where, f"key {key!r} must be {what}, not {value!r}")
            return default
        return value

    def unknown(where: str, entry: dict, known: set[str]) -> None:
        for key in entry:
            if key not in known:
                problem(where, f"unknown key {key!r} (known: {', '.join(sorted(known))})")

    unknown("top level", table, _TOP)
    images = check("top level", table, "images", _count(MAX_IMAGES), f"an integer 1..{MAX_IMAGES}")
    lengths = check(
        "top level",
        table,
        "lengths",
        _list(_count(MAX_LENGTH)),
        f"a list of integers 1..{MAX_LENGTH}",
    )
    seeds = check("top level", table, "seeds", _list(_integer), "a list of integers")
    bits = check("top level", table, "bits", _string, "a string", "ideal")
    bits_file = None if bits == "ideal" else path.parent / bits
    if bits_file is not None and not bits_file.is_file():
        problem("top level", f"key 'bits': {bits!r} is neither 'ideal' nor a bit-pool file")
    for name in ("train", "evaluate"):
        if name in table and not isinstance(table[name], dict):
            problem(f"[{name}]", f"must be a table, not {table[name]!r}")
    train = table.get("train") if isinstance(table.get("train"), dict) else None
    evaluate = table.get("evaluate") if isinstance(table.get("evaluate"), dict) else None
    if train is None and evaluate is None:
        problem("top level", "neither [train] nor [evaluate]: the sweep has no tasks")

    grid: dict[str, Any] = {}
    if train is not None:
        unknown("[train]", train, _TRAIN)
        grid = {
            "hidden": check(
                "[train]", train, "hidden", _list(_list(_count(4096))), "a list of width lists"
            ),
            "states": check("[train]", train, "states", _list(_odd), "a list of odd integers >= 3"),
            "encodings": check(
                "[train]",
                train,
                "encodings",
                _list(ENCODINGS.__contains__),
                f"a list of {', '.join(ENCODINGS)}",
                ["sign-magnitude"],
            ),
            "training": check(
                "[train]",
                train,
                "training",
                _list(TRAINING.__contains__),
                f"a list of {', '.join(TRAINING)}",
                ["plain"],
            ),
            "sc_length": check(
                "[train]",
                train,
                "sc_length",
                _count(MAX_LENGTH),
                f"an integer 1..{MAX_LENGTH}",
                100,
            ),
            "epochs": check(
                "[train]", train, "epochs", _list(_count(1000)), "a list of integers 1..1000", [20]
            ),
            "train_images": check(
                "[train]",
                train,
                "train_images",
                _count(MAX_TRAIN_IMAGES),
                f"an integer 1..{MAX_TRAIN_IMAGES}",
                MAX_TRAIN_IMAGES,
            ),
        }
    models: list[tuple[str, Path]] = []
    if evaluate is not None:
        unknown("[evaluate]", evaluate, _EVALUATE)
        names = check(
            "[evaluate]", evaluate, "models", _list(_string), "a list of model names or files"
        )
        for name in names or []:
            try:
                models.append((name, _model_file(name, path)))
            except SmtjlabError as error:
                problem("[evaluate]", f"key 'models': {error}")
    if problems:
        raise SweepError("\n".join(problems))

    tasks: list[Task] = []
    common = {"images": images, "bits": bits}
    # a task's key names the content of the files it reads, not just their names
    pool = {"bits_sha256": _sha256(bits_file) if bits_file is not None else ""}
    if train is not None:
        for hidden, states, encoding, training, epochs, seed in product(
            grid["hidden"],
            grid["states"],
            grid["encodings"],
            grid["training"],
            grid["epochs"],
            seeds,
        ):
            config = {
                "hidden": list(hidden),
                "states": states,
                "encoding": encoding,
                "training": training,
                "sc_length": grid["sc_length"] if training == "sc" else 0,
                "epochs": epochs,
                "train_images": grid["train_images"],
                "seed": seed,
                **common,
                "lengths": list(lengths),
            }
            tasks.append(Task("train", config, _key({**config, **pool}), len(lengths)))
    for (name, model), length, seed in product(models, lengths, seeds):
        config = {"model": name, "length": length, "seed": seed, **common}
        identity = {**config, **pool, "model_sha256": _sha256(model)}
        tasks.append(Task("evaluate", config, _key(identity), 1, model))
    keys = [task.key for task in tasks]
    if len(set(keys)) != len(keys):
        raise SweepError(f"{path}: the grid names the same task twice (a repeated value?)")
    return Sweep(path, bits, bits_file, tuple(tasks))


def _model_file(name: str, sweep: Path) -> Path:
    from smtjlab.inference.checkpoint import resolve_model

    relative = sweep.parent / name  # a path in a sweep file is relative to the file
    return resolve_model(relative if relative.exists() else name)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _key(config: dict) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _count(limit: int):
    return lambda value: _integer(value) and 1 <= value <= limit


def _odd(value: Any) -> bool:
    return _integer(value) and value >= 3 and value % 2 == 1


def _string(value: Any) -> bool:
    return isinstance(value, str)


def _list(test):
    return lambda value: isinstance(value, list) and len(value) > 0 and all(map(test, value))
