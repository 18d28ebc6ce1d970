"""Closed vocabularies: no text field of a scenario or world file is a bare ``str``.

Every value that selects behaviour is a ``Literal`` (or a :func:`~simulator.vocabulary.choice`
for matched values); every other text field says what it is with
:class:`~simulator.vocabulary.FreeText`. A new ``mode: str`` field fails here."""

from __future__ import annotations

import json
import typing
from typing import Any

import pydantic
import pytest

from simulator.scenario import ScenarioFile, validate_files
from simulator.scenario.document import STEP_TYPES
from simulator.scenario.model import StepWrapper
from simulator.vocabulary import Choices, FreeText
from simulator.world import World
from tests.scenario.conftest import WriteScenario


def models_in(annotation: Any, seen: dict[type[pydantic.BaseModel], None]) -> None:
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        if annotation not in seen:
            seen[annotation] = None
            for info in annotation.model_fields.values():
                models_in(info.annotation, seen)
        return
    for arg in typing.get_args(annotation):
        models_in(arg, seen)


def bare_str(annotation: Any, metadata: list[Any]) -> bool:
    """Whether ``annotation`` holds a ``str`` that is neither marked nor a Literal."""
    if any(isinstance(m, FreeText | Choices) for m in metadata):
        return False
    if annotation is str:
        return True
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return False
    if origin is typing.Annotated:
        inner, *marks = typing.get_args(annotation)
        return bare_str(inner, marks)
    return any(bare_str(arg, []) for arg in typing.get_args(annotation))


def all_models() -> list[type[pydantic.BaseModel]]:
    seen: dict[type[pydantic.BaseModel], None] = {}
    # The file model's steps are wrappers made when a file first uses them: its annotation
    # names their base only; every wrapper is walked from STEP_TYPES.
    models_in(ScenarioFile, seen)
    del seen[StepWrapper]
    for wrapper in STEP_TYPES:
        models_in(wrapper, seen)
    models_in(World, seen)
    return list(seen)


def test_the_walk_reaches_every_step_and_kind() -> None:
    names = {m.__name__ for m in all_models()}
    assert {"SendSpec", "MessageMatch", "AccountSpec", "DisconnectAction", "OptionsSpec"} <= names
    assert len(names) > 60


def test_the_check_finds_a_bare_str() -> None:
    class Probe(pydantic.BaseModel):
        mode: str | None = None
        tags: list[str] = []

    assert [n for n, f in Probe.model_fields.items() if bare_str(f.annotation, f.metadata)] == [
        "mode",
        "tags",
    ]


@pytest.mark.parametrize("model", all_models(), ids=lambda m: m.__name__)
def test_no_text_field_is_a_bare_str(model: type[pydantic.BaseModel]) -> None:
    bare = [
        name
        for name, info in model.model_fields.items()
        if bare_str(info.annotation, list(info.metadata))
    ]
    assert bare == [], (
        f"{model.__name__}: give these fields a Literal, a vocabulary.choice(...) or a"
        " FreeText type (Text, Id, Value, NodeText, PathText, Name)"
    )


def test_a_typo_in_a_matched_type_is_a_problem_with_a_suggestion(write: WriteScenario) -> None:
    path = write(
        """
        - login: alice
        - expect_none: {to: alice, receipt: {type: raed}}
        - expect: {to: alice, receipt: {type: '/^(read|played)$/'}, optional: true}
        - expect: {to: alice, iq: {type: "{{kind}}"}, optional: true}
        - server: {disconnect: {user: alice, reason: system-shutdwn}}
        - expect: {to: alice, notification: {type: contact}, optional: true}
        """
    )
    assert [str(p) for p in validate_files([path])] == [
        f"{path}:12: at steps[1].expect_none.receipt.type: 'raed' is not one of delivery,"
        " read, played, retry (did you mean 'read'?)",
        f"{path}:15: at steps[4].server.disconnect.reason: 'system-shutdwn' is not one of"
        " system-shutdown, ack, xml-not-well-formed, conflict (did you mean 'system-shutdown'?)",
        f"{path}:16: at steps[5].expect.notification.type: 'contact' is not one of account,"
        " contacts, encrypt, features, picture, status, subject, w:gp2, web (did you mean"
        " 'contacts'?)",
    ]


def test_the_schema_says_the_same_about_matched_types() -> None:
    from tests.scenario.test_schema import ACCOUNTS, schema_errors

    def steps(*items: str) -> dict[str, Any]:
        return {
            "name": "x",
            "world": ACCOUNTS,
            "steps": [{"expect": {"to": "alice", **json.loads(i)}} for i in items],
        }

    assert (
        schema_errors(
            steps(
                '{"receipt": {"type": "read"}}',
                '{"receipt": {"type": "/re/i"}}',
                '{"receipt": {"type": "{{t}}"}}',
            )
        )
        == []
    )
    assert schema_errors(steps('{"receipt": {"type": "raed"}}')) != []
