"""``Node``: value semantics and the tx/rx text form."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given

from simulator.errors import LocalProtocolError
from simulator.wire.node import Attrs, Node, element
from tests.strategies import text_nodes


def test_Node_keeps_attribute_order() -> None:
    node = Node.parse('<iq to="s.whatsapp.net" type="get" id="1" xmlns="w:p"/>')
    assert list(node.attrs) == ["to", "type", "id", "xmlns"]
    assert str(node) == '<iq to="s.whatsapp.net" type="get" id="1" xmlns="w:p"/>'


def test_Node_equality_ignores_attribute_order() -> None:
    a = Node("iq", {"id": "1", "type": "get"})
    b = Node("iq", {"type": "get", "id": "1"})
    assert a == b
    assert hash(a) == hash(b)
    assert a != Node("iq", {"id": "1"})
    assert a != Node("iq", {"id": "1", "type": "get"}, data=b"")


def test_Node_refuses_children_and_data() -> None:
    with pytest.raises(LocalProtocolError, match="both children and data"):
        Node("a", children=[Node("b")], data=b"x")


def test_Node_is_immutable() -> None:
    node = Node("a", {"k": "v"})
    with pytest.raises(AttributeError):
        node.tag = "b"
    with pytest.raises(TypeError):
        node.attrs["k"] = "w"  # type: ignore[index]


def test_Node_attrs_refuse_every_change_and_copy_as_plain_dicts() -> None:
    given = {"k": "v"}
    node = Node("a", given)
    given["k"] = "changed"  # the node keeps its own copy
    attrs: Any = node.attrs
    changes: tuple[Callable[[], object], ...] = (
        lambda: attrs.__delitem__("k"),
        lambda: attrs.pop("k"),
        lambda: attrs.popitem(),
        lambda: attrs.setdefault("n", "1"),
        lambda: attrs.update(n="1"),
        lambda: attrs.clear(),
        lambda: attrs.__ior__({"n": "1"}),
    )
    for change in changes:
        with pytest.raises(TypeError, match="cannot change"):
            change()
    assert node.attrs == {"k": "v"} and node.get("k") == "v"
    for copied in (attrs.copy(), copy.copy(node.attrs), copy.deepcopy(node.attrs)):
        assert type(copied) is dict and copied == {"k": "v"}
        copied["k"] = "w"  # a copy may change; the node does not
    assert node.attrs == {"k": "v"}
    # A copy of a node with other children shares the attributes (nothing can change them).
    assert node.replace(children=[Node("b")]).attrs is node.attrs


def test_Node_accessors() -> None:
    node = Node.parse('<m id="1"><body>Hi</body><x/><x n="2"/></m>')
    assert node["id"] == "1"
    assert node.get("missing") is None
    assert "id" in node
    assert node.child("x") == Node("x")
    assert node.child("nope") is None
    assert node.children_named("x") == (Node("x"), Node("x", {"n": "2"}))
    assert [c.tag for c in node] == ["body", "x", "x"]
    body = node.child("body")
    assert body is not None
    assert (body.text, body.data) == ("Hi", b"Hi")
    assert node.text is None


def test_Node_str_data_is_utf8() -> None:
    assert Node("body", data="é").data == b"\xc3\xa9"


def test_Node_replace_and_with_attrs() -> None:
    node = Node("iq", {"id": "1", "type": "get"}, data=b"x")
    assert node.replace(tag="ack") == Node("ack", {"id": "1", "type": "get"}, data=b"x")
    assert node.replace(drop_data=True).data is None
    assert node.replace(data=b"y").data == b"y"
    changed = node.with_attrs(type=None, **{"class": "receipt"})
    assert list(changed.attrs.items()) == [("id", "1"), ("class", "receipt")]
    assert changed.data == b"x"


# ---------------------------------------------------------------- text form


@pytest.mark.parametrize(
    ("node", "text"),
    [
        (Node("a", {"v": 'x&<>"y'}), '<a v="x&amp;&lt;&gt;&quot;y"/>'),
        (Node("a", {"v": "tab\tnl\n"}), '<a v="tab&#x9;nl&#xA;"/>'),
        (Node("a", {"v": "\udcc3"}), '<a v="&#xDCC3;"/>'),  # a surrogate-escaped byte
        (Node("a", data=b"1 < 2 & 3"), "<a>1 &lt; 2 &amp; 3</a>"),
        (Node("a", data=b"line\nnext\ttab"), "<a>line\nnext\ttab</a>"),
        (Node("a", data=b"\x00\xff"), "<a>hex:00ff</a>"),
        (Node("a", data=b"\xc3("), "<a>hex:c328</a>"),  # not UTF-8
        (Node("a", data=b"hex:00"), "<a>&#104;ex:00</a>"),  # text that looks like hex
        (Node("a", data=b""), "<a></a>"),
        (Node("a"), "<a/>"),
        (Node("a", children=[Node("b"), Node("c", data=b"d")]), "<a><b/><c>d</c></a>"),
    ],
)
def test_text_form(node: Node, text: str) -> None:
    assert str(node) == text
    parsed = Node.parse(text)
    assert parsed == node
    assert parsed.data == node.data  # b"" and None are different nodes


@pytest.mark.parametrize(
    ("text", "node"),
    [
        ("<a v='1'/>", Node("a", {"v": "1"})),
        ('  <a  v = "1" />  ', Node("a", {"v": "1"})),
        ("<a>hex:0A0b</a>", Node("a", data=b"\x0a\x0b")),
        ("<a>hex:</a>", Node("a", data=b"")),
        ("<a>&#x41;&#66;&apos;</a>", Node("a", data=b"AB'")),
        ("<a>\n  <b/>\n  <c/>\n</a>", Node("a", children=[Node("b"), Node("c")])),
        ("<a> x </a>", Node("a", data=b" x ")),
    ],
)
def test_parse_forms(text: str, node: Node) -> None:
    assert Node.parse(text) == node


def test_pretty_printing() -> None:
    node = Node("iq", {"id": "1"}, [Node("list", children=[Node("item", data=b"x")]), Node("e")])
    pretty = node.to_text(indent=2)
    assert pretty == ('<iq id="1">\n  <list>\n    <item>x</item>\n  </list>\n  <e/>\n</iq>')
    assert Node.parse(pretty) == node


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "expected '<' at offset 0"),
        ("<a>", "unterminated element <a>"),
        ("<a></b>", "mismatched closing tag for <a>"),
        ("<a v=1/>", "expected a quoted attribute value"),
        ('<a v="1/>', "unterminated attribute value"),
        ('<a v="1" v="2"/>', "duplicate attribute 'v'"),
        ('<a v="<"/>', "'<' inside an attribute value"),
        ("<a/>junk", "unexpected text after the element"),
        ("<a>text<b/></a>", "<a> mixes text and child elements at offset 3"),
        ("<a>hex:zz</a>", "bad hex data in <a> at offset 3"),
        ("<a>hex:abc</a>", "bad hex data in <a>"),
        ('<a v="&bogus;"/>', "unknown character reference near offset"),
        ("<a>AT&T</a>", "unknown character reference near offset 3"),
        ("<1a/>", "expected a name at offset 1"),
        ("<a>&#x110000;</a>", "character reference &#x110000; out of range near offset 3"),
        ("<a>&#99999999999999999999;</a>", "out of range near offset 3"),  # was OverflowError
    ],
)
def test_parse_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="offset") as info:
        Node.parse(text)
    assert message in str(info.value)


@given(text_nodes())
def test_text_round_trip(node: Node) -> None:
    for text in (str(node), node.to_text(indent=2)):
        parsed = Node.parse(text)
        assert parsed == node
        assert list(parsed.attrs) == list(node.attrs)
        assert repr(parsed) == repr(node)


@given(text_nodes())
def test_element_makes_the_node_Node_makes(node: Node) -> None:
    """``element`` (the builders' quick constructor) gives the same value: equal, the same
    hash, text form and attribute order, read-only attributes, immutable."""
    if node.data is not None:
        return  # element() makes nodes without data
    made = element(node.tag, dict(node.attrs), node.children)
    assert made == node and hash(made) == hash(node) and str(made) == str(node)
    assert list(made.attrs) == list(node.attrs) and type(made.attrs) is Attrs
    assert made.children == node.children and made.data is None
    with pytest.raises(AttributeError):
        made.tag = "x"
    with pytest.raises(TypeError):
        made.attrs["id"] = "x"
    assert element(node.tag, {}) == Node(node.tag)
