"""The public surface: every name a package exports exists (ruff's RUF022 keeps them sorted)."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

PACKAGES = [
    "simulator",
    "simulator.wire",
    "simulator.server",
    "simulator.transport",
    "simulator.client",
    "simulator.scenario",
    "simulator.testing",
    "simulator.errors",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_every_exported_name_exists(name: str) -> None:
    module = importlib.import_module(name)
    missing = [attr for attr in module.__all__ if not hasattr(module, attr)]
    assert missing == []


def test_importing_simulator_stays_cheap() -> None:
    code = (
        "import sys, simulator; print(sorted(m for m in ('trio', 'pydantic') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
