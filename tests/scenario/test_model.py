"""The file models: structured validation errors, short forms, the union of steps and the schema."""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

import pydantic
import pytest

from simulator.scenario import ScenarioFile, scenario_json_schema
from simulator.scenario.document import STEP_TYPES, StepItem
from simulator.scenario.model import StepSpec
from simulator.scenario.steps import LoginSpec, WaitSpec
from tests.scenario.conftest import EXPECTATION_KINDS, STEP_KEYS

WORLD = {"accounts": [{"phone": "491110000001", "name": "Alice"}]}


def errors(data: dict[str, Any]) -> list[dict[str, Any]]:
    with pytest.raises(pydantic.ValidationError) as exc_info:
        ScenarioFile.model_validate(data)
    return [
        {"loc": e["loc"], "type": e["type"], "msg": e["msg"]}
        for e in exc_info.value.errors(include_url=False)
    ]


def test_a_valid_file_with_short_forms() -> None:
    model = ScenarioFile.model_validate(
        {
            "$schema": "scenario.schema.json",
            "name": "n",
            "world": WORLD,
            "steps": [
                {"login": "alice"},
                {"wait": "2h"},
                {"wait": 3},
                {"expect": {"to": "alice", "node": "<x/>"}},
            ],
        }
    )
    specs = [wrapper.spec() for wrapper in model.steps]
    assert specs[0] == LoginSpec(user="alice")
    assert specs[1] == WaitSpec(duration=7200.0)
    assert specs[2] == WaitSpec(duration=3.0)
    assert model.world.accounts[0].phone == "491110000001"  # type: ignore[union-attr]


def test_world_as_a_path() -> None:
    model = ScenarioFile.model_validate(
        {"name": "n", "world": "shared.world.yaml", "steps": [{"wait": 1}]}
    )
    assert model.world.file == "shared.world.yaml"  # type: ignore[union-attr]


def test_structured_errors() -> None:
    assert errors(
        {
            "name": "",
            "world": WORLD,
            "colour": "red",
            "steps": [
                {"wait": "soon"},
                {"sned": {}},
                {"send": {"from": "alice", "to": "bot"}},
                {"expect": {"to": "alice", "message": {"body": 1}}},
                {"login": "alice", "logout": "alice"},
            ],
        }
    ) == [
        {
            "loc": ("name",),
            "type": "string_too_short",
            "msg": "String should have at least 1 character",
        },
        {
            "loc": ("steps", 0, "wait", "wait", "duration"),
            "type": "duration",
            "msg": "a duration is a number of seconds or a number with a unit: 500ms, 5s, 2m, 1h,"
            " 1d;"
            " got 'soon'",
        },
        {
            "loc": ("steps", 1),
            "type": "step_key",
            "msg": f"unknown step 'sned' (did you mean 'send'?); the steps are: {STEP_KEYS}",
        },
        {
            "loc": ("steps", 2, "send", "send"),
            "type": "send_payload",
            "msg": "a send needs exactly one of: text, image, audio, video, location, vcard; got"
            " none",
        },
        {
            "loc": ("steps", 3, "expect", "expect", "message", "body"),
            "type": "string_type",
            "msg": "Input should be a valid string",
        },
        {
            "loc": ("steps", 4),
            "type": "step_shape",
            "msg": "a step is a mapping with one key, like `- wait: 2s`; got keys login, logout",
        },
        {"loc": ("colour",), "type": "extra_forbidden", "msg": "Extra inputs are not permitted"},
    ]


def test_one_of_errors() -> None:
    assert errors(
        {
            "name": "n",
            "world": WORLD,
            "steps": [
                {"expect": {"to": "alice"}},
                {"expect": {"to": "alice", "message": {}, "receipt": {}}},
                {"server": {}},
            ],
        }
    ) == [
        {
            "loc": ("steps", 0, "expect", "expect"),
            "type": "one_of",
            "msg": f"an expectation needs exactly one of: {EXPECTATION_KINDS}; got none",
        },
        {
            "loc": ("steps", 1, "expect", "expect"),
            "type": "one_of",
            "msg": f"an expectation needs exactly one of: {EXPECTATION_KINDS};"
            " got message and receipt",
        },
        {
            "loc": ("steps", 2, "server", "server"),
            "type": "one_of",
            "msg": "a server step needs exactly one of: ping, deliver, push, contacts, call,"
            " payment, dirty, web, features, disconnect, conflict, kill; got none",
        },
    ]


def test_bot_runner_is_python_or_command() -> None:
    assert errors(
        {
            "name": "n",
            "world": WORLD,
            "bot": {"account": "x", "python": "a:b", "command": ["c"]},
            "steps": [{"wait": 1}],
        }
    ) == [{"loc": ("bot",), "type": "bot_runner", "msg": "give either python or command, not both"}]


