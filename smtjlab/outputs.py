"""Output files, the one overwrite policy every writing command follows (DESIGN §5.2).

A command checks its output path before any work (`OutputFile(...)`): the folder must exist and
be writable, the path must not be a directory or a device, must not be the same file as any
input (compared by device and inode, so symlinks and hard links are caught), and must not exist
unless the user passed `--force`. The command then writes to a temporary file beside the output
(`with output.writing() as temp:`), which replaces the output only when the work succeeded; on
failure only that temporary file is deleted.

Appending writers (`smtjlab acquire`) use `output.appending(keep=...)`: a new output is
created at once and filled chunk by chunk, so a crash leaves a readable file; with `--force`
over an existing file they fill a temporary file that replaces the old one at the end. After a
failure the partial file is kept (and renamed over the old one) when `keep(path)` says it holds
data, and deleted when it does not.
"""

from __future__ import annotations

import argparse
import os
import secrets
import stat
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from smtjlab.errors import SmtjlabError

FORCE_HELP = "replace an existing output file (default: refuse)"


class OutputError(SmtjlabError):
    """An output path that cannot or must not be written."""


def add_force_argument(parser: argparse.ArgumentParser) -> None:
    """The `--force` flag of every command that writes a file."""
    parser.add_argument("--force", action="store_true", help=FORCE_HELP)


class OutputFile:
    """One output path, checked now, written later through a temporary file beside it."""

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        force: bool = False,
        inputs: Iterable[str | os.PathLike | None] = (),
        make_folder: bool = False,
    ) -> None:
        self.path = Path(path)
        self.force = force
        self.make_folder = make_folder
        self._inputs = [Path(item) for item in inputs if item is not None]
        self.check()

    def check(self) -> None:
        """Refuse the path, with one line saying why, or return (nothing is created)."""
        path = self.path
        if os.path.lexists(path):
            mode = os.lstat(path).st_mode
            if stat.S_ISDIR(mode) or path.is_dir():
                raise OutputError(f"{path}: is a directory, not an output file")
            if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)) or (
                path.exists() and not path.is_file()
            ):
                raise OutputError(f"{path}: is not a regular file (a device, pipe or socket)")
            for source in self._inputs:
                if _same_file(path, source):
                    raise OutputError(f"{path}: is the same file as the input {source}")
            if not self.force:
                raise OutputError(f"{path}: exists; pass --force to replace it")
        folder = _existing_ancestor(path.parent) if self.make_folder else path.parent
        if not folder.is_dir():
            raise OutputError(f"{path}: folder {folder} does not exist")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise OutputError(f"{path}: folder {folder} is not writable")

    @contextmanager
    def writing(self) -> Iterator[Path]:
        """A temporary path beside the output; it replaces the output if the block succeeds."""
        temp = self._temporary()
        try:
            yield temp
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        self._commit(temp)

    @contextmanager
    def appending(self, keep: Callable[[Path], bool]) -> Iterator[Path]:
        """A path to fill chunk by chunk: the output itself when new, else a temporary file.

        On failure the file is kept (renamed over an old output) if `keep(path)` is true.
        """
        self.check()
        if os.path.lexists(self.path):  # --force over an existing file: keep it until the end
            target = self._temporary()
        else:
            target = self.path
            self._folder()
            _create_new(target)
        try:
            yield target
        except BaseException:
            if _keeps(keep, target):
                if target != self.path:
                    self._commit(target)
            else:
                target.unlink(missing_ok=True)
            raise
        if target != self.path:
            self._commit(target)

    def _temporary(self) -> Path:
        self.check()  # the path may have changed while the command worked
        self._folder()
        # hidden, beside the output (so the rename stays on one file system), ending in the
        # output's suffix (so writers that go by it, such as matplotlib, write the right format)
        temp = self.path.with_name(
            f".{self.path.name}.{secrets.token_hex(4)}.tmp{self.path.suffix}"
        )
        _create_new(temp)
        return temp

    def _folder(self) -> None:
        if self.make_folder:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    def _commit(self, temp: Path) -> None:
        try:
            self.check()
        except OutputError:
            temp.unlink(missing_ok=True)
            raise
        os.replace(temp, self.path)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)  # device and inode, through symlinks
    except OSError:
        return False


def _existing_ancestor(folder: Path) -> Path:
    folder = folder.absolute()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def _create_new(path: Path) -> None:
    try:
        # mode 0o666 less the umask, as for any file the user creates
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except FileExistsError:
        raise OutputError(f"{path}: exists; pass --force to replace it") from None
    except OSError as error:
        raise OutputError(f"{path}: cannot create ({error.strerror})") from None


def _keeps(keep: Callable[[Path], bool], path: Path) -> bool:
    try:
        return bool(keep(path))
    except Exception:  # an unreadable partial file holds nothing worth keeping
        return False
