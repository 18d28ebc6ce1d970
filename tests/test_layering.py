"""Import rules between layers (ARCHITECTURE.md "Seams that must stay clean")."""

from __future__ import annotations

import json
import subprocess
import sys

# Runs in a fresh interpreter: this test process has trio loaded already (pytest-trio).
IMPORT_ALL_OF_WIRE = """
import importlib, json, pkgutil, sys
import simulator.wire
names = sorted(m.name for m in pkgutil.walk_packages(simulator.wire.__path__, "simulator.wire."))
for name in names:
    importlib.import_module(name)
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("trio", "simulator"))
print(json.dumps({"modules": names, "loaded": loaded}))
"""


def test_wire_never_imports_trio_or_upper_layers() -> None:
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_ALL_OF_WIRE], capture_output=True, text=True, check=True
    )
    report = json.loads(result.stdout)
    assert {"simulator.wire.codec", "simulator.wire.framing"} <= set(report["modules"])
    assert [m for m in report["loaded"] if m.split(".")[0] == "trio"] == []
    upper = [
        m
        for m in report["loaded"]
        if m.startswith("simulator.")
        and m
        not in ("simulator.errors", "simulator.lazy", "simulator.records")  # the top package's own
        and not m.startswith("simulator.wire")
    ]
    assert upper == []


LOADED_BY = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("trio", "simulator"))))
"""


def _loaded_by(module: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", LOADED_BY, module], capture_output=True, text=True, check=True
    )
    loaded: list[str] = json.loads(result.stdout)
    return loaded


def test_the_stanza_vocabulary_stands_on_the_wire_alone() -> None:
    loaded = _loaded_by("simulator.stanzas")
    assert "simulator.stanzas.message" in loaded
    allowed = ("simulator.stanzas", "simulator.wire", "simulator.errors", "simulator.jid")
    top = ("simulator", "simulator.lazy", "simulator.records")  # the top package, its helpers
    assert [m for m in loaded if m not in top and not m.startswith(allowed)] == []


def test_the_client_library_never_loads_the_server() -> None:
    loaded = _loaded_by("simulator.client")
    assert "simulator.client.core" in loaded
    assert [m for m in loaded if m.startswith("simulator.server")] == []
