"""Node <-> bytes: the FunXMPP binary tree encoding (PROTOCOL.md §1.4), both dialects.

Theory of operation
===================

A frame payload holds exactly one node (§1.3). A node is a *list*: its size ``n``, the tag,
``floor((n-1)/2)`` key/value pairs, and, when ``n`` is even, one more item: a child list or
the node data (§1.4.1). Every tag, key, value and data item is a *string*, whose first
byte says how it is written (§1.4.2): a token from the connection's dictionary, a JID pair
``user@server``, a nibble- or hex-packed string, or raw bytes with a length.

Writing (``encode``) is deterministic. Each string is tried, in order, as a token, then as
a JID (an ``@`` at index >= 1), then written as bytes. With ``pack=False`` the result is
the canonical server writer of §1.4.3, which every client accepts. ``pack=True`` (1.6
only) reproduces what the yowsup 2.5.7 client writes: attribute values and JID user
parts made only of ``0-9 - .`` are nibble-packed, else only of ``0-9 A-F`` hex-packed;
tokens win over packing; tags, keys, server parts and data are never packed. The
differences from that client are deliberate and harmless: the empty string is always
``FC 00`` (the client writes the null token ``00``, §6.1), secondary tokens 256-262 are
written ``ED i-256`` (the client raises "Invalid token" instead), a JID server part that
holds another ``@`` is written as bytes (the client nests a second pair; both read back
as the same text), and strings over 0xFFFFF bytes are refused (the client would use
``FE``, which no frame can hold). So every node ``decode`` returns can be written again.

Reading (``decode``) accepts every form a client of the dialect can produce or accept,
including those our writer never uses (the 1.5 one-byte aliases ``ED``-``F4``, JID and
token data, ``FE`` lengths in 1.6). It walks a cursor over the payload's bytes (a view
given to it is copied once). Whatever the bytes, it returns a ``Node`` or raises
``RemoteProtocolError`` naming the byte offset (``base_offset`` + position in the
payload), with ``<stream:error><xml-not-well-formed/></stream:error>`` as the reply hint
(§3.17). What the bytes may make it build is bounded by a
:class:`~simulator.wire.limits.WireLimits` (nesting depth, children and attributes per
node, nodes per frame, string length): each announced size is checked before anything is
built for it, so no frame can cost more than its limits, whatever it announces.

Text: the wire carries bytes. Tags, keys and values become ``str`` through UTF-8 with
``surrogateescape`` and go back the same way, so any byte string survives a round trip.
Data stays ``bytes``; data a peer wrote as a token, JID or packed string decodes to the
UTF-8 bytes of its text (§1.4.2 "Decoding data vs. strings").

Decisions where the protocol leaves room:

* Null token ``00`` where a string is expected: the clients read it as ``None`` (§6.1).
  We read it as ``""`` for keys and values (yowsup clients write ``""`` that way), as
  "no user" in a JID user position (§1.4.2), and reject it as a tag or JID server.
  Empty tags are rejected too (§1.4.1 "a tag that decodes to null is an error").
* ``FE`` (31-bit length) is rejected in 1.5, as the 1.5 clients do. In 1.6 it is read as
  4 big-endian bytes, top bit ignored; yowsup 2.5.7 breaks on it but the form is the
  1.6 writers' own, and the length check against the frame keeps it harmless.
* Trailing bytes after the node are rejected. The clients silently drop them (§1.3), but
  no client sends them (no recorded frame has any), so they mean a framing bug.
* Empty data ``b""`` is written ``FC 00`` and read back as ``b""``. §1.4.3 says the server
  should omit empty data rather than send it; that is the caller's choice, not the
  codec's.
* A child list of size 0 (``00``, ``F8 00``) reads as no children. A repeated attribute
  key reads as its last value (§1.4.1).
* The stream start and end are the pseudo tags ``stream:start`` (tag byte ``01``) and
  ``stream:end`` (tag byte ``02``), read and written like any other node (§1.4.5).
* Packed strings must be exact: the padding nibble of an odd-length string must be
  ``0xF`` and every other nibble must be in the alphabet (§1.4.2).
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING, Final

from simulator.errors import LocalProtocolError, RemoteProtocolError
from simulator.wire.limits import DEFAULT_LIMITS, WireLimits
from simulator.wire.node import Node
from simulator.wire.tokens import PRIMARY_FIRST, Dialect, token_table

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "MAX_DEPTH",
    "MAX_LIST_SIZE",
    "MAX_STRING_SIZE",
    "STREAM_END",
    "STREAM_START",
    "XML_NOT_WELL_FORMED",
    "decode",
    "encode",
]

STREAM_START: Final = "stream:start"
"""Pseudo tag of the stream start (tag byte ``01``, §1.4.5)."""
STREAM_END: Final = "stream:end"
"""Pseudo tag of the stream end (tag byte ``02``, §1.3)."""

MAX_DEPTH: Final = DEFAULT_LIMITS.max_depth
"""Deepest nesting of child lists when writing; the reader's default limit is the same."""
MAX_LIST_SIZE: Final = 0xFFFF
"""Largest list: ``F9`` has a 16-bit size (§1.4.1)."""
MAX_STRING_SIZE: Final = 0xFFFFF
"""Largest byte string: the frame limit (§1.5)."""