def test_models_are_frozen() -> None:
    spec = LoginSpec(user="alice")
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        spec.user = "bob"


def test_every_step_of_the_union_is_told_apart_by_its_own_key() -> None:
    # The static union tags each wrapper by hand: a tag that is not the wrapper's key (its
    # one field, the spec's KEY) would send that step to the wrong model.
    tags = [
        next(m.tag for m in typing.get_args(member)[1:] if isinstance(m, pydantic.Tag))
        for member in typing.get_args(typing.get_args(StepItem)[0])
    ]
    keys = [wrapper.KEY for wrapper in STEP_TYPES]
    specs = [wrapper.model_fields[wrapper.KEY].annotation for wrapper in STEP_TYPES]
    assert tags == keys
    assert [
        spec.KEY for spec in specs if isinstance(spec, type) and issubclass(spec, StepSpec)
    ] == keys
    assert sorted(keys) == STEP_KEYS.split(", ")


def test_schema_lists_every_step_with_its_short_form() -> None:
    schema = scenario_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    steps = [
        item["$ref"].rsplit("/", 1)[1] for item in schema["properties"]["steps"]["items"]["oneOf"]
    ]
    assert steps == [
        "LoginStep",
        "LogoutStep",
        "SendStep",
        "ReceiptStep",
        "ReadStep",
        "TypingStep",
        "PausedStep",
        "PresenceStep",
        "IqStep",
        "RawStep",
        "ServerStep",
        "WaitStep",
        "ExpectStep",
        "ExpectNoneStep",
        "UnorderedStep",
        "CreateGroupStep",
        "AddParticipantsStep",
        "RemoveParticipantsStep",
        "PromoteStep",
        "DemoteStep",
        "SetSubjectStep",
        "LeaveGroupStep",
        "SyncContactsStep",
        "BlockStep",
        "UnblockStep",
        "SetPrivacyStep",
        "SetStatusStep",
        "SetPictureStep",
        "BroadcastStep",
        "CodeRequestStep",
        "CodeRegisterStep",
        "FaultStep",
        "ReleaseStep",
        "ClearFaultsStep",
        "RestartStep",
    ]
    assert schema["$defs"]["LoginStep"]["properties"]["login"] == {
        "anyOf": [{"type": "string"}, {"type": "integer"}, {"$ref": "#/$defs/LoginSpec"}]
    }
    wait = schema["$defs"]["WaitStep"]["properties"]["wait"]["anyOf"]
    assert wait[0]["type"] == "string" and "pattern" in wait[0]
    assert wait[1]["type"] == "number"


def _outcome(model: type[pydantic.BaseModel], data: object) -> object:
    from simulator.yamlfile import validate_yaml

    # The problems as the loader words them (a misspelt key gets its "did you mean").
    made, problems = validate_yaml(model, data, "x.yaml", context={"path": "x.yaml"})
    if made is None:
        return [str(problem) for problem in problems]
    return made.model_dump(mode="json", by_alias=True)


def test_the_file_model_and_the_schema_model_take_the_same_steps() -> None:
    # ScenarioFile makes a step's wrapper when a file first uses the step; the JSON Schema is
    # made from a twin holding every wrapper. Both must take and refuse the same files.
    from simulator.scenario.document import _whole_file
    from simulator.yamlfile import load_yaml, plain

    whole = _whole_file()
    assert whole is not ScenarioFile
    here = Path(__file__).resolve().parent
    files = sorted(
        [*(here.parents[1] / "scenarios").glob("*.yaml"), *(here / "files").glob("*.yaml")]
    )
    documents: list[object] = [plain(load_yaml(p.read_text("utf-8"), str(p))) for p in files]
    assert len(documents) >= 10
    steps = [{"login": "alice"}, {"wait": "2h"}, {"expect": {"to": "alice", "node": "<x/>"}}]
    head = {"name": "n", "world": WORLD}
    documents += [
        {**head, "steps": steps},
        {**head, "steps": [{"nope": 1}]},
        {**head, "steps": [{"expect": {"to": "alice", "mesage": {}}}, {"sendd": {}}]},
        {**head, "steps": [{"login": "alice", "wait": 2}]},
        {**head, "steps": [{"wait": "soon"}, {"fault": {"nope": 1}}, {"block": 3}]},
        {
            **head,
            "steps": [{"restart": {}}, {"clear_faults": "x"}, {"release": 5}, {"receipt": {}}],
        },
        {**head, "steps": "login"},
    ]
    for document in documents:
        assert _outcome(ScenarioFile, document) == _outcome(whole, document)
    keys = [k for d in documents if isinstance(d, dict) for s in d.get("steps", []) for k in s]
    assert sorted(set(STEP_KEYS.split(", ")) - set(keys)) == []
