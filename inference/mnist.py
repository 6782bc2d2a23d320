"""Load MNIST from its four standard IDX files, checking each against its published SHA-256.

Data: Y. LeCun, C. Cortes and C. J. C. Burges, the MNIST database, CC BY-SA 3.0.

The folder is, in order: the `folder` argument, `$SMTJLAB_MNIST_DIR`, the user's cache
folder (where `download` puts files), and, for the test split only, the copy shipped in
the package.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import urllib.error
import urllib.request
import zlib
from pathlib import Path
from typing import Literal

import numpy as np

from smtjlab.errors import SmtjlabError

N_INPUTS = 28 * 28  # pixels per image: the network's inputs
N_CLASSES = 10  # digits: the network's outputs

Split = Literal["train", "test"]

ENV_FOLDER = "SMTJLAB_MNIST_DIR"
SHIPPED_FOLDER = Path(__file__).parent / "data" / "mnist"

# name -> (IDX magic number, SHA-256 of the uncompressed file)
FILES: dict[str, tuple[int, str]] = {
    "train-images-idx3-ubyte": (
        2051,
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    ),
    "train-labels-idx1-ubyte": (
        2049,
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    ),
    "t10k-images-idx3-ubyte": (
        2051,
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    ),
    "t10k-labels-idx1-ubyte": (
        2049,
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    ),
}
PREFIX: dict[Split, str] = {"train": "train", "test": "t10k"}

MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)


class MnistError(SmtjlabError):
    """A missing, truncated or corrupt MNIST file."""


def cache_folder() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "smtjlab" / "mnist"


def candidate_folders(folder: str | os.PathLike | None, split: Split) -> list[Path]:
    if folder is not None:
        return [Path(folder)]
    if os.environ.get(ENV_FOLDER):
        return [Path(os.environ[ENV_FOLDER])]
    folders = [cache_folder()]
    if split == "test":
        folders.append(SHIPPED_FOLDER)
    return folders


def load_mnist(
    split: Split = "test", folder: str | os.PathLike | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Return (images, labels): uint8 arrays of shape (n, 28, 28) and (n,)."""
    if split not in PREFIX:
        raise MnistError(f"unknown MNIST split {split!r}; use 'train' or 'test'")
    folders = candidate_folders(folder, split)
    for candidate in folders:
        if _find(candidate, f"{PREFIX[split]}-images-idx3-ubyte") is not None:
            images = read_idx(_locate(candidate, f"{PREFIX[split]}-images-idx3-ubyte"))
            labels = read_idx(_locate(candidate, f"{PREFIX[split]}-labels-idx1-ubyte"))
            if images.shape[1:] != (28, 28) or len(images) != len(labels):
                raise MnistError(
                    f"{candidate}: {len(images)} images of shape {images.shape[1:]} "
                    f"do not match {len(labels)} labels"
                )
            return images, labels
    searched = ", ".join(str(f) for f in folders)
    raise MnistError(
        f"no MNIST {split} files in {searched}; set {ENV_FOLDER} to a folder holding the IDX "
        "files, or run `smtjlab mnist --download`"
    )


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (raw or .gz), check its SHA-256 and magic, and return its array."""
    name = path.name.removesuffix(".gz")
    if name not in FILES:
        raise MnistError(f"{path}: not one of the four MNIST files")
    magic, sha256 = FILES[name]
    content = _read_bytes(path)
    if len(content) < 8:
        raise MnistError(f"{path}: truncated ({len(content)} bytes, no IDX header)")
    found_magic = int.from_bytes(content[:4], "big")
    if found_magic != magic:
        raise MnistError(f"{path}: wrong magic number {found_magic}, expected {magic}")
    if hashlib.sha256(content).hexdigest() != sha256:
        raise MnistError(f"{path}: SHA-256 does not match the published checksum")
    ndim = content[3]
    dims = tuple(int.from_bytes(content[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(content, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def download(
    folder: str | os.PathLike | None = None,
    mirrors: tuple[str, ...] = MIRRORS,
    timeout_s: float = 30.0,
) -> Path:
    """Fetch the four files from the first mirror that serves each, verified, into `folder`."""
    target = Path(folder) if folder is not None else cache_folder()
    target.mkdir(parents=True, exist_ok=True)
    for name, (_, sha256) in FILES.items():
        destination = target / f"{name}.gz"
        if destination.exists():
            try:
                read_idx(destination)
                continue
            except MnistError:
                destination.unlink()
        failures = []
        for mirror in mirrors:
            url = f"{mirror.rstrip('/')}/{name}.gz"
            try:
                with urllib.request.urlopen(url, timeout=timeout_s) as response:
                    payload = response.read()
                content = gzip.decompress(payload)
            except (urllib.error.URLError, OSError, EOFError, zlib.error) as error:
                failures.append(f"{url}: {error}")
                continue
            if hashlib.sha256(content).hexdigest() != sha256:
                failures.append(f"{url}: SHA-256 mismatch")
                continue
            partial = destination.with_suffix(".part")
            partial.write_bytes(payload)
            partial.replace(destination)
            break
        else:
            raise MnistError(f"could not download {name}: " + "; ".join(failures))
    return target


def _find(folder: Path, name: str) -> Path | None:
    for path in (folder / name, folder / f"{name}.gz"):
        if path.is_file():
            return path
    return None


def _locate(folder: Path, name: str) -> Path:
    path = _find(folder, name)
    if path is None:
        raise MnistError(f"{folder / name}: missing (looked for it raw and as .gz)")
    return path


def _read_bytes(path: Path) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as stream:
                return stream.read()
        return path.read_bytes()
    except EOFError:
        raise MnistError(f"{path}: truncated gzip stream") from None
    except (gzip.BadGzipFile, zlib.error) as error:
        raise MnistError(f"{path}: corrupt gzip data ({error})") from None
    except OSError as error:
        raise MnistError(f"{path}: cannot read ({error.strerror or error})") from None