XML_NOT_WELL_FORMED: Final = Node("stream:error", children=[Node("xml-not-well-formed")])
"""The reply hint of every decoding error: the real server's answer to undecodable bytes."""

# Markers (§1.4.1, §1.4.2).
_LIST_EMPTY: Final = 0x00
_STREAM_START_BYTE: Final = 0x01
_STREAM_END_BYTE: Final = 0x02
_SECONDARY: Final = 0xEC
_LIST8: Final = 0xF8
_LIST16: Final = 0xF9
_JID: Final = 0xFA
_HEX: Final = 0xFB
_BYTES8: Final = 0xFC
_BYTES20: Final = 0xFD
_BYTES31: Final = 0xFE
_NIBBLE: Final = 0xFF

_LIST_MARKERS: Final = frozenset((_LIST_EMPTY, _LIST8, _LIST16))
_MAX_PACKED: Final = 127  # packed strings are < 128 characters (§1.4.2)


# ==================================================================== encoding


@cache
def _token_bytes(dialect: Dialect) -> Mapping[str, bytes]:
    """Every token of the dialect and the bytes that write it (§5)."""
    table = token_table(dialect)
    out = {text: bytes((i,)) for text, i in table.primary_index.items()}
    for text, i in table.secondary_index.items():
        # 1.6 only has secondary indices >= 256; they need ED (§1.4.2).
        out[text] = bytes((_SECONDARY + (i >> 8), i & 0xFF))
    return out


def _pack_table(alphabet: str) -> bytes:
    """A ``bytes.translate`` table: each alphabet byte -> the hex digit of its code, others -> 0."""
    table = bytearray(256)
    for code, char in enumerate(alphabet):
        table[ord(char)] = ord(f"{code:x}")
    return bytes(table)


_NIBBLE_DIGITS: Final = _pack_table("0123456789-.")
_HEX_DIGITS: Final = _pack_table("0123456789ABCDEF")


def _pack(raw: bytes) -> bytes | None:
    """``raw`` nibble- or hex-packed as a 1.6 client writes it, or ``None`` (§1.4.2)."""
    if not 0 < len(raw) <= _MAX_PACKED:
        return None
    marker, digits = _NIBBLE, raw.translate(_NIBBLE_DIGITS)
    if 0 in digits:
        marker, digits = _HEX, raw.translate(_HEX_DIGITS)
        if 0 in digits:
            return None
    odd = len(digits) & 1
    packed = bytes.fromhex((digits + b"f" * odd).decode("ascii"))  # 0xF pads an odd length
    return bytes((marker, odd << 7 | len(packed))) + packed


_CACHE_SIZE: Final = 4096
"""Most strings each writer cache keeps (it starts afresh when full)."""
_CACHED_LENGTH: Final = 64
"""Longest string the caches keep (JIDs, keys, values; not long texts)."""


@cache
def _string_caches(dialect: Dialect, pack: bool) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """The bytes of strings already written, per dialect and packing: (attribute values
    and JID users, which may pack; tags and keys, which never do). A connection writes
    the same JIDs, keys and values over and over; each is worked out once."""
    return {}, {}


