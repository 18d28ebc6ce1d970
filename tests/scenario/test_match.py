"""Node patterns: subset and exact matching, regexes, captures, nearness, side by side."""

from __future__ import annotations

import pytest

from simulator.scenario.match import (
    Absent,
    AbsentOr,
    Literal,
    Pattern,
    PatternError,
    Regex,
    Template,
    Unbound,
    compare_rows,
    compile_node,
    compile_value,
    match,
    node_names,
    parse_node_text,
    render_node,
    render_pattern,
    similarity,
)
from simulator.wire.node import Node

MESSAGE = Node.parse(
    '<message from="491119999999@s.whatsapp.net" type="text" id="1-2" t="1420070400">'
    "<body>hello world</body></message>"
)


def ok(
    pattern: str, node: Node = MESSAGE, env: dict[str, str] | None = None, *, exact: bool = False
) -> dict[str, str]:
    result = match(compile_node(pattern, exact=exact), node, env or {})
    assert result.ok, result.difference
    return result.bound


def differs(
    pattern: str, node: Node = MESSAGE, env: dict[str, str] | None = None, *, exact: bool = False
) -> str:
    result = match(compile_node(pattern, exact=exact), node, env or {})
    assert not result.ok
    return result.difference


class TestSubset:
    def test_only_what_is_written_must_match(self) -> None:
        assert ok("<message/>") == {}
        assert ok('<message type="text"><body>hello world</body></message>') == {}
        assert ok("<message><body></body></message>") == {}  # empty element: says nothing

    def test_first_difference_names_the_path(self) -> None:
        assert differs('<message type="media"/>') == 'message@type: expected "media", got "text"'
        assert differs("<message><body>hello</body></message>") == (
            'message/body: expected data "hello", got "hello world"'
        )
        assert differs("<message><media/></message>") == "message: no child <media>"
        assert (
            differs('<message participant="x"/>')
            == 'message@participant: expected "x", got nothing'
        )
        assert differs("<receipt/>") == "the stanza: expected <receipt>, got <message>"

    def test_children_match_in_order_as_a_subsequence(self) -> None:
        node = Node.parse("<list><item id='1'/><skip/><item id='2'/></list>")
        assert ok("<list><item id='1'/><item id='2'/></list>", node) == {}
        assert differs("<list><item id='2'/><item id='1'/></list>", node) == (
            "list: no <item> left after the children matched before it"
            " (children match in the order written)"
        )


class TestExact:
    def test_exact_needs_every_attribute_and_child(self) -> None:
        node = Node.parse('<iq type="result" id="7"><query seconds="0"/></iq>')
        assert ok('<iq type="result" id="7"><query seconds="0"/></iq>', node, exact=True) == {}
        assert differs('<iq type="result"><query seconds="0"/></iq>', node, exact=True) == (
            'iq@id: not in the pattern (exact match), got "7"'
        )
        assert differs('<iq type="result" id="7"/>', node, exact=True) == (
            "iq: expected 0 children (exact match), got 1"
        )

    def test_exact_data(self) -> None:
        node = Node.parse("<body>hi</body>")
        assert (
            differs("<body/>", node, exact=True) == 'body: expected no data (exact match), got "hi"'
        )
        assert ok("<body>hi</body>", node, exact=True) == {}


class TestRegex:
    def test_regex_is_searched(self) -> None:
        assert ok("<message><body>/^hello/</body></message>") == {}
        assert ok("<message><body>/WORLD$/i</body></message>") == {}
        assert differs("<message><body>/^world/</body></message>") == (
            'message/body: expected data /^world/, got "hello world"'
        )

    def test_named_groups_bind_captures(self) -> None:
        assert ok("<message><body>/^hello (?P&lt;who&gt;\\w+)$/</body></message>") == {
            "who": "world"
        }
        assert not match(
            compile_node("<message><body>/^hello (?P&lt;who&gt;\\w+)$/</body></message>"),
            MESSAGE,
            {"who": "moon"},
        ).ok

    def test_bad_regex_is_a_pattern_error(self) -> None:
        with pytest.raises(PatternError, match=r"bad regular expression /\(x/: missing \)"):
            compile_value("/(x/")


