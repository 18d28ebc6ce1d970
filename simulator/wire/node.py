"""`Node`: one FunXMPP stanza (or part of one) as an immutable value.

A node has a tag, attributes (string keys and values, insertion order kept because the
wire encoding writes them in that order), and either children or binary data, never
both (PROTOCOL.md §1.4.1).

Its text form is the tx/rx notation of the Chat-API documentation, both ways::

    >>> node = Node.parse('<iq id="1" type="get" xmlns="w:p" to="s.whatsapp.net"><ping/></iq>')
    >>> node.child("ping")
    Node.parse('<ping/>')
    >>> str(node)
    '<iq id="1" type="get" xmlns="w:p" to="s.whatsapp.net"><ping/></iq>'

Data renders as text when it is printable UTF-8 (``<body>Hi</body>``) and otherwise as
``hex:`` followed by the bytes in hex (``<challenge>hex:a0a1a2</challenge>``). Text data
that happens to start with ``hex:`` is written with its first character escaped
(``&#104;ex:...``), so the two forms never collide. ``<body></body>`` is empty data,
``<body/>`` is no data at all.

Attribute values on the wire are bytes; the decoder turns them into ``str`` with UTF-8
and ``surrogateescape``, so any byte string survives the round trip, and the text form
writes characters that are not printable as ``&#x..;`` references.
"""

from __future__ import annotations

import re
import sys
from typing import TYPE_CHECKING, Final, NoReturn, final, overload

from simulator.errors import LocalProtocolError

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

__all__ = ["Attrs", "Node", "element"]


@final
class Attrs(dict[str, str]):
    """A node's attributes: a ``dict`` that refuses every change.

    What ``Node.attrs`` holds. A read-only dict rather than a ``MappingProxyType`` over
    one: reading an attribute is the commonest thing the whole service does (every
    handler, every client parser, for every stanza), and a proxy's ``get`` goes through
    a method call on the dict behind it, twice the cost of the dict's own.
    """

    __slots__ = ()

    def _refuse(self, *args: object, **kwargs: object) -> NoReturn:
        raise TypeError("a node's attributes cannot change; use Node.with_attrs()")

    __setitem__ = __delitem__ = __ior__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse

    def __repr__(self) -> str:
        return f"Attrs({dict.__repr__(self)})"

    def __reduce__(self) -> tuple[type[dict[str, str]], tuple[dict[str, str]]]:
        return dict, (dict(self),)  # copies and pickles are plain dicts, which may change

    def copy(self) -> dict[str, str]:
        return dict(self)


_EMPTY_ATTRS: Final = Attrs()


