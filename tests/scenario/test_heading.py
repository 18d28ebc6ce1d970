"""A scenario's name read without loading the file: the loader's name, or None."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.scenario import check_file, collect_paths
from simulator.scenario.heading import read_name
from simulator.yamlfile import locate, parse_yaml
from tests.scenario.conftest import EXAMPLES, FILES

PARSERS = [pytest.param(True, id="c-parser"), pytest.param(False, id="pure-parser")]


def loaded_name(text: str) -> tuple[str, int] | None:
    """What loading the whole text says: the name (a plain ``str``) and its line."""
    data, problems = parse_yaml(text, "f.yaml")
    if problems or not isinstance(data, dict) or "name" not in data:
        return None
    name = data["name"]
    if type(name) is not str or not name:
        return None
    line = locate(data, ("name",))[0]
    assert line is not None
    return name, line


@pytest.mark.parametrize("c_parser", PARSERS)
@pytest.mark.parametrize(
    "path", [*collect_paths([EXAMPLES]), *collect_paths([FILES])], ids=lambda p: p.name
)
def test_the_name_of_every_example_is_the_loaders(path: Path, c_parser: bool) -> None:
    text = path.read_text("utf-8")
    assert read_name(text, c_parser=c_parser) == loaded_name(text)
    scenario, _problems = check_file(path)
    if scenario is not None:
        assert read_name(text, c_parser=c_parser) == (scenario.name, scenario.line)


@pytest.mark.parametrize("c_parser", PARSERS)
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: echo number 0\nsteps: []\n", ("echo number 0", 1)),
        ("# a comment\n\nname:   spaced out   # and a comment\n", ("spaced out", 3)),
        ("description: d\nname: 'it''s quoted'\n", ("it's quoted", 2)),
        ('name: "\\u00e9t\\u00e9 \\"hot\\""\n', ('été "hot"', 1)),
        ("name: a plain\n  scalar on two lines\nsteps: []\n", ("a plain scalar on two lines", 1)),
        (
            "world: {accounts: [{name: x, phone: '1'}], name: inner}\n"
            "steps:\n  - name: not this one\nname: the top one\n",
            ("the top one", 4),
        ),
        ("{name: in a flow mapping, steps: []}\n", ("in a flow mapping", 1)),
        ("name: yes\n", ("yes", 1)),  # YAML 1.2: a string
        ("---\nname: after a document start\n", ("after a document start", 2)),
        ("&top\nname: in an anchored mapping\n", ("in an anchored mapping", 2)),
    ],
)
def test_names_read_from_the_first_lines(
    text: str, expected: tuple[str, int], c_parser: bool
) -> None:
    assert read_name(text, c_parser=c_parser) == expected
    assert loaded_name(text) == expected


@pytest.mark.parametrize("c_parser", PARSERS)
@pytest.mark.parametrize(
    "text",
    [
        "",
        "# nothing\n",
        "- a list\n",
        "steps: []\n",
        "name:\n",
        'name: ""\n',
        "name: 42\n",
        "name: 1.5\n",
        "name: true\n",
        "name: null\n",
        "name: 2015-01-01\n",
        "name: !!str 42\n",
        "name: &anchor text\n",
        "name: |\n  a block\n",
        "name: >\n  folded\n",
        "name: [a, list]\n",
        "name: {a: map}\n",
        "%YAML 1.1\n---\nname: yes\n",
        "name: [unclosed\nsteps: []\n",
        "world: {unclosed\nname: x\n",
        "? [complex, key]\n: value\nname: x\n",
    ],
)
def test_what_only_loading_can_tell_is_none(text: str, c_parser: bool) -> None:
    assert read_name(text, c_parser=c_parser) is None


def test_a_name_found_in_a_broken_file_is_the_loaders_first_name() -> None:
    """Past the name, nothing is read: the loader reports what is wrong when the item runs."""
    text = "name: first\nsteps: [unclosed\nname: second\n"
    assert read_name(text) == ("first", 1)
    assert parse_yaml(text, "f.yaml")[1]
