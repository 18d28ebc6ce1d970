"""Hypothesis strategies for FunXMPP values, shared by the whole test suite.

The strings lean towards what the wire treats specially (PROTOCOL.md §1.4.2): dictionary
tokens of both dialects, JIDs, strings of the nibble and hex alphabets (around the
127-character packing limit), the empty string, and arbitrary text including the lone
surrogates that ``surrogateescape`` makes of undecodable bytes. Use ``nodes()`` for the
wire and ``text_nodes()`` where the node must also survive the tx/rx text form.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from hypothesis import strategies as st

from simulator.wire.codec import STREAM_END, STREAM_START
from simulator.wire.node import Node
from simulator.wire.tokens import Dialect, token_table

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

__all__ = [
    "hex_strings",
    "jids",
    "names",
    "nibble_strings",
    "node_data",
    "nodes",
    "strings",
    "text_nodes",
    "texts",
    "tokens",
]

ALL_TOKENS = sorted(
    {
        text
        for dialect in Dialect
        for text in (*token_table(dialect).primary_index, *token_table(dialect).secondary_index)
    }
)
"""Every real token of either dictionary (a 1.6 token is plain text on a 1.5 wire)."""

SERVERS = ("s.whatsapp.net", "g.us", "broadcast", "s.us")

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_:.\-]{0,30}")  # what Node.parse accepts as a name


NAME_TOKENS = [token for token in ALL_TOKENS if _NAME.fullmatch(token)]
"""The tokens that are also names in the text form."""

# sampled_from() would put the whole list in the strategy's repr; hypothesis warns once
# reprs pass 30 kB, and pytest turns warnings into errors. Index into the lists instead.


def _token(index: int) -> str:
    return ALL_TOKENS[index]


def _name_token(index: int) -> str:
    return NAME_TOKENS[index]


def tokens() -> SearchStrategy[str]:
    """A token of the 1.5 or the 1.6 dictionary."""
    return st.integers(0, len(ALL_TOKENS) - 1).map(_token)


def _packable(alphabet: str, min_size: int) -> SearchStrategy[str]:
    # Mostly short, sometimes around the 127-character packing limit.
    return st.one_of(
        st.text(alphabet, min_size=min_size, max_size=20),
        st.text(alphabet, min_size=max(min_size, 120), max_size=135),
    )


def nibble_strings(*, min_size: int = 0) -> SearchStrategy[str]:
    """Text of the nibble alphabet ``0-9 - .`` (phone numbers, ids, timestamps)."""
    return _packable("0123456789-.", min_size)


def hex_strings(*, min_size: int = 0) -> SearchStrategy[str]:
    """Upper-case hex text (what a 1.6 client hex-packs)."""
    return _packable("0123456789ABCDEF", min_size)


def texts() -> SearchStrategy[str]:
    """Any text the wire can carry: Unicode, or bytes decoded with ``surrogateescape``."""
    return st.one_of(
        st.text(st.characters(codec="utf-8"), max_size=30),
        st.binary(max_size=30).map(lambda raw: raw.decode("utf-8", "surrogateescape")),
    )


def jids() -> SearchStrategy[str]:
    """``user@server``: phone numbers, group ids, packable and odd users, usual servers."""
    phone = st.text("0123456789", min_size=8, max_size=15)
    group = st.builds("{}-{}".format, phone, st.integers(1_300_000_000, 1_500_000_000))
    odd_user = st.text(st.characters(codec="utf-8", exclude_characters="@"), max_size=20)
    user = st.one_of(
        phone, group, nibble_strings(min_size=1), hex_strings(min_size=1), tokens(), odd_user
    ).filter(bool)
    server = st.one_of(st.sampled_from(SERVERS), tokens(), texts())
    return st.builds("{}@{}".format, user, server)


def strings() -> SearchStrategy[str]:
    """Any string a tag, key or value may hold, biased towards special wire forms."""
    return st.one_of(st.just(""), tokens(), nibble_strings(), hex_strings(), jids(), texts())


def names() -> SearchStrategy[str]:
    """Tags and keys that the text form can write (XML-like names, tokens included)."""
    return st.one_of(
        st.integers(0, len(NAME_TOKENS) - 1).map(_name_token),
        st.from_regex(_NAME, fullmatch=True),
    )


def node_data() -> SearchStrategy[bytes | None]:
    """No data, short or long (``FD``-sized) binary data, or UTF-8 text."""
    return st.one_of(
        st.none(),
        st.binary(max_size=40),
        st.binary(min_size=250, max_size=300),
        st.text(max_size=40).map(str.encode),
    )


def nodes(
    *,
    tags: SearchStrategy[str] | None = None,
    keys: SearchStrategy[str] | None = None,
    values: SearchStrategy[str] | None = None,
    data: SearchStrategy[bytes | None] | None = None,
    max_leaves: int = 8,
) -> SearchStrategy[Node]:
    """Node trees; leaves carry data or nothing, inner nodes carry children.

    The defaults cover everything the codec must round-trip, the stream pseudo tags
    included. Pass strategies to narrow it.
    """
    if tags is None:
        tags = st.one_of(strings().filter(bool), st.sampled_from([STREAM_START, STREAM_END]))
    attrs = st.dictionaries(
        strings() if keys is None else keys, strings() if values is None else values, max_size=4
    )
    leaves = st.builds(Node, tags, attrs, st.just(()), node_data() if data is None else data)
    return st.recursive(
        leaves,
        lambda children: st.builds(Node, tags, attrs, st.lists(children, min_size=1, max_size=4)),
        max_leaves=max_leaves,
    )


def text_nodes() -> SearchStrategy[Node]:
    """Node trees whose tags and keys are names, so ``Node.parse(str(node)) == node``."""
    return nodes(tags=names(), keys=names())
