"""The report package's structure: no import circle, the shared core never imports the report, and every
registered part and study is declared once."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from pulsetrain.report.config import ALL_STUDIES
from pulsetrain.report.parts import PARTS
from pulsetrain.report.studies import STUDIES

PACKAGE = Path(__file__).resolve().parent.parent / "pulsetrain" / "report"
CORE = [PACKAGE.parent / name for name in ("config.py", "executor.py", "results.py")]


def imported_modules(path: Path, *, top_level_only: bool) -> set[str]:
    """Modules ``path`` imports (``top_level_only``: at import time, not inside functions or
    ``if TYPE_CHECKING``)."""
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def report_graph() -> dict[str, set[str]]:
    modules = {
        f"pulsetrain.report.{path.stem}": path for path in PACKAGE.glob("*.py") if path.stem != "__init__"
    }
    return {
        name: {m for m in imported_modules(path, top_level_only=True) if m in modules and m != name}
        for name, path in modules.items()
    }


def test_report_modules_import_each_other_without_a_circle() -> None:
    graph = report_graph()
    done: set[str] = set()

    def visit(name: str, trail: tuple[str, ...]) -> None:
        if name in trail:
            pytest.fail("import circle: " + " -> ".join((*trail[trail.index(name) :], name)))
        if name in done:
            return
        for dependency in graph[name]:
            visit(dependency, (*trail, name))
        done.add(name)

    for module in graph:
        visit(module, ())


@pytest.mark.parametrize("path", CORE, ids=lambda path: path.name)
def test_the_shared_core_never_imports_the_report(path: Path) -> None:
    imports = imported_modules(path, top_level_only=False)
    assert not [m for m in imports if m.startswith("pulsetrain.report")]


def test_no_report_module_outgrows_600_lines() -> None:
    for path in PACKAGE.glob("*.py"):
        assert len(path.read_text().splitlines()) <= 600, path.name


def test_every_registered_part_has_its_own_key() -> None:
    keys = [part.key for part in PARTS]
    assert len(keys) == len(set(keys))


def test_every_configurable_study_has_a_module() -> None:
    assert tuple(STUDIES) == ALL_STUDIES


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda path: path.name)
def test_report_modules_load_no_heavy_layer_at_import(path: Path) -> None:
    """The model, RTL, cosim and synthesis load in the worker that runs a run, not in the process that
    draws the progress display: the report imports them inside its run functions only."""
    heavy = ("pulsetrain.model", "pulsetrain.rtl", "pulsetrain.cosim", "pulsetrain.synth")
    imports = imported_modules(path, top_level_only=True)
    assert not [m for m in imports if m.startswith(heavy)]