@final
class Node:
    """An immutable FunXMPP node: ``tag``, ``attrs``, and ``children`` or ``data``.

    Args:
        tag: the element name, e.g. ``"message"``.
        attrs: attribute names and values; the order is kept (it is the wire order).
        children: child nodes. A node with children has no data.
        data: the binary payload (``bytes``), or ``None`` when the node has none. ``str``
            is accepted for convenience and stored UTF-8 encoded.

    Equality compares tag, attributes (as a mapping: order does not matter), children and
    data. Nodes are hashable.
    """

    __slots__ = ("_hash", "attrs", "children", "data", "tag")

    tag: str
    attrs: Mapping[str, str]
    children: tuple[Node, ...]
    data: bytes | None
    _hash: int

    def __init__(
        self,
        tag: str,
        attrs: Mapping[str, str] | None = None,
        children: Sequence[Node] = (),
        data: bytes | str | None = None,
    ) -> None:
        if data is not None:  # most nodes have none: no isinstance() for them
            if isinstance(data, str):
                data = data.encode("utf-8", "surrogateescape")
            if children:
                raise LocalProtocolError(f"node <{tag}> cannot have both children and data")
        # The slots' own setters: the immutability guard (__setattr__) is for everybody
        # else, and this runs for every stanza.
        _SET_TAG(self, tag)
        # Attrs cannot change: another node's (replace, a copy with new children) is shared.
        if not attrs:
            attrs = _EMPTY_ATTRS
        elif type(attrs) is not Attrs:
            attrs = Attrs(attrs)
        _SET_ATTRS(self, attrs)
        _SET_CHILDREN(self, children if type(children) is tuple else tuple(children))
        _SET_DATA(self, data)
        # ``_hash`` stays unset until the first hash (see __hash__): one store less here.

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Node is immutable; use Node.replace()")

    # ---------------------------------------------------------------- access

    @overload
    def get(self, key: str) -> str | None: ...
    @overload
    def get(self, key: str, default: str) -> str: ...
    @overload
    def get(self, key: str, default: str | None) -> str | None: ...

    def get(self, key: str, default: str | None = None) -> str | None:
        """The value of attribute ``key``, or ``default``."""
        return self.attrs.get(key, default)

    def __getitem__(self, key: str) -> str:
        return self.attrs[key]

    def __contains__(self, key: object) -> bool:
        return key in self.attrs

    def child(self, tag: str) -> Node | None:
        """The first child with this tag, or ``None``."""
        for c in self.children:
            if c.tag == tag:
                return c
        return None

    def children_named(self, tag: str) -> tuple[Node, ...]:
        """Every child with this tag, in order."""
        return tuple(c for c in self.children if c.tag == tag)

    def __iter__(self) -> Iterator[Node]:
        return iter(self.children)

    @property
    def text(self) -> str | None:
        """The data decoded as UTF-8 (undecodable bytes kept as surrogates), or ``None``."""
        if self.data is None:
            return None
        return self.data.decode("utf-8", "surrogateescape")

    def replace(
        self,
        *,
        tag: str | None = None,
        attrs: Mapping[str, str] | None = None,
        children: Sequence[Node] | None = None,
        data: bytes | str | None = None,
        drop_data: bool = False,
    ) -> Node:
        """A copy with the given parts replaced."""
        return Node(
            self.tag if tag is None else tag,
            self.attrs if attrs is None else attrs,
            self.children if children is None else children,
            None if drop_data else (self.data if data is None else data),
        )

    def with_attrs(self, **attrs: str | None) -> Node:
        """A copy with attributes set (a value of ``None`` removes the attribute).

        Python keywords can be passed through a dict: ``node.with_attrs(**{"class": "x"})``.
        """
        merged = dict(self.attrs)
        for key, value in attrs.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        return Node(self.tag, merged, self.children, self.data)

    # ---------------------------------------------------------------- value semantics

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Node):
            return NotImplemented
        return (
            self.tag == other.tag
            and self.data == other.data
            and self.attrs == other.attrs
            and self.children == other.children
        )

    def __hash__(self) -> int:
        try:
            return self._hash
        except AttributeError:  # the first hash of this node
            h = hash((self.tag, frozenset(self.attrs.items()), self.children, self.data))
            _SET_HASH(self, h)
            return h

    def __repr__(self) -> str:
        return f"Node.parse({self.to_text()!r})"

    def __str__(self) -> str:
        return self.to_text()

    # ---------------------------------------------------------------- text form

    def to_text(self, indent: int | None = None, *, elide: int | None = None) -> str:
        """Render in the tx/rx notation; ``indent`` pretty-prints children on their own lines.

        ``elide``: binary data (not printable UTF-8) longer than this many bytes is shown
        as its first :data:`ELIDED_HEAD` bytes and its length, ``hex:0a1b…(3172 bytes)``,
        for people reading transcripts and logs (a key upload is tens of KB). Elided text
        cannot be parsed back.
        """
        out: list[str] = []
        _render(self, out, indent, 0, elide)
        return "".join(out)

    @classmethod
    def parse(cls, text: str) -> Node:
        """Parse the tx/rx notation. Raises ``ValueError`` naming the offset on bad input."""
        return _Parser(text).parse_document()


# -------------------------------------------------------------------- rendering

_ATTR_ESCAPES: Final = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}
_DATA_ESCAPES: Final = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def _escape(s: str, table: Mapping[str, str], keep_ws: bool) -> str:
    # Most values (ids, JIDs, plain text) need nothing: they are kept as they are, without
    # a look at each character (transcripts render every stanza of every run).
    if s.isprintable() and not any(ch in s for ch in table):
        return s
    out: list[str] = []
    for ch in s:
        if ch in table:
            out.append(table[ch])
        elif ch.isprintable() or (keep_ws and ch in "\n\t"):
            out.append(ch)
        else:
            out.append(f"&#x{ord(ch):X};")
    return "".join(out)


def _data_as_text(data: bytes) -> str | None:
    """The data as text if it is printable UTF-8 (line breaks and tabs allowed), else None."""
    try:
        s = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if all(ch.isprintable() or ch in "\n\t\r" for ch in s):
        return s
    return None


ELIDED_HEAD: Final = 16
"""Bytes of an elided binary payload that are still shown."""


def _render_data(data: bytes, elide: int | None = None) -> str:
    text = _data_as_text(data)
    if text is None:
        if elide is not None and len(data) > elide:
            return f"hex:{data[:ELIDED_HEAD].hex()}…({len(data)} bytes)"
        return "hex:" + data.hex()
    escaped = _escape(text, _DATA_ESCAPES, keep_ws=True)
    if escaped.startswith("hex:"):
        escaped = "&#104;" + escaped[1:]
    return escaped


_SET_TAG: Final = Node.__dict__["tag"].__set__
_SET_ATTRS: Final = Node.__dict__["attrs"].__set__
_SET_CHILDREN: Final = Node.__dict__["children"].__set__
_SET_DATA: Final = Node.__dict__["data"].__set__
_SET_HASH: Final = Node.__dict__["_hash"].__set__
_NEW: Final = object.__new__


def element(tag: str, attrs: Mapping[str, str], children: tuple[Node, ...] = ()) -> Node:
    """``Node(tag, attrs, children)`` for a node without data, made in about half the time.

    The same node, value for value; what it skips is the class call (``Node.__init__``
    through ``type.__call__``, which costs more than the node's own four fields): the
    builders of the stanzas every delivery makes (receipts, acks, the forwarded receipt)
    use it. ``children`` is a tuple (a node's own ``children`` is one).
    """
    node: Node = _NEW(Node)
    _SET_TAG(node, tag)
    _SET_ATTRS(node, attrs if type(attrs) is Attrs else Attrs(attrs) if attrs else _EMPTY_ATTRS)
    _SET_CHILDREN(node, children)
    _SET_DATA(node, None)
    return node


