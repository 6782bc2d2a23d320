"""The layers of DESIGN §1, read from every module's imports (function-level imports included).

- No module in instruments/, acquisition/, inference/ or gui/ imports smtjlab.mocks.
- instruments/, acquisition/ and inference/ import nothing of the glue package but
  smtjlab.errors, and nothing of the GUI.
- Outside the driver modules and the mocks, no module names a driver class: roles are
  protocols, and the registry picks the driver.
"""

import ast
import sys
from pathlib import Path

import pytest
from smtjlab.instruments import registry

REPO = Path(__file__).resolve().parents[1]
LAYERS = {
    "smtjlab": "smtjlab",
    "instruments": "smtjlab.instruments",
    "acquisition": "smtjlab.acquisition",
    "inference": "smtjlab.inference",
    "gui": "smtjlab.gui",
    "mocks": "smtjlab.mocks",
}
CORE = ("instruments", "acquisition", "inference")
LAYER_PACKAGES = {
    f"smtjlab.{name}" for name in ("instruments", "acquisition", "inference", "gui", "mocks")
}


def modules(folder: str) -> list[Path]:
    return sorted((REPO / folder).rglob("*.py"))


def imported(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every import in a file; `from a import b` counts as a.b too."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            if node.module == "smtjlab":  # `from smtjlab import bench` imports smtjlab.bench
                found += [(node.lineno, f"smtjlab.{alias.name}") for alias in node.names]
    return sorted(found)


def glue_module(name: str) -> bool:
    """A module of the glue package `smtjlab` itself (not one of its layer subpackages)."""
    if name != "smtjlab" and not name.startswith("smtjlab."):
        return False
    return not any(name == pkg or name.startswith(pkg + ".") for pkg in LAYER_PACKAGES)


def violations(folder: str) -> list[str]:
    found = []
    for path in modules(folder):
        for line, name in imported(path):
            where = f"{path.relative_to(REPO)}:{line} imports {name}"
            if name.split(".")[:2] == ["smtjlab", "mocks"] and folder in (*CORE, "gui"):
                found.append(where)
            if folder in CORE:
                if glue_module(name) and name not in ("smtjlab", "smtjlab.errors"):
                    found.append(where)
                if name.startswith("smtjlab.gui"):
                    found.append(where)
    return found


@pytest.mark.parametrize("folder", [*CORE, "gui"])
def test_a_layer_imports_only_what_design_section_1_allows(folder):
    assert violations(folder) == []


def test_the_rules_catch_a_violation(tmp_path, monkeypatch):
    # The checker itself can fail: a core module reaching into the mocks and the glue.
    bad = tmp_path / "inference"
    bad.mkdir()
    (bad / "cheat.py").write_text(
        "def f():\n    from smtjlab.mocks.bench import SimulatedBench\n"
        "from smtjlab.bench import Bench\nfrom smtjlab import errors\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    assert violations("inference") == [
        "inference/cheat.py:2 imports smtjlab.mocks.bench",
        "inference/cheat.py:3 imports smtjlab.bench",
    ]


def driver_class_uses(folders: tuple[str, ...]) -> list[str]:
    names = {driver.cls.__name__ for driver in registry.drivers().values()}
    found = []
    for folder in folders:
        for path in modules(folder):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                used = (
                    node.id
                    if isinstance(node, ast.Name)
                    else node.attr
                    if isinstance(node, ast.Attribute)
                    else None
                )
                if isinstance(node, ast.ImportFrom):
                    used = next((a.name for a in node.names if a.name in names), None)
                if used in names:
                    found.append(f"{path.relative_to(REPO)}:{node.lineno} {used}")
    return found


def test_nothing_outside_the_drivers_and_mocks_names_a_driver_class():
    assert driver_class_uses(("smtjlab", "acquisition", "inference", "gui")) == []
    assert driver_class_uses(("instruments",))  # the check sees the drivers themselves
