"""How the scenario package imports: at the top of its modules, through public surfaces.

An import inside a function hides a dependency (often one that dodges a cycle), and an
import of another package's private module (``simulator.client._events_account``) ties
the scenario code to what that package may change at will.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import simulator.scenario

PACKAGE = Path(simulator.scenario.__file__).parent
MODULES = sorted(PACKAGE.glob("*.py"))


def imports(tree: ast.AST) -> list[tuple[ast.AST, str]]:
    """Every import of ``tree`` with the module it names."""
    found: list[tuple[ast.AST, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.extend((node, f"{node.module}.{alias.name}") for alias in node.names)
    return found


def _private(part: str) -> bool:
    return part.startswith("_") and not part.endswith("__")


def inside_functions(tree: ast.AST) -> list[int]:
    lines: list[int] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            lines.extend(
                inner.lineno
                for inner in ast.walk(node)
                if isinstance(inner, ast.Import | ast.ImportFrom)
            )
    return lines


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_no_import_hides_inside_a_function(path: Path) -> None:
    tree = ast.parse(path.read_text("utf-8"))
    assert inside_functions(tree) == [], f"{path.name}: imports inside functions"


def private_imports(tree: ast.AST) -> list[str]:
    """The private modules (or names) of other simulator packages that ``tree`` imports."""
    return [
        name
        for _node, name in imports(tree)
        if name.startswith("simulator.")
        and not name.startswith("simulator.scenario.")
        and any(_private(part) for part in name.split(".")[1:])
    ]


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_no_private_module_of_another_package(path: Path) -> None:
    assert private_imports(ast.parse(path.read_text("utf-8"))) == []


def test_the_checks_see_what_they_look_for() -> None:
    tree = ast.parse(
        "def f():\n    from simulator.scenario import loader\n"
        "from simulator.client._events_account import parse_ib\n"
    )
    assert inside_functions(tree) == [2]
    assert private_imports(tree) == ["simulator.client._events_account.parse_ib"]