def _render(
    node: Node, out: list[str], indent: int | None, depth: int, elide: int | None = None
) -> None:
    pad = " " * (indent * depth) if indent else ""
    out.append(f"{pad}<{node.tag}")
    for key, value in node.attrs.items():
        out.append(f' {key}="{_escape(value, _ATTR_ESCAPES, keep_ws=False)}"')
    if node.children:
        out.append(">")
        for child in node.children:
            if indent:
                out.append("\n")
            _render(child, out, indent, depth + 1, elide)
        if indent:
            out.append("\n" + pad)
        out.append(f"</{node.tag}>")
    elif node.data is not None:
        out.append(f">{_render_data(node.data, elide)}</{node.tag}>")
    else:
        out.append("/>")


# -------------------------------------------------------------------- parsing

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_:.\-]*")
_ENTITY = re.compile(r"&(?:#x([0-9A-Fa-f]+)|#([0-9]+)|(amp|lt|gt|quot|apos));")
_NAMED: Final = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}
_HEX = re.compile(r"(?:[0-9A-Fa-f]{2})*")


def _unescape(s: str, where: int) -> str:
    if "&" not in s:
        return s

    def sub(m: re.Match[str]) -> str:
        if m.group(3):
            return _NAMED[m.group(3)]
        code = int(m.group(1), 16) if m.group(1) else int(m.group(2))
        if code > sys.maxunicode:  # chr() would raise ValueError or OverflowError
            raise ValueError(f"character reference {m.group()} out of range near offset {where}")
        return chr(code)

    result = _ENTITY.sub(sub, s)
    if "&" in _ENTITY.sub("", s):
        raise ValueError(f"unknown character reference near offset {where}")
    return result


class _Parser:
    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0

    def fail(self, what: str) -> ValueError:
        return ValueError(f"{what} at offset {self.i} in {self.s!r}")

    def skip_ws(self) -> None:
        while self.i < len(self.s) and self.s[self.i].isspace():
            self.i += 1

    def expect(self, lit: str) -> None:
        if not self.s.startswith(lit, self.i):
            raise self.fail(f"expected {lit!r}")
        self.i += len(lit)

    def name(self) -> str:
        m = _NAME.match(self.s, self.i)
        if not m:
            raise self.fail("expected a name")
        self.i = m.end()
        return m.group()

    def parse_document(self) -> Node:
        self.skip_ws()
        node = self.element()
        self.skip_ws()
        if self.i != len(self.s):
            raise self.fail("unexpected text after the element")
        return node

    def attr_value(self) -> str:
        quote = self.s[self.i : self.i + 1]
        if quote not in ('"', "'"):
            raise self.fail("expected a quoted attribute value")
        end = self.s.find(quote, self.i + 1)
        if end < 0:
            raise self.fail("unterminated attribute value")
        raw = self.s[self.i + 1 : end]
        if "<" in raw:
            raise self.fail("'<' inside an attribute value")
        value = _unescape(raw, self.i)
        self.i = end + 1
        return value

    def element(self) -> Node:
        self.expect("<")
        tag = self.name()
        attrs: dict[str, str] = {}
        while True:
            self.skip_ws()
            if self.s.startswith("/>", self.i):
                self.i += 2
                return Node(tag, attrs)
            if self.s.startswith(">", self.i):
                self.i += 1
                break
            key = self.name()
            self.skip_ws()
            self.expect("=")
            self.skip_ws()
            if key in attrs:
                raise self.fail(f"duplicate attribute {key!r}")
            attrs[key] = self.attr_value()
        return self.content(tag, attrs)

    def content(self, tag: str, attrs: dict[str, str]) -> Node:
        start = self.i
        children: list[Node] = []
        text_parts: list[str] = []
        while True:
            lt = self.s.find("<", self.i)
            if lt < 0:
                raise self.fail(f"unterminated element <{tag}>")
            text_parts.append(self.s[self.i : lt])
            self.i = lt
            if self.s.startswith("</", lt):
                self.i += 2
                if self.name() != tag:
                    raise self.fail(f"mismatched closing tag for <{tag}>")
                self.skip_ws()
                self.expect(">")
                break
            children.append(self.element())
        raw = "".join(text_parts)
        if children:
            if raw.strip():
                raise ValueError(f"<{tag}> mixes text and child elements at offset {start}")
            return Node(tag, attrs, children)
        if raw.startswith("hex:"):
            hexpart = raw[4:]
            if not _HEX.fullmatch(hexpart):
                raise ValueError(f"bad hex data in <{tag}> at offset {start}")
            return Node(tag, attrs, data=bytes.fromhex(hexpart))
        return Node(tag, attrs, data=_unescape(raw, start).encode("utf-8", "surrogateescape"))
