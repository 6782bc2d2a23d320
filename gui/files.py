"""File dialogs that follow the project's output policy (smtjlab/outputs.py).

A path chosen to write becomes an `OutputFile`, checked before any work and written through a
temporary file beside it. An existing file is replaced only after the user said yes in our own
question (the dialog's built-in one is switched off, so there is one question, and tests can
answer it). The folder last used is remembered in QSettings.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from smtjlab.outputs import OutputFile

FOLDER_KEY = "last_folder"


def last_folder() -> Path:
    return Path(str(QSettings().value(FOLDER_KEY, str(Path.cwd()))))


def remember_folder(path: str | Path) -> None:
    QSettings().setValue(FOLDER_KEY, str(Path(path).parent))


def output_for(parent: QWidget, path: str | Path) -> OutputFile | None:
    """`path` as a checked output; an existing file only if the user agrees to replace it
    (None: the user said no). A path that cannot be written raises `OutputError`."""
    path = Path(path)
    force = False
    if path.exists() and path.is_file():
        answer = QMessageBox.question(
            parent,
            "Replace file?",
            f"{path} exists.\nReplace it?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return None
        force = True
    output = OutputFile(path, force=force)
    remember_folder(path)
    return output


def ask_output(parent: QWidget, title: str, name: str, filters: str) -> OutputFile | None:
    """Ask where to write (`name` is the suggested file name); None if the user cancels.

    A name typed without a suffix gets the one of the chosen filter ("PNG image (*.png)")."""
    path, chosen = QFileDialog.getSaveFileName(
        parent,
        title,
        str(last_folder() / name),
        filters,
        options=QFileDialog.Option.DontConfirmOverwrite,
    )
    if not path:
        return None
    if not Path(path).suffix and "*." in chosen:
        path += "." + chosen.split("*.", 1)[1].split(")", 1)[0].split()[0]
    return output_for(parent, path)


def ask_input(parent: QWidget, title: str, filters: str) -> Path | None:
    """Ask for a file to read; None if the user cancels."""
    path, _ = QFileDialog.getOpenFileName(parent, title, str(last_folder()), filters)
    if not path:
        return None
    remember_folder(path)
    return Path(path)
