"""Helpers for the scenario tests: a world, and scenario files written to a temporary dir."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

HERE = Path(__file__).parent
FILES = HERE / "files"
EXAMPLES = HERE.parent.parent / "scenarios"

WORLD = """\
world:
  accounts:
    - {phone: "491110000001", name: Alice}
    - {phone: "491110000002", name: Bob}
    - {phone: "491119999999", name: Echo}
"""

WriteScenario = Callable[..., Path]

STEP_KEYS = (
    "add_participants, block, broadcast, clear_faults, code_register, code_request,"
    " create_group, demote, expect, expect_none, fault, iq, leave_group, login, logout, paused,"
    " presence, promote, raw, read, receipt, release, remove_participants, restart, send,"
    " server, set_picture, set_privacy, set_status, set_subject, sync_contacts, typing,"
    " unblock, unordered, wait"
)
"""Every step key, as messages about unknown steps list them."""
EXPECTATION_KINDS = (
    "message, receipt, ack, presence, chatstate, notification, iq, node, group, contacts,"
    " picture, status"
)
"""Every expectation kind, as messages about a missing one list them."""


def scenario_text(
    steps: str, *, bot: str = "tests.scenario.bots.broken:shouting", head: str = ""
) -> str:
    """A whole scenario file around ``steps`` (YAML list items, any indentation)."""
    bot_part = f"bot:\n  account: echo\n  python: {bot}\n" if bot else ""
    return (
        f"name: test scenario\n{WORLD}{bot_part}{textwrap.dedent(head)}steps:\n"
        + textwrap.indent(textwrap.dedent(steps).strip("\n"), "  ")
        + "\n"
    )


@pytest.fixture
def write(tmp_path: Path) -> WriteScenario:
    """``write(steps, bot=..., head=..., name=...)``: a scenario file in ``tmp_path``."""

    def write_scenario(
        steps: str, *, name: str = "scenario.yaml", raw: bool = False, **kwargs: str
    ) -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(steps) if raw else scenario_text(steps, **kwargs), "utf-8")
        return path

    return write_scenario