_MARKED_TAGS: Final = frozenset((STREAM_START, STREAM_END, ""))
"""Tags :meth:`_Writer.tag` writes as a marker byte or refuses."""
_WriterTables = tuple["Mapping[str, bytes]", dict[str, bytes], dict[str, bytes]]
_WRITER_TABLES: list[_WriterTables | None] = [None, None, None, None]


def _writer_tables(dialect: Dialect, pack: bool) -> _WriterTables:
    """The tokens and the two string caches of ``dialect`` and ``pack``, found by
    identity (see :func:`_reader_tables`)."""
    index = (2 if dialect is Dialect.V16 else 0) + pack
    tables = _WRITER_TABLES[index]
    if tables is None:
        tables = (_token_bytes(dialect), *_string_caches(dialect, pack))
        _WRITER_TABLES[index] = tables
    return tables


class _Writer:
    """Appends nodes to one ``bytearray``; ``pack`` selects the 1.6 client behaviour."""

    __slots__ = ("out", "pack", "plain_cache", "tokens", "value_cache")

    def __init__(self, dialect: Dialect, pack: bool) -> None:
        self.pack = pack
        self.out = bytearray()
        self.tokens, self.value_cache, self.plain_cache = _writer_tables(dialect, pack)

    def node(self, node: Node, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise LocalProtocolError(f"node <{node.tag}> is nested deeper than {MAX_DEPTH}")
        tag, attrs = node.tag, node.attrs
        size = 1 + 2 * len(attrs) + (bool(node.children) or node.data is not None)
        out, plain, values = self.out, self.plain_cache, self.value_cache
        written = plain.get(tag)
        # The usual start, inline: a tag written before (keys share the cache, so the
        # tags a key may not stand for are left to tag()).
        if written is not None and size < 256 and tag not in _MARKED_TAGS:
            out += bytes((_LIST8, size))
            out += written
        else:
            self.list_start(size, tag)
            self.tag(tag)
        for key, value in attrs.items():
            written = plain.get(key)
            if written is None:
                written = self.cached(key, packable=False)
            out += written
            written = values.get(value)
            if written is None:
                written = self.cached(value, packable=True)
            out += written
        if node.data is not None:
            self.raw(node.data)  # never a token, JID or packed (§1.4.3 rule 3)
        elif node.children:
            self.list_start(len(node.children), node.tag)
            for child in node.children:
                self.node(child, depth + 1)

    def list_start(self, size: int, tag: str) -> None:
        if size < 256:
            self.out += bytes((_LIST8, size))
        elif size <= MAX_LIST_SIZE:
            self.out += bytes((_LIST16, size >> 8, size & 0xFF))
        else:
            raise LocalProtocolError(
                f"node <{tag}> needs a list of {size} items; the limit is {MAX_LIST_SIZE}"
            )

    def tag(self, tag: str) -> None:
        if tag == STREAM_START:
            self.out.append(_STREAM_START_BYTE)
        elif tag == STREAM_END:
            self.out.append(_STREAM_END_BYTE)
        elif not tag:
            raise LocalProtocolError("a node needs a non-empty tag (§1.4.1)")
        else:
            written = self.plain_cache.get(tag)
            self.out += self.cached(tag, packable=False) if written is None else written

    def cached(self, text: str, *, packable: bool) -> bytes:
        """The bytes of ``text`` as :meth:`string` writes it, remembered for next time."""
        out = self.out
        start = len(out)
        self.string(text, packable=packable)
        written = bytes(out[start:])
        del out[start:]
        if len(text) <= _CACHED_LENGTH:
            cache = self.value_cache if packable else self.plain_cache
            if len(cache) >= _CACHE_SIZE:
                cache.clear()
            cache[text] = written
        return written

    def string(self, text: str, *, packable: bool, jid: bool = True) -> None:
        token = self.tokens.get(text)
        if token is not None:
            self.out += token
            return
        at = text.find("@") if jid else -1
        if at >= 1:  # a JID pair; a string starting with '@' is plain bytes (§1.4.2)
            self.out.append(_JID)
            self.string(text[:at], packable=True)  # JID users pack like values
            # The clients would split a server part holding another '@' into a nested pair;
            # bytes decode to the same text without the nesting.
            self.string(text[at + 1 :], packable=False, jid=False)
            return
        raw = _utf8(text)
        packed = _pack(raw) if packable and self.pack else None
        if packed is not None:
            self.out += packed
        else:
            self.raw(raw)

    def raw(self, raw: bytes) -> None:
        size = len(raw)
        if size < 256:
            self.out += bytes((_BYTES8, size))
        elif size <= MAX_STRING_SIZE:
            self.out += bytes((_BYTES20, size >> 16, (size >> 8) & 0xFF, size & 0xFF))
        else:
            raise LocalProtocolError(
                f"a string of {size} bytes does not fit in a frame (limit {MAX_STRING_SIZE})"
            )
        self.out += raw


def _utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError as exc:
        raise LocalProtocolError(
            f"string {text[:40]!r} cannot be written as bytes: {exc}"
        ) from None


def encode(node: Node, dialect: Dialect, *, pack: bool = False) -> bytes:
    """Write ``node`` as the payload of one frame (no frame header).

    Args:
        node: the node; the tags ``stream:start`` / ``stream:end`` write the stream start
            and end markers (§1.4.5).
        dialect: the connection's dialect (its preamble, §1.2).
        pack: write like a 1.6 client (packed attribute values and JID users) instead of
            the canonical server writer. Only allowed with ``Dialect.V16``.

    Raises:
        LocalProtocolError: the node cannot be written (empty tag, too many items, a
            string too long for a frame, nesting deeper than ``MAX_DEPTH``), or ``pack``
            was asked for 1.5, whose clients never pack.

    >>> encode(Node("iq", {"id": "1"}), Dialect.V15).hex(" ")
    'f8 03 4a 44 c2'
    """
    if pack and dialect is not Dialect.V16:
        raise LocalProtocolError("only 1.6 clients pack strings; pack=True needs Dialect.V16")
    writer = _Writer(dialect, pack)
    writer.node(node, 0)
    return bytes(writer.out)


# ==================================================================== decoding


@cache
def _single_byte_strings(dialect: Dialect) -> tuple[str | None, ...]:
    """For each first byte, the string it stands for alone, or ``None`` (§1.4.2)."""
    table = token_table(dialect)
    out: list[str | None] = [None] * 256
    for i in range(PRIMARY_FIRST, _SECONDARY):
        out[i] = table.primary[i]
    if dialect is Dialect.V15:
        # 1.5 decoders read ED..F4 as one-byte aliases of secondary[0..7].
        for b in range(_SECONDARY + 1, 0xF5):
            out[b] = table.secondary[b - _SECONDARY - 1]
    return tuple(out)


@cache
def _read_cache(dialect: Dialect) -> dict[bytes, str]:
    """What the packed strings and JIDs read in ``dialect`` stood for, by their bytes.

    Ids, timestamps and JIDs come again and again (every ack and receipt repeats the
    message's); reading one costs a hex conversion, a translation and a scan for bad
    nibbles, a JID two more strings and a join. The bytes decide the string alone (the
    dialect is the cache's), so a string read once is looked up afterwards. Bounded like
    the writer's caches: it starts afresh when full.
    """
    return {}


_ReaderTables = tuple[tuple[str | None, ...], tuple[str, ...], dict[bytes, str]]
_READER_TABLES: list[_ReaderTables | None] = [None, None]


def _reader_tables(dialect: Dialect) -> _ReaderTables:
    """The single-byte strings, the secondary tokens and the read cache of ``dialect``:
    found by identity (an ``Enum``'s hash, which ``functools.cache`` needs, is a Python
    call, and a reader is made for every frame)."""
    index = 1 if dialect is Dialect.V16 else 0
    tables = _READER_TABLES[index]
    if tables is None:
        secondary = token_table(dialect).secondary
        tables = (_single_byte_strings(dialect), tuple(secondary), _read_cache(dialect))
        _READER_TABLES[index] = tables
    return tables


_NIBBLE_TEXT: Final = str.maketrans("ab", "-.")
_BAD_NIBBLE: Final = re.compile("[c-f]")
_NOT_STRINGS: Final = {
    _STREAM_START_BYTE: "the stream start marker 0x01",
    _STREAM_END_BYTE: "the stream end marker 0x02",
    _LIST8: "the list marker 0xF8",
    _LIST16: "the list marker 0xF9",
}


class _Reader:
    """A cursor over one frame payload. ``pos`` is the next byte to read."""

    __slots__ = (
        "base",
        "buf",
        "dialect",
        "end",
        "limits",
        "nodes",
        "pos",
        "read_cache",
        "secondary",
        "singles",
    )

    def __init__(
        self, data: bytes | memoryview, dialect: Dialect, base: int, limits: WireLimits
    ) -> None:
        # A ``bytes`` object, not a view: indexing and slicing it are cheaper, and the
        # hot paths read small frames whose strings are copied out anyway.
        self.buf = data if type(data) is bytes else memoryview(data).tobytes()
        self.end = len(self.buf)
        self.pos = 0
        self.base = base
        self.dialect = dialect
        self.singles, self.secondary, read_cache = _reader_tables(dialect)
        self.limits = limits
        self.nodes = 0  # nodes started so far, against limits.max_nodes
        # A cached JID skips the depth check of jid(0): only where that check passes.
        self.read_cache = read_cache if limits.max_depth > 0 else None

    # ---------------------------------------------------------------- primitives

    def fail(self, msg: str, at: int) -> RemoteProtocolError:
        offset = self.base + at
        return RemoteProtocolError(
            f"{msg} at offset {offset}", offset=offset, reply_hint=XML_NOT_WELL_FORMED
        )

    def peek(self) -> int:
        """The next byte without consuming it, or -1 at the end of the frame."""
        return self.buf[self.pos] if self.pos < self.end else -1

    def byte(self, what: str) -> int:
        pos = self.pos
        if pos >= self.end:
            raise self.fail(f"the frame ends where {what} was expected", pos)
        self.pos = pos + 1
        return self.buf[pos]

    def take(self, size: int, what: str, at: int) -> bytes:
        """The next ``size`` bytes; ``at`` is where the item that announced them started."""
        start = self.pos
        if size > self.end - start:
            left = self.end - start
            raise self.fail(f"{what} runs past the end of the frame ({left} bytes left)", at)
        self.pos = start + size
        return self.buf[start : self.pos]

    # ---------------------------------------------------------------- nodes

    def list_size(self, marker: int, at: int) -> int:
        if marker == _LIST8:
            return self.byte("a list size")
        if marker == _LIST16:
            return int.from_bytes(self.take(2, "a 2-byte list size", at), "big")
        if marker == _LIST_EMPTY:
            return 0
        raise self.fail(f"expected a list (0x00, 0xF8 or 0xF9), got 0x{marker:02X}", at)

    def node(self, depth: int) -> Node:
        buf, end = self.buf, self.end
        start = pos = self.pos
        if pos + 1 < end and buf[pos] == _LIST8:  # the usual form, inline
            size = buf[pos + 1]
            self.pos = pos + 2
        else:
            size = self.list_size(self.byte("a node"), start)
        if size == 0:
            raise self.fail("a node cannot be an empty list", start)
        self.nodes += 1
        if self.nodes > self.limits.max_nodes:
            raise self.fail(f"more than {self.limits.max_nodes} nodes in one frame", start)
        if (size - 1) // 2 > self.limits.max_attrs:
            raise self.fail(
                f"a node with {(size - 1) // 2} attributes (limit {self.limits.max_attrs})", start
            )
        # The usual forms are read inline (a one-byte token, a short plain string, a
        # cached JID or packed string); anything else, and every error, goes through
        # the methods below from the same position, so the result is theirs.
        pos = self.pos
        singles = self.singles
        tag = singles[buf[pos]] if pos < end else None
        if tag is None:
            tag = self.tag()
            pos = self.pos
        else:
            pos += 1
        attrs: dict[str, str] = {}
        max_string = self.limits.max_string
        for _ in range((size - 1) // 2):  # a repeated key: the last one wins (§1.4.1)
            key = singles[buf[pos]] if pos < end else None
            if key is None:
                self.pos = pos
                key = self.string(0) or ""
                pos = self.pos
            else:
                pos += 1
            first = buf[pos] if pos < end else -1
            value = singles[first] if first >= 0 else None
            if value is not None:
                pos += 1
            elif first == _BYTES8 and pos + 1 < end and buf[pos + 1] <= max_string:
                stop = pos + 2 + buf[pos + 1]
                if stop > end:
                    self.pos = pos
                    self.string(0)  # raises: the string runs past the end
                value = buf[pos + 2 : stop].decode("utf-8", "surrogateescape")
                pos = stop
            elif first in (_JID, _NIBBLE, _HEX):
                self.pos = pos + 1
                value = self.cached(first, 0, pos)
                pos = self.pos
            else:
                self.pos = pos
                value = self.string(0) or ""
                pos = self.pos
            attrs[key] = value
        self.pos = pos
        if size % 2:
            return Node(tag, attrs)
        return self.body(tag, attrs, depth)

    def tag(self) -> str:
        at = self.pos
        first = self.peek()
        if first == _STREAM_START_BYTE:
            self.pos += 1
            return STREAM_START
        if first == _STREAM_END_BYTE:
            self.pos += 1
            return STREAM_END
        tag = self.string(0)
        if not tag:
            raise self.fail("a node tag cannot be null or empty", at)
        return tag

    def body(self, tag: str, attrs: dict[str, str], depth: int) -> Node:
        """The item after the attributes of an even-sized list: children or data."""
        at = self.pos
        first = self.peek()
        if first in _LIST_MARKERS:
            if depth >= self.limits.max_depth:
                raise self.fail(f"nodes nested deeper than {self.limits.max_depth}", at)
            self.pos += 1
            count = self.list_size(first, at)
            if count > self.limits.max_children:
                raise self.fail(
                    f"a node with {count} children (limit {self.limits.max_children})", at
                )
            return Node(tag, attrs, [self.node(depth + 1) for _ in range(count)])
        if first == _BYTES8 and at + 1 < self.end:  # the usual short data, inline
            stop = at + 2 + self.buf[at + 1]
            if stop <= self.end and stop - at - 2 <= self.limits.max_string:
                self.pos = stop
                return Node(tag, attrs, data=self.buf[at + 2 : stop])
        if first in (_BYTES8, _BYTES20, _BYTES31):
            self.pos += 1
            return Node(tag, attrs, data=self.raw(first, at))
        text = self.string(0) or ""  # a token, JID or packed string (§1.4.2)
        return Node(tag, attrs, data=text.encode("utf-8", "surrogateescape"))

    # ---------------------------------------------------------------- strings

    def string(self, depth: int) -> str | None:
        """One string; ``None`` for the null token ``00``. ``depth`` counts enclosing JIDs."""
        at = self.pos
        if at >= self.end:
            raise self.fail("the frame ends where a string was expected", at)
        first = self.buf[at]
        self.pos = at + 1
        text = self.singles[first]
        if text is not None:
            return text
        if first == _LIST_EMPTY:
            return None
        if first in (_JID, _NIBBLE, _HEX):
            return self.cached(first, depth, at)
        if first in (_BYTES8, _BYTES20, _BYTES31):
            return self.raw(first, at).decode("utf-8", "surrogateescape")
        return self.secondary_token(first, at)

    def cached(self, first: int, depth: int, at: int) -> str:
        """A JID or packed string starting at ``at`` (its marker ``first`` read), from
        the read cache when these bytes were read before. Cached: packed strings, and
        at depth 0 JIDs of a packed or short plain user and a one-byte server token (the
        usual form)."""
        cache = self.read_cache
        buf, end = self.buf, self.end
        stop = 0
        if cache is not None and at + 2 < end:
            if first != _JID:
                stop = at + 2 + (buf[at + 1] & 0x7F)
            elif depth == 0:
                user = buf[at + 1]
                server = 0
                if user in (_NIBBLE, _HEX):
                    server = at + 3 + (buf[at + 2] & 0x7F)
                elif user == _BYTES8 and buf[at + 2] <= self.limits.max_string:
                    server = at + 3 + buf[at + 2]
                if server and server < end and self.singles[buf[server]] is not None:
                    stop = server + 1
        if cache is None or not stop or stop > end:
            return self.jid(depth, at) if first == _JID else self.packed(first, at)
        key = buf[at:stop]
        text = cache.get(key)
        if text is not None:
            self.pos = stop
            return text
        text = self.jid(depth, at) if first == _JID else self.packed(first, at)
        if self.pos == stop:
            if len(cache) >= _CACHE_SIZE:
                cache.clear()
            cache[key] = text
        return text

    def secondary_token(self, first: int, at: int) -> str:
        if self.dialect is Dialect.V16 and _SECONDARY <= first <= 0xEF:
            index = (first - _SECONDARY) << 8 | self.byte("a secondary token index")
        elif first == _SECONDARY:  # 1.5: EC i
            index = self.byte("a secondary token index")
        elif first in _NOT_STRINGS:
            raise self.fail(f"{_NOT_STRINGS[first]} where a string was expected", at)
        else:
            raise self.fail(f"unknown token 0x{first:02X} in dialect {self.dialect.value}", at)
        if index >= len(self.secondary):
            raise self.fail(f"secondary token {index} is not in the {self.dialect.value} table", at)
        return self.secondary[index]

    def jid(self, depth: int, at: int) -> str:
        if depth >= self.limits.max_depth:
            raise self.fail(f"JID pairs nested deeper than {self.limits.max_depth}", at)
        user = self.string(depth + 1)
        server_at = self.pos
        server = self.string(depth + 1)
        if server is None:
            raise self.fail("a JID pair with a null server", server_at)
        return server if user is None else f"{user}@{server}"  # null user: just the server

    def raw(self, marker: int, at: int) -> bytes:
        if marker == _BYTES8:
            pos = self.pos
            if pos >= self.end:
                raise self.fail("the frame ends where a string length was expected", pos)
            size = self.buf[pos]
            self.pos = pos + 1
        elif marker == _BYTES20:
            size = int.from_bytes(self.take(3, "a 3-byte string length", at), "big")
            if self.dialect is Dialect.V16:
                size &= 0xFFFFF  # 1.6 reads 20 bits, 1.5 reads 24 (§1.6)
        elif self.dialect is Dialect.V16:
            size = int.from_bytes(self.take(4, "a 4-byte string length", at), "big") & 0x7FFFFFFF
        else:
            raise self.fail("the 31-bit string length 0xFE does not exist in dialect 1.5", at)
        if size > self.limits.max_string:
            raise self.fail(f"a string of {size} bytes (limit {self.limits.max_string})", at)
        return self.take(size, f"a string of {size} bytes", at)

    def packed(self, marker: int, at: int) -> str:
        if marker == _HEX and self.dialect is Dialect.V15:
            raise self.fail("the hex-packed string 0xFB does not exist in dialect 1.5", at)
        pos = self.pos
        if pos >= self.end:
            raise self.fail("the frame ends where a packed string header was expected", pos)
        header = self.buf[pos]
        self.pos = pos + 1
        odd, size = header >> 7, header & 0x7F
        if odd and not size:
            raise self.fail("a packed string with a padding nibble but no bytes", at)
        digits = self.take(size, f"a packed string of {size} bytes", at).hex()
        if odd:
            if digits[-1] != "f":
                raise self.fail(
                    f"packed string padding nibble 0x{digits[-1].upper()} is not 0xF", at
                )
            digits = digits[:-1]
        if marker == _HEX:
            return digits.upper()
        bad = _BAD_NIBBLE.search(digits)
        if bad:
            nibble_at = self.pos - size + bad.start() // 2
            raise self.fail(
                f"nibble 0x{bad.group().upper()} is not in the packed alphabet", nibble_at
            )
        return digits.translate(_NIBBLE_TEXT)


def decode(
    data: bytes | memoryview,
    dialect: Dialect,
    *,
    base_offset: int = 0,
    limits: WireLimits = DEFAULT_LIMITS,
) -> Node:
    """Read the one node of a frame payload.

    Args:
        data: the payload (decrypted, without the frame header), exactly one node.
        dialect: the connection's dialect (its preamble, §1.2).
        base_offset: added to positions in ``data`` in error messages and
            ``RemoteProtocolError.offset``, e.g. the stream offset of the payload.
        limits: what the bytes may make us build (depth, children, attributes, nodes,
            string length); see :class:`~simulator.wire.limits.WireLimits`.

    Raises:
        RemoteProtocolError: the bytes are not exactly one node of this dialect, or go
            over a limit. Its message names the offset; ``reply_hint`` is
            ``XML_NOT_WELL_FORMED``.

    >>> decode(bytes.fromhex("f8034a44c2"), Dialect.V15)
    Node.parse('<iq id="1"/>')
    """
    reader = _Reader(data, dialect, base_offset, limits)
    node = reader.node(0)
    if reader.pos != reader.end:
        raise reader.fail(f"{reader.end - reader.pos} bytes follow the node", reader.pos)
    return node
