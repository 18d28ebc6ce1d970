"""The published JSON Schema is the loader's truth: every documented example and short
form validates with the loader AND with a standard JSON Schema validator against the
committed ``scenarios/scenario.schema.json``; what the loader refuses, the schema refuses."""

from __future__ import annotations

import datetime
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from simulator.scenario import ScenarioFile, check_file, collect_paths, scenario_json_schema
from simulator.scenario.document import field_docstring
from simulator.world import World
from simulator.yamlfile import load_yaml, plain
from tests.scenario.conftest import EXAMPLES
from tests.scenario.test_vocabulary import all_models

ROOT = EXAMPLES.parent
SCHEMA = json.loads((EXAMPLES / "scenario.schema.json").read_text("utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def as_json(data: Any) -> Any:
    """YAML data as an editor hands it to a JSON Schema validator (dates as text)."""
    return json.loads(
        json.dumps(
            plain(data),
            default=lambda v: v.isoformat() if isinstance(v, datetime.date) else str(v),
        )
    )


def schema_errors(data: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in VALIDATOR.iter_errors(as_json(data))
    ]


def yaml_blocks() -> list[tuple[str, str]]:
    """Every ```yaml block of the READMEs, with where it is."""
    found = []
    for doc in (ROOT / "README.md", EXAMPLES / "README.md"):
        text = doc.read_text("utf-8")
        for match in re.finditer(r"```yaml\n(.*?)```", text, re.S):
            line = text[: match.start()].count("\n") + 1
            found.append((f"{doc.relative_to(ROOT)}:{line}", match.group(1)))
    return found


BLOCKS = yaml_blocks()
FILES = collect_paths([EXAMPLES])
ACCOUNTS = {
    "accounts": [
        {"phone": f"49111000000{i}", "name": name}
        for i, name in enumerate(["Alice", "Bob", "Carol", "Nora", "Bot"], start=1)
    ]
}


def test_the_examples_are_found() -> None:
    assert len(BLOCKS) >= 7
    assert len(FILES) >= 8


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_scenario_file_validates_with_the_loader_and_the_schema(path: Path) -> None:
    assert check_file(path)[1] == []
    assert schema_errors(load_yaml(path.read_text("utf-8"), str(path))) == []


@pytest.mark.parametrize(("where", "text"), BLOCKS, ids=[w for w, _ in BLOCKS])
def test_every_readme_example_validates_with_the_loader_and_the_schema(
    where: str, text: str, tmp_path: Path
) -> None:
    data = load_yaml(text, where)
    if isinstance(data, list):  # a list of steps: put them in a file around a world
        data = {"name": where, "world": ACCOUNTS, "steps": plain(data)}
        ScenarioFile.model_validate(data)
    else:
        path = tmp_path / "example.yaml"
        path.write_text(text, "utf-8")
        (tmp_path / "bots").mkdir()
        for bot in (EXAMPLES / "bots").glob("*.py"):
            (tmp_path / "bots" / bot.name).write_text(bot.read_text("utf-8"), "utf-8")
        # The README's own bot (a module imported once per process: the same code as
        # test_readme's, whichever test imports it first).
        readme = (ROOT / "README.md").read_text("utf-8")
        greeter = re.findall(r"```python\n(.*?)```", readme, re.S)[0]
        (tmp_path / "bots" / "greeter.py").write_text(greeter, "utf-8")
        problems = check_file(path)[1]
        assert [str(p) for p in problems] == []
    assert schema_errors(data) == []


SHORT_FORMS = {
    "statuses short form": "world: {accounts: [{phone: '491110000001', name: Alice}],"
    " statuses: {alice: At the gym}}",
    "statuses long form": "world: {accounts: [{phone: '491110000001', name: Alice}],"
    " statuses: {alice: {text: At the gym, t: 1400000000}}}",
    "unquoted phones": "world: {accounts: [{phone: 491110000001, name: Alice}],"
    " contacts: {alice: 491110000002}, blocked: {491110000001: [bob]}}",
    "one participant": "world: {accounts: [{phone: '491110000001', name: Alice}],"
    " groups: [{name: team, creator: alice, participants: alice, admins: alice}]}",
    "world file": "world: worlds/team.world.yaml",
    "picture file": "world: {accounts: [{phone: '491110000001', name: Alice}],"
    " pictures: {alice: media/logo.png}}",
}
SHORT_STEPS = [
    "- login: alice",
    "- logout: alice",
    "- wait: 2h",
    "- wait: 90",
    "- server: {ping: bot}",
    "- unordered: [{to: alice, receipt: {from: bot}}]",
    "- expect: {to: alice, message: {from: bot, t: 1420070400}}",
    "- expect: {to: alice, message: {from: bot, t: '1420070400'}}",
    "- expect: {to: alice, node: '<message/>', within: 1m}",
    "- create_group: {from: alice, subject: Lunch, participants: bot, as: lunch}",
]


@pytest.mark.parametrize("head", list(SHORT_FORMS.values()), ids=list(SHORT_FORMS))
def test_documented_world_short_forms_validate_with_both(head: str) -> None:
    data = load_yaml(f"name: x\n{head}\nsteps: [{{wait: 1s}}]\n", "short.yaml")
    world = plain(data)["world"]
    if isinstance(world, dict):
        World.model_validate(world, context={"path": str(EXAMPLES / "x.yaml")})
    assert schema_errors(data) == []


@pytest.mark.parametrize("step", SHORT_STEPS)
def test_documented_step_short_forms_validate_with_both(step: str) -> None:
    data = {"name": "x", "world": ACCOUNTS, "steps": plain(load_yaml(step, "step.yaml"))}
    ScenarioFile.model_validate(data)
    assert schema_errors(data) == []


REFUSED = [
    "options: {strict: [mesage]}\nsteps: [{wait: 1s}]",
    "steps: [{send: {from: alice, to: bot, txet: hi}}]",
    "steps: [{wait: soon}]",
    "steps: [{expect: {to: alice, message: {}, optional: maybe}}]",
    "steps: []",
]


@pytest.mark.parametrize("tail", REFUSED)
def test_what_the_loader_refuses_the_schema_refuses(tail: str) -> None:
    data = load_yaml(f"name: x\nworld: {json.dumps(ACCOUNTS)}\n{tail}\n", "refused.yaml")
    with pytest.raises(ValueError, match="validation error"):
        ScenarioFile.model_validate(plain(data))
    assert schema_errors(data) != []


@pytest.mark.parametrize("path", sorted((EXAMPLES / "worlds").glob("*.world.yaml")))
def test_every_world_file_validates_with_the_loader_and_the_schema(path: Path) -> None:
    data = load_yaml(path.read_text("utf-8"), str(path))
    World.model_validate(plain(data), context={"path": str(path)})
    world_schema = {"$defs": SCHEMA["$defs"], "$ref": "#/$defs/World"}
    errors = list(jsonschema.Draft202012Validator(world_schema).iter_errors(as_json(data)))
    assert [e.message for e in errors] == []


def test_every_field_docstring_is_its_description_in_the_schema() -> None:
    # Descriptions come from field docstrings when the schema is made (not from pydantic's
    # use_attribute_docstrings at import): every documented field of every model, inherited
    # and aliased ones included, must still show its docstring.
    schema = scenario_json_schema()
    checked = 0
    for model in all_models():
        shown = schema if model is ScenarioFile else schema["$defs"][model.__name__]
        for name, info in model.model_fields.items():
            doc = field_docstring(model, name)
            if doc is None or info.description is not None:
                continue
            assert shown["properties"][info.alias or name]["description"] == doc, (model, name)
            checked += 1
    assert checked > 150
    assert (
        schema["$defs"]["SendSpec"]["properties"]["from"]["description"] == "The sender (a user)."
    )
