"""What a peer's bytes may make the reader build or hold is bounded (``WireLimits``).

Each limit is tried just at and just over its value: at the limit the node decodes, over
it the reader raises ``RemoteProtocolError`` with the offset and the stream error hint,
before building anything for what was announced.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.errors import RemoteProtocolError
from simulator.wire.codec import XML_NOT_WELL_FORMED, decode, encode
from simulator.wire.connection import Connection
from simulator.wire.events import Role
from simulator.wire.framing import FrameBuffer, frame_header
from simulator.wire.limits import MAX_FRAME, WireLimits
from simulator.wire.node import Node
from simulator.wire.tokens import Dialect
from tests.strategies import nodes

V16 = Dialect.V16


def _refused(payload: bytes, limits: WireLimits, message: str) -> RemoteProtocolError:
    with pytest.raises(RemoteProtocolError, match=message) as info:
        decode(payload, V16, base_offset=100, limits=limits)
    error = info.value
    assert error.offset is not None and error.offset >= 100
    assert error.reply_hint == XML_NOT_WELL_FORMED
    return error


def _chain(depth: int) -> Node:
    node = Node("x")
    for _ in range(depth):
        node = Node("x", children=[node])
    return node


@pytest.mark.parametrize(
    ("limits", "at_limit", "over_limit", "message"),
    [
        (
            WireLimits(max_children=3),
            Node("list", children=[Node("x")] * 3),
            Node("list", children=[Node("x")] * 4),
            "a node with 4 children",
        ),
        (
            WireLimits(max_attrs=2),
            Node("x", {"a": "1", "b": "2"}),
            Node("x", {"a": "1", "b": "2", "c": "3"}),
            "a node with 3 attributes",
        ),
        (
            WireLimits(max_nodes=5),
            Node("list", children=[Node("x")] * 4),
            Node("list", children=[Node("x")] * 5),
            "more than 5 nodes in one frame",
        ),
        (
            WireLimits(max_depth=3),
            _chain(3),
            _chain(4),
            "nested deeper than 3",
        ),
        (
            WireLimits(max_string=10),
            Node("x", data=b"0123456789"),
            Node("x", data=b"0123456789A"),
            "a string of 11 bytes",
        ),
        (
            WireLimits(max_string=10),
            Node("x", {"id": "0123456789"}),
            Node("x", {"id": "0123456789A"}),
            "a string of 11 bytes",
        ),
    ],
    ids=["children", "attributes", "nodes", "depth", "data", "value"],
)
def test_each_node_limit_holds_at_its_value_and_refuses_one_more(
    limits: WireLimits, at_limit: Node, over_limit: Node, message: str
) -> None:
    assert decode(encode(at_limit, V16), V16, limits=limits) == at_limit
    _refused(encode(over_limit, V16), limits, message)


def test_an_announced_list_size_is_refused_before_its_items_are_read() -> None:
    # F9 FFFF: 65535 children announced, none sent; refused at the announcement, not after
    # trying to read them.
    payload = bytes.fromhex("F8 02") + b"\xfc\x01x" + bytes.fromhex("F9 FF FF")
    error = _refused(payload, WireLimits(max_children=100), "a node with 65535 children")
    assert error.offset == 100 + 5


def test_a_small_frame_of_tiny_nodes_cannot_become_a_huge_tree() -> None:
    # 57k tiny nodes (each list within the children limit) fit in one allowed frame: the
    # node count stops it before that many Python objects pile up.
    part = Node("part", children=[Node("x")] * 19_000)
    payload = encode(Node("list", children=[part] * 3), V16)
    assert len(payload) < MAX_FRAME
    _refused(payload, WireLimits(), "more than 50000 nodes in one frame")


# Hypothesis: whatever the tree and the limits, decode either returns the tree (every
# measure within its limit) or refuses it with RemoteProtocolError (some measure over).


def _measures(node: Node, depth: int = 0) -> tuple[int, int, int, int, int]:
    """(nodes, deepest nesting, most children, most attributes, longest data)."""
    count, deepest = 1, depth
    widest, most_attrs = len(node.children), len(node.attrs)
    longest = len(node.data or b"")
    for child in node.children:
        c, d, w, a, s = _measures(child, depth + 1)
        count, deepest = count + c, max(deepest, d)
        widest, most_attrs, longest = max(widest, w), max(most_attrs, a), max(longest, s)
    return count, deepest, widest, most_attrs, longest


@given(
    node=nodes(max_leaves=12),
    max_nodes=st.integers(1, 14),
    max_depth=st.integers(1, 5),
    max_children=st.integers(1, 5),
    max_attrs=st.integers(1, 5),
)
def test_decode_either_returns_the_tree_or_refuses_it_by_its_limits(
    node: Node, max_nodes: int, max_depth: int, max_children: int, max_attrs: int
) -> None:
    limits = WireLimits(
        max_nodes=max_nodes, max_depth=max_depth, max_children=max_children, max_attrs=max_attrs
    )
    count, deepest, widest, most_attrs, _ = _measures(node)
    within = (
        count <= max_nodes
        and deepest <= max_depth
        and widest <= max_children
        and most_attrs <= max_attrs
    )
    payload = encode(node, V16)
    if within:
        assert decode(payload, V16, limits=limits) == node
    else:
        with pytest.raises(RemoteProtocolError):
            decode(payload, V16, limits=limits)


# Frames: the announced length is checked against the limit as soon as the header is in.


def test_a_header_over_the_limit_is_refused_before_its_payload_arrives() -> None:
    buf = FrameBuffer(max_payload=1000)
    buf.feed(frame_header(1001, encrypted=False))
    with pytest.raises(RemoteProtocolError, match="a frame of 1001 bytes at offset 0") as info:
        buf.next_frame()
    assert info.value.reply_hint == XML_NOT_WELL_FORMED
    ok = FrameBuffer(max_payload=1000)
    ok.feed(frame_header(1000, encrypted=False) + bytes(1000))
    frame = ok.next_frame()
    assert frame is not None and len(frame.payload) == 1000


def test_a_buffer_lets_go_of_a_big_frame_once_it_is_handed_out() -> None:
    buf = FrameBuffer()
    buf.feed(frame_header(500_000, encrypted=False) + bytes(500_000))
    assert buf.capacity >= 500_000
    assert buf.next_frame() is not None
    assert len(buf) == 0 and buf.capacity < 1024


def test_before_login_a_frame_may_be_only_a_login_frame() -> None:
    limits = WireLimits(max_login_frame=2048)
    conn = Connection(Role.SERVER, limits=limits)
    assert conn.receive_size <= 2048 + 3  # the link never reads more than one login frame
    conn.receive_data(b"WA\x01\x06" + frame_header(MAX_FRAME, encrypted=False) + bytes(1000))
    with pytest.raises(RemoteProtocolError, match=f"a frame of {MAX_FRAME} bytes at offset 4"):
        conn.next_event()
    assert conn.buffer_capacity < 2048 + 1024 + 8  # nothing was kept for the announcement


def test_limits_must_be_positive_and_fit_a_frame() -> None:
    with pytest.raises(ValueError, match="max_children must be at least 1"):
        WireLimits(max_children=0)
    with pytest.raises(ValueError, match="cannot be larger than"):
        WireLimits(max_frame=MAX_FRAME + 1)


def test_strings_read_before_are_read_again_alike_and_still_within_limits() -> None:
    # The reader keeps what packed strings and JIDs stood for by their bytes: reading
    # the same bytes again gives the same node, a stricter reader still refuses them,
    # and another dialect reads them by its own rules.
    node = Node("receipt", {"from": "491110000001@s.whatsapp.net", "id": "ABCDEF12", "t": "17"})
    for pack in (False, True):
        payload = encode(node, V16, pack=pack)
        assert [decode(payload, V16) for _ in range(3)] == [node] * 3
    plain = encode(node, V16)
    _refused(plain, WireLimits(max_string=8), "a string of 12 bytes")
    hex_packed = encode(node, V16, pack=True)  # the id packs as hex: no such thing in 1.5
    with pytest.raises(RemoteProtocolError, match=r"0xFB does not exist in dialect 1\.5"):
        decode(hex_packed, Dialect.V15)
