"""Import rules inside the package (ARCHITECTURE.md "one public surface per subpackage").

* No import hides inside a function to dodge a cycle: modules import at their top, and
  the few deliberate lazy imports (start-up time of the CLI and the pytest plugin) are
  listed here with their reason.
* ``simulator.X._private`` is imported only from inside ``simulator.X``.
* The server core names no flow: flows reach it through the router's hooks.
* No two modules import each other at their top: such a pair imports only in one order
  (the first one's names defined before its import of the second), so importing a module
  would depend on which other module happened to be imported first.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import simulator

PACKAGE = Path(simulator.__file__).parent

LAZY_BY_DESIGN: dict[str, str] = {
    # Every module of the CLI: `simulator --help` and `simulator decode` must not pay for
    # the scenario runner (pydantic models) or the server they do not use.
    "simulator/cli/": "start-up time of the command line",
    # Loaded by every pytest run through its entry point, in projects that may never use
    # a scenario or a fixture of ours.
    "simulator/pytest_plugin.py": "start-up time of every pytest run",
    # Every server imports it (the HTTPS layer); cryptography's x509, slower to import
    # than the rest of a server, only when a certificate is made (`serve --tls`).
    "simulator/server/tls.py": "start-up time of every server",
    # h11 when the first HTTP request is made or served: a scenario run (and most servers
    # and clients) never speaks HTTP, and every `simulator run` imported h11 for nothing.
    "simulator/server/http.py": "start-up time of every server",
    "simulator/client/_http.py": "start-up time of every client",
    # Imported by the CLI at start-up (``simulator routes``); reads client and server.
    "simulator/catalog.py": "start-up time of the command line",
    # The scenario half of the restructuring is on its own branch; this one import (the
    # loader checks the file just written) is left to it.
    "simulator/scenario/record.py": "scenario restructuring in flight",
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def function_level_imports(source: str) -> list[tuple[int, str]]:
    """``(line, module)`` of every import inside a function body."""
    found: list[tuple[int, str]] = []
    for func in ast.walk(ast.parse(source)):
        if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(func):
            if isinstance(node, ast.ImportFrom):
                found.append((node.lineno, node.module or "."))
            elif isinstance(node, ast.Import):
                found += [(node.lineno, alias.name) for alias in node.names]
    return found


def imported_names(source: str) -> list[tuple[int, str]]:
    """``(line, dotted name)`` of every module or name an import statement reaches."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
    return found


def top_level_imports(source: str, modules: set[str]) -> set[str]:
    """The modules of ``modules`` that the top of ``source`` imports (``from pkg import
    sub`` counts as importing ``pkg.sub`` alone when every name is a submodule)."""
    found: set[str] = set()
    for node in ast.parse(source).body:
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            subs = {f"{node.module}.{alias.name}" for alias in node.names} & modules
            found |= subs if len(subs) == len(node.names) else subs | {node.module}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found & modules


def private_owner(name: str) -> str | None:
    """The package that owns a private module in ``name`` (``simulator.client`` for
    ``simulator.client._http.HttpError``), or ``None`` if ``name`` reaches none."""
    parts = name.split(".")
    if parts[0] != "simulator":
        return None
    for i, part in enumerate(parts[1:], start=1):
        if part.startswith("_") and not part.startswith("__"):
            return ".".join(parts[:i])
    return None


def test_no_import_hides_inside_a_function() -> None:
    found = []
    for path in _sources():
        rel = path.relative_to(PACKAGE.parent).as_posix()
        if any(rel.startswith(prefix) for prefix in LAZY_BY_DESIGN):
            continue
        found += [
            f"{rel}:{line}: {module}"
            for line, module in function_level_imports(path.read_text(encoding="utf-8"))
        ]
    assert found == []


def test_private_modules_are_imported_only_inside_their_package() -> None:
    found = []
    for path in _sources():
        importer = _module_name(path)
        for line, name in imported_names(path.read_text(encoding="utf-8")):
            owner = private_owner(name)
            if owner is not None and importer != owner and not importer.startswith(owner + "."):
                found.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {name}")
    assert found == []


def test_no_two_modules_import_each_other_at_their_top() -> None:
    sources = {_module_name(path): path for path in _sources()}
    imports = {
        name: top_level_imports(path.read_text(encoding="utf-8"), set(sources))
        for name, path in sources.items()
    }
    pairs = [
        f"{a} <-> {b}" for a, found in imports.items() for b in found if a < b and a in imports[b]
    ]
    assert pairs == []


@pytest.mark.parametrize("core", ["server.py", "http.py", "session.py", "context.py", "router.py"])
def test_the_server_core_names_no_single_flow(core: str) -> None:
    source = (PACKAGE / "server" / core).read_text(encoding="utf-8")
    named = [
        name
        for _line, name in imported_names(source)
        if name.startswith("simulator.server.flows.")
        and name != "simulator.server.flows.default_router"
    ]
    assert named == []


def test_the_checks_see_what_they_forbid() -> None:
    source = "def f():\n    from simulator.server.flows.messages import incoming_copy\n"
    assert function_level_imports(source) == [(2, "simulator.server.flows.messages")]
    assert private_owner("simulator.client._events_account.parse_ib") == "simulator.client"
    assert private_owner("simulator.client.events") is None
    assert private_owner("simulator.client.__init__") is None
    modules = {"simulator.client", "simulator.client.events", "simulator.client._events_groups"}
    tangled = "from simulator.client.events import Event\nfrom simulator.client import events\n"
    assert top_level_imports(tangled, modules) == {"simulator.client.events"}
    assert top_level_imports("from simulator.client import Client\n", modules) == {
        "simulator.client"
    }
