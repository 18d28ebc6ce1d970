"""Reading YAML with positions: the C-parser path gives exactly what ruamel's pure reader gives.

:func:`simulator.yamlfile.parse_yaml` reads with ruamel's libyaml parser when the C extension
is installed and falls back to the pure-Python reader otherwise (and for every error, so the
messages are ruamel's own). These tests compare both paths on every YAML file of the
checkout and on documents chosen for their corners: same values, same types, same lines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from simulator import yamlfile
from simulator.yamlfile import Problem, line_of, parse_yaml

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted(
    p
    for pattern in ("*.yaml", "*.yml")
    for p in ROOT.rglob(pattern)
    if not any(part.startswith(".") for part in p.relative_to(ROOT).parts)
)

CORNERS = [
    "",
    "# only a comment\n",
    "name: x\n",
    "- a\n- [b, {c: d}]\n",
    "ints: [1, -2, +3, 0o17, 0x1F, 0b101, 1_000]\nfloats: [1.5, -0.0, 1e3, .inf, -.inf, .nan]\n",
    "bools: [true, false, True, FALSE, yes, no, on, off, y, n]\nnulls: [~, null, Null, ]\n",
    "when: 2024-01-02\nat: 2024-01-02T03:04:05Z\nversion: 1.10\nphone: 491110000001\n",
    "literal: |\n  two\n  lines\nfolded: >\n  one\n  line\nkeep: |+\n  x\n\nstrip: |-\n  y\n",
    "quoted: ['a', \"b\\tc\", 'it''s', \"\\u00e9\"]\nplain: a b c\n",
    "base: &b {x: 1, y: [1, 2]}\nuse: *b\nmerged:\n  <<: *b\n  z: 3\n",
    "seq: &s [1, 2]\nagain: *s\n",
    "? complex key\n: value\n? [1, 2]\n: seq key\n1: int key\n",
    "steps:\n  - login: alice\n\n  # comment\n  - send: {from: alice, to: bot, text: 'hi'}\n"
    "  - expect:\n      to: alice\n      message: {from: bot, body: '/^h(i)$/'}\n",
    "text: \u00e9t\u00e9 \u2603 \U0001f600\n",
    "---\nname: explicit start\n...\n",
    "a: [1, 2,\n  3]\nb: {c: 1,\n  d: 2}\n",
    "deep: " + "[" * 40 + "]" * 40 + "\n",
]

# Read by the pure reader only (the C path would drop the tags ruamel keeps).
TAGGED = [
    "tagged: !custom {a: 1}\nstr: !!str 12\nset: !!set {a, b}\nomap: !!omap [{a: 1}]\n",
    "- !!str 12\n- [!!float 1]\n- {a: !x b}\n",
]

BROKEN = [
    "name: a\nsteps: [\n",
    "a: 1\na: 2\n",
    "a: {b: 1, b: 2}\n",
    "a: b: c\n",
    "- a\nb: c\n",
    "key: 'unterminated\n",
    "\tname: tab\n",
    "a: *nowhere\n",
    "a: 1\n---\nb: 2\n",
    "%YAML 1.1\n---\nbools: [yes, no]\n",
    "%YAML 1.2\n---\na: [1\n",
    "a: !!int not-a-number\n",
    'text: "bad \\q escape"\n',
    "x: @reserved\n",
    "[a, b]: {c: d}\n",
]


def pure(text: str, path: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, list[Problem]]:
    """``parse_yaml`` as it is without the C extension."""
    with monkeypatch.context() as patch:
        patch.setattr(yamlfile, "_CParser", None)
        return parse_yaml(text, path)


def shape(data: Any) -> Any:
    """Values, exact types, tags and every recorded position, recursively."""
    if isinstance(data, CommentedMap | CommentedSeq):
        items = data.items() if isinstance(data, dict) else enumerate(data)
        return (
            type(data),
            data.lc.line,
            data.lc.col,
            repr(data.lc.data),  # the position of every key or item
            data.fa.flow_style(),
            [(shape(k), shape(v)) for k, v in items],
            str(getattr(data, "tag", None)),
        )
    if isinstance(data, dict | list | set | tuple):
        items = data.items() if isinstance(data, dict) else enumerate(data)
        return (type(data), [(shape(k), shape(v)) for k, v in items])
    return (type(data), repr(data))  # repr: tells 1 from 1.0, and nan equals nan


def test_the_c_extension_is_installed() -> None:
    # A plain `python3 dev.py setup` installs it (pyproject.toml); without it every file
    # still reads, through the pure-Python reader, ten times slower.
    assert yamlfile.has_c_parser()


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_yaml_file_of_the_checkout_reads_the_same_both_ways(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = path.read_text("utf-8")
    data, problems = parse_yaml(text, str(path))
    slow, slow_problems = pure(text, str(path), monkeypatch)
    assert (shape(data), problems) == (shape(slow), slow_problems)


@pytest.mark.parametrize("text", CORNERS)
def test_corner_documents_read_the_same_both_ways(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    done, fast = yamlfile._fast_load(text)
    assert done  # the C path read it (it did not fall back)
    slow, problems = pure(text, "c.yaml", monkeypatch)
    assert problems == []
    assert shape(fast) == shape(slow)
    # and what ruamel's own round-trip reader gives
    assert shape(fast) == shape(YAML(typ="rt").load(text))


@pytest.mark.parametrize("text", TAGGED)
def test_tagged_documents_read_as_ruamels_round_trip_reads_them(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert yamlfile._fast_load(text) == (False, None)
    data, problems = parse_yaml(text, "t.yaml")
    assert problems == []
    assert shape(data) == shape(pure(text, "t.yaml", monkeypatch)[0])


def test_an_exclamation_mark_in_text_keeps_the_fast_path() -> None:
    assert yamlfile._fast_load("text: hello!\nother: 'wow!!'\n")[0]


@pytest.mark.parametrize("text", BROKEN)
def test_broken_documents_get_ruamels_own_messages_and_lines(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, problems = parse_yaml(text, "b.yaml")
    slow, slow_problems = pure(text, "b.yaml", monkeypatch)
    assert (shape(data), problems) == (shape(slow), slow_problems)


def test_known_messages_word_for_word(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = [
        Problem(
            "b.yaml",
            2,
            "",
            'invalid YAML: found duplicate key "a" with value "2" (original value: "1")',
        ),
    ]
    for parse in (parse_yaml, lambda t, p: pure(t, p, monkeypatch)):
        assert parse("a: 1\na: 2\n", "b.yaml") == (None, expected)
        assert parse("name: a\nsteps: [\n", "s.yaml")[1] == [
            Problem(
                "s.yaml", 3, "", "invalid YAML: expected the node content, but found '<stream end>'"
            )
        ]


def test_a_yaml_1_1_directive_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    # The C path assumes YAML 1.2; a directive sends the text to the pure reader.
    data, problems = parse_yaml("%YAML 1.1\n---\nbools: [yes, no]\n", "d.yaml")
    assert problems == []
    assert list(data["bools"]) == [True, False]
    assert list(parse_yaml("bools: [yes, no]\n", "d.yaml")[0]["bools"]) == ["yes", "no"]


def test_lines_of_nested_items() -> None:
    text = "name: x\nsteps:\n  - login: alice\n  - expect:\n      to: alice\n      body: hi\n"
    data, _ = parse_yaml(text, "n.yaml")
    assert line_of(data, ("steps", 1, "expect", "body")) == 6
    assert line_of(data, ("steps", 0)) == 3
    assert line_of(data, ("name",)) == 1


def test_plain_scalars_resolve_by_their_text_in_every_file() -> None:
    # The fast reader remembers which plain texts are strings: a text quoted in one file
    # (a string) is still a number, a boolean or null when plain in the next.
    first, _ = parse_yaml("a: '42'\nb: 'true'\nc: 'null'\nd: words\n", "first.yaml")
    second, _ = parse_yaml("a: 42\nb: true\nc: null\nd: words\n", "second.yaml")
    assert [first[k] for k in "abcd"] == ["42", "true", "null", "words"]
    assert [second[k] for k in "abcd"] == [42, True, None, "words"]
