"""Plan steps are data: what a user's or the service's action does is a record
(``plan.ClientOp`` / ``plan.ServiceOp``) that ``actions.py`` carries out, never a function
a step made while it was planned."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable
from pathlib import Path

import pydantic

from simulator.scenario import load_scenario, plan
from tests.scenario.conftest import EXAMPLES, FILES, WriteScenario

ACTIONS = """
- login: alice
- fault: {drop: message to alice, as: lost}
- fault: {hold: message to bob, as: held}
- release: held
- clear_faults: lost
- fault: {expire: bob}
- fault: {suspend: alice, as: ban}
- clear_faults: all
"""


def _plans(write: WriteScenario) -> list[Path]:
    extra = write(ACTIONS, bot="")
    return [FILES / "flows.yaml", *sorted(EXAMPLES.glob("*.yaml")), extra]


def _callables(value: object, path: str) -> list[str]:
    """Every place in ``value`` (a plan step, recursively) holding a function."""
    if isinstance(value, pydantic.BaseModel | str | bytes | int | float | bool | type(None)):
        return []
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        found: list[str] = []
        for field in dataclasses.fields(value):
            found += _callables(getattr(value, field.name), f"{path}.{field.name}")
        return found
    if isinstance(value, tuple | list | frozenset):
        return [f for i, item in enumerate(value) for f in _callables(item, f"{path}[{i}]")]
    return [path] if callable(value) else []


def test_every_operation_of_the_plan_is_data_and_is_used(write: WriteScenario) -> None:
    operations = {
        *typing.get_args(plan.ClientOp),
        *typing.get_args(plan.ServiceOp),
    }
    used: set[type] = set()
    for path in _plans(write):
        scenario = load_scenario(path)
        again = load_scenario(path)
        assert scenario.steps == again.steps, path  # records compare by value
        for index, step in enumerate(scenario.steps):
            assert _callables(step, f"{path.name}:steps[{index}]") == []
            if isinstance(step, plan.UserAction | plan.ServerAction):
                used.add(type(step.action))
    assert used == operations, operations - used


@dataclasses.dataclass(frozen=True)
class _OldStyle:
    """A step as ``UserAction`` was: its action a function made by the step's plan."""

    where: plan.Where
    actions: tuple[Callable[[], None], ...]


def test_the_check_sees_a_function_in_a_step() -> None:
    where = plan.Where(path="x.yaml", line=1, step="steps[0]")
    party = plan.Party(label="alice", phone="1", jid="1@s.whatsapp.net", password="")
    assert _callables(plan.Login(where=where, party=party), "s") == []

    def act() -> None: ...

    assert _callables(_OldStyle(where, (act,)), "s") == ["s.actions[0]"]
