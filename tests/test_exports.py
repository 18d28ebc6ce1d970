"""The public surface: every name a package exports exists (ruff's RUF022 keeps them sorted)."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

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
    "simulator.explore",
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


def _event_names(text: str) -> set[str]:
    """The event classes a listing names (``event `GetMessage```, or without backticks)."""
    return set(re.findall(r"\bevent `?([A-Z][A-Za-z]+)`?", text))


def test_every_event_class_named_in_the_docs_imports_from_simulator_client_events() -> None:
    from simulator.client import events

    root = Path(__file__).resolve().parent.parent
    documented = _event_names((root / "docs" / "flows.md").read_text("utf-8"))
    routes = subprocess.run(
        [sys.executable, "-m", "simulator", "routes"], capture_output=True, text=True, check=True
    ).stdout
    listed = _event_names(routes)
    assert len(documented) >= 45
    assert documented == listed
    public = set(events.__all__)
    assert sorted(documented - public) == []
    for name in documented:
        assert issubclass(getattr(events, name), events.Event), name


def test_every_event_class_of_the_client_is_public() -> None:
    from simulator.client import _events_account, _events_contacts, _events_groups, events

    for family in (events, _events_account, _events_contacts, _events_groups):
        for name, value in vars(family).items():
            if isinstance(value, type) and issubclass(value, events.Event):
                assert getattr(events, name, None) is value, name
                assert name in events.__all__, name


def test_every_error_a_user_can_meet_is_public() -> None:
    """Errors of the client library import from ``simulator.client``; the others (and
    those) from ``simulator.errors``."""
    import pkgutil

    import simulator
    import simulator.client
    import simulator.errors

    for info in pkgutil.walk_packages(simulator.__path__, "simulator."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if (
                not isinstance(value, type)
                or not issubclass(value, simulator.errors.SimulatorError)
                or value.__module__ != module.__name__
                or name.startswith("_")
            ):
                continue
            if module.__name__.startswith("simulator.client"):
                assert name in simulator.client.__all__, name
            elif module.__name__ == "simulator.errors":
                assert name in simulator.errors.__all__, name
            else:
                # raised and caught inside: the runner's failure, and a peer's bad value,
                # which the dispatcher answers on the wire (400 bad-request)
                assert (module.__name__, name) in {
                    ("simulator.scenario.journal", "Failed"),
                    ("simulator.server.parse", "BadValue"),
                }