class TestCaptures:
    def test_an_unbound_capture_binds_a_bound_one_must_match(self) -> None:
        assert ok(
            '<message id="{{msg}}" from="{{bot}}"/>', env={"bot": "491119999999@s.whatsapp.net"}
        ) == {"msg": "1-2"}
        assert (
            differs('<message id="{{msg}}"/>', env={"msg": "9-9"})
            == 'message@id: expected "9-9", got "1-2"'
        )

    def test_captures_inside_text(self) -> None:
        assert ok("<message><body>hello {{who}}</body></message>") == {"who": "world"}
        assert ok('<message id="{{a}}-{{b}}"/>') == {"a": "1", "b": "2"}

    def test_the_same_capture_twice_must_be_equal(self) -> None:
        node = Node.parse('<x a="1" b="1" c="2"/>')
        assert ok('<x a="{{n}}" b="{{n}}"/>', node) == {"n": "1"}
        assert differs('<x a="{{n}}" c="{{n}}"/>', node) == 'x@c: expected "1", got "2"'

    def test_a_failed_match_binds_nothing(self) -> None:
        result = match(compile_node('<message id="{{msg}}" type="media"/>'), MESSAGE, {})
        assert (result.ok, result.bound) == (False, {})

    def test_malformed_capture(self) -> None:
        with pytest.raises(PatternError, match=r"bad capture '\{\{two words\}\}'"):
            compile_value("{{two words}}")

    def test_render_node_fills_captures(self) -> None:
        node = parse_node_text(
            '<message to="{{bob}}" id="{{m}}"><body>order {{n}}</body></message>'
        )
        assert node_names(node) == {"bob", "m", "n"}
        env = {"bob": "49@s.whatsapp.net", "m": "1", "n": "42"}
        assert render_node(node, env) == Node.parse(
            '<message to="49@s.whatsapp.net" id="1"><body>order 42</body></message>'
        )
        with pytest.raises(Unbound, match=r"capture \{\{n\}\} is not bound"):
            render_node(node, {"bob": "b", "m": "1"})


class TestValues:
    def test_kinds(self) -> None:
        assert compile_value("text") == Literal("text")
        assert isinstance(compile_value("{{x}}"), Template)
        assert isinstance(compile_value("/x/i"), Regex)
        assert compile_value("/x/", regex=False) == Literal("/x/")

    def test_absent(self) -> None:
        pattern = Pattern("receipt", (("type", Absent()),))
        assert match(pattern, Node("receipt", {"id": "1"}), {}).ok
        assert match(pattern, Node("receipt", {"type": "read"}), {}).difference == (
            'receipt@type: expected (absent), got "read"'
        )

    def test_absent_or(self) -> None:
        pattern = Pattern("presence", (("type", AbsentOr(Literal("available"))),))
        assert match(pattern, Node("presence"), {}).ok
        assert match(pattern, Node("presence", {"type": "available"}), {}).ok
        assert not match(pattern, Node("presence", {"type": "unavailable"}), {}).ok


def test_docs_notation_with_tx_rx_prefixes() -> None:
    pattern = compile_node(
        """
        rx  <iq from="s.whatsapp.net" type="result">
        rx    <props version="4"></props>
        rx  </iq>
        """
    )
    assert (
        ok("<iq/>", Node.parse('<iq from="s.whatsapp.net" type="result"><props version="4"/></iq>'))
        == {}
    )
    assert (
        render_pattern(pattern, {}, indent=None)
        == '<iq from="s.whatsapp.net" type="result"><props version="4"/></iq>'
    )


def test_bad_node_text_names_the_offset() -> None:
    with pytest.raises(PatternError, match="mismatched closing tag for <body> at offset 26"):
        compile_node("<message><body>hi</message>")


def test_similarity_prefers_the_closer_stanza() -> None:
    pattern = compile_node('<message type="text"><body>hello</body></message>')
    near = Node.parse('<message type="text"><body>HELLO</body></message>')
    far = Node.parse('<message type="media"><media/></message>')
    other = Node.parse("<receipt/>")
    assert (
        similarity(pattern, near, {})
        > similarity(pattern, far, {})
        > similarity(pattern, other, {})
        == 0
    )
    assert (
        similarity(pattern, Node.parse('<message type="text"><body>hello</body></message>'), {})
        == 1
    )


def test_compare_rows_shortens_long_payloads_the_pattern_does_not_align_with() -> None:
    """A failure report's side-by-side view elides yowsup's key upload as transcripts do,
    and shows it whole under ``--full-payloads``."""
    from simulator.scenario.report import FULL_PAYLOADS

    keys = bytes(range(256)) * 40
    pattern = compile_node('<iq type="set"><skey/></iq>')
    node = Node("iq", {"type": "set"}, [Node("list", data=keys), Node("skey")])
    rows = compare_rows(pattern, node, {})
    assert ("", "  <list>hex:000102030405060708090a0b0c0d0e0f…(10240 bytes)</list>", False) in rows
    token = FULL_PAYLOADS.set(True)
    try:
        whole = compare_rows(pattern, node, {})
    finally:
        FULL_PAYLOADS.reset(token)
    assert ("", f"  <list>hex:{keys.hex()}</list>", False) in whole


def test_compare_rows_aligns_attributes_and_flags_differences() -> None:
    pattern = compile_node('<message from="{{bot}}"><body>hello</body></message>')
    node = Node.parse('<message from="b@s" id="1"><body>HELLO</body></message>')
    assert compare_rows(pattern, node, {"bot": "b@s"}) == [
        ("<message", "<message", False),
        ('  from="b@s"', '  from="b@s"', False),
        ("", '  id="1"', False),
        ("  <body>hello</body>", "  <body>HELLO</body>", True),
        ("</message>", "</message>", False),
    ]
    assert compare_rows(pattern, None, {}) == [
        ('<message from="{{bot}}">', "", False),
        ("  <body>hello</body>", "", False),
        ("</message>", "", False),
    ]
