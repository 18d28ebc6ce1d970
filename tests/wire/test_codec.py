"""The binary node codec: protocol examples, recorded sessions, round trips, fuzzing."""

from __future__ import annotations

import doctest

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from simulator.errors import LocalProtocolError, RemoteProtocolError
from simulator.wire import codec
from simulator.wire.codec import (
    MAX_DEPTH,
    STREAM_END,
    STREAM_START,
    XML_NOT_WELL_FORMED,
    decode,
    encode,
)
from simulator.wire.node import Node
from simulator.wire.tokens import Dialect, token_table
from tests.golden import VectorFrame, sessions
from tests.strategies import hex_strings, jids, nibble_strings, nodes

V15, V16 = Dialect.V15, Dialect.V16

FUZZ = settings(max_examples=4 * settings().max_examples)  # settings() = the loaded profile


def shape(node: Node) -> object:
    """The node with attribute order made visible (Node equality ignores it)."""
    return (node.tag, tuple(node.attrs.items()), tuple(map(shape, node.children)), node.data)


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def test_docstring_examples() -> None:
    assert doctest.testmod(codec).failed == 0


# ---------------------------------------------------------------- PROTOCOL.md §1.4.4, §1.4.5

MESSAGE = '<message to="491234567890@s.whatsapp.net" type="text" id="1450000000-1"><body>Hi</body></message>'  # noqa: E501
IQ_ERROR = (
    '<iq from="s.whatsapp.net" id="7" type="error"><error code="404" text="item-not-found"/></iq>'
)

# (node, dialect, pack, bytes). The 1.6 examples of §1.4.4 are what a 1.6 client writes
# (pack=True); the server writer leaves the same strings as bytes.
PROTOCOL_EXAMPLES = [
    (
        MESSAGE,
        V15,
        False,
        "F8 08 59 A5 FA FC 0C 34 39 31 32 33 34 35 36 37 38 39 30 91 A7 A2 44"
        " FC 0C 31 34 35 30 30 30 30 30 30 30 2D 31 F8 01 F8 02 12 FC 02 48 69",
    ),
    (
        MESSAGE,
        V16,
        True,
        "F8 08 5F B3 FA FF 06 49 12 34 56 78 90 9B B5 AF 4A FF 06 14 50 00 00 00 A1"
        " F8 01 F8 02 14 FC 02 48 69",
    ),
    (
        MESSAGE,
        V16,
        False,
        "F8 08 5F B3 FA FC 0C 34 39 31 32 33 34 35 36 37 38 39 30 9B B5 AF 4A"
        " FC 0C 31 34 35 30 30 30 30 30 30 30 2D 31 F8 01 F8 02 14 FC 02 48 69",
    ),
    (IQ_ERROR, V15, False, "F8 08 4A 3A 91 44 FC 01 37 A7 2C F8 01 F8 05 2C 19 EC 1C A2 4B"),
    (IQ_ERROR, V16, True, "F8 08 50 3F 9B 4A FF 81 7F B5 2F F8 01 F8 05 2F 1B EC 26 AF 51"),
    (IQ_ERROR, V16, False, "F8 08 50 3F 9B 4A FC 01 37 B5 2F F8 01 F8 05 2F 1B EC 26 AF 51"),
    ('<stream:start from="s.whatsapp.net"/>', V15, False, "F8 03 01 3A 91"),
    ('<stream:start from="s.whatsapp.net"/>', V16, False, "F8 03 01 3F 9B"),
    ("<stream:end/>", V15, False, "F8 01 02"),
    ("<stream:end/>", V16, False, "F8 01 02"),
]


@pytest.mark.parametrize(("text", "dialect", "pack", "wire"), PROTOCOL_EXAMPLES)
def test_protocol_examples(text: str, dialect: Dialect, pack: bool, wire: str) -> None:
    node = Node.parse(text)
    assert encode(node, dialect, pack=pack) == h(wire)
    assert shape(decode(h(wire), dialect)) == shape(node)


# ---------------------------------------------------------------- recorded sessions

FRAMES = [frame for session in sessions() for frame in session.frames]


def test_vectors_cover_both_dialects_and_directions() -> None:
    assert {(f.dialect, f.direction) for f in FRAMES} == {
        (d, direction) for d in Dialect for direction in ("c2s", "s2c")
    }
    # The 1.6 client frames must exercise packing, or the pack=True check proves nothing.
    assert any(b"\xff" in f.body for f in FRAMES if f.dialect is V16 and f.direction == "c2s")


@pytest.mark.parametrize("frame", FRAMES, ids=lambda f: f.id)
def test_vector_decodes_to_the_recorded_node(frame: VectorFrame) -> None:
    assert shape(decode(frame.body, frame.dialect)) == shape(frame.node)


@pytest.mark.parametrize("frame", FRAMES, ids=lambda f: f.id)
def test_vector_encodes_to_the_recorded_bytes(frame: VectorFrame) -> None:
    # 1.6 clients pack; the (scripted) server side and 1.5 clients never do.
    pack = frame.dialect is V16 and frame.direction == "c2s"
    assert encode(frame.node, frame.dialect, pack=pack).hex() == frame.body.hex()


# ---------------------------------------------------------------- writer rules (§1.4.3)


def attr_bytes(value: str, dialect: Dialect = V16, *, pack: bool = True) -> str:
    """How ``value`` is written as the value of ``id`` in ``<iq id=value/>``."""
    out = encode(Node("iq", {"id": value}), dialect, pack=pack)
    head = encode(Node("iq", {"id": "1"}), dialect)[:-1]  # F8 03 <iq> <id>
    assert out.startswith(head)
    return out[len(head) :].hex(" ").upper()


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        ("", "FC 00"),  # never the null token (§6.1), nor an empty packed string
        ("1", "D3"),  # tokens win over packing
        ("404", "EC 26"),
        ("7", "FF 81 7F"),
        ("12", "FF 01 12"),
        ("123", "FF 82 12 3F"),
        ("-.", "FF 01 AB"),
        ("0A", "FB 01 0A"),  # not nibble, but upper-case hex
        ("ABC", "FB 82 AB CF"),
        ("abc", "FC 03 61 62 63"),  # lower case is not hex
        ("1-A", "FC 03 31 2D 41"),  # neither alphabet alone
        ("1 2", "FC 03 31 20 32"),
        ("9" * 127, "FF C0 " + " ".join(["99"] * 63) + " 9F"),  # the longest packed string
        ("123@s.whatsapp.net", "FA FF 82 12 3F 9B"),  # JID users pack
        ("ABC@x1", "FA FB 82 AB CF FC 02 78 31"),
        ("a@123", "FA FC 01 61 FC 03 31 32 33"),  # server parts never pack
        ("@123", "FC 04 40 31 32 33"),  # '@' at index 0: plain bytes
        ("1@", "FA D3 FC 00"),
        ("a@b@c", "FA FC 01 61 FC 03 62 40 63"),
    ],
)
def test_pack_writes_like_a_16_client(value: str, wire: str) -> None:
    assert attr_bytes(value) == wire


def test_pack_stops_at_128_characters() -> None:
    assert attr_bytes("9" * 128).startswith("FC 80 39")


@pytest.mark.parametrize("value", ["123", "ABC", "7", "1450000000-1", "491234567890@g.us"])
@pytest.mark.parametrize("dialect", list(Dialect))
def test_server_writer_never_packs(value: str, dialect: Dialect) -> None:
    wire = h(attr_bytes(value, dialect, pack=False))
    assert wire[0] in (0xFA, 0xFC)
    assert not {0xFB, 0xFF} & set(wire[:3])


def test_pack_never_touches_tags_keys_or_data() -> None:
    node = Node("123", {"456": "789"}, data=b"0")
    assert encode(node, V16, pack=True).hex(" ") == (
        "f8 04 fc 03 31 32 33 fc 03 34 35 36 ff 82 78 9f fc 01 30"
    )


def test_pack_packs_jid_users_in_tags_and_keys() -> None:
    node = Node("12@g.us", {"34@g.us": "x"})
    assert encode(node, V16, pack=True).hex(" ") == "f8 03 fa ff 01 12 40 fa ff 01 34 40 fc 01 78"


@pytest.mark.parametrize(
    ("text", "dialect", "wire"),
    [
        ("mpeg4", V15, "EC 00"),
        ("adpcm", V16, "EC 00"),
        ("encrypt_group_gen2", V16, "ED 06"),  # secondary 262: the two-byte escape
        ("rate", V16, "ED 00"),
    ],
)
def test_secondary_tokens(text: str, dialect: Dialect, wire: str) -> None:
    assert attr_bytes(text, dialect, pack=False) == wire


def test_empty_data_is_written_and_read_back() -> None:
    node = Node("body", data=b"")
    assert encode(node, V15) == h("F8 02 12 FC 00")
    assert decode(encode(node, V15), V15) == node


def test_data_is_always_raw_bytes() -> None:
    node = Node("body", data=b"1")  # "1" is a token, but data never uses tokens (§6.1)
    assert encode(node, V16, pack=True) == h("F8 02 14 FC 01 31")


def test_long_data_uses_fd() -> None:
    node = Node("body", data=bytes(300))
    wire = encode(node, V16)
    assert wire[:7] == h("F8 02 14 FD 00 01 2C")
    assert decode(wire, V16) == node


def test_wide_lists_use_f9() -> None:
    node = Node("list", children=[Node("item")] * 300)
    wire = encode(node, V15)
    assert wire[3:6] == h("F9 01 2C")
    assert decode(wire, V15) == node


# ---------------------------------------------------------------- encoding errors


@pytest.mark.parametrize(
    ("node", "dialect", "pack", "match"),
    [
        (Node("iq"), V15, True, "Dialect.V16"),
        (Node(""), V16, False, "non-empty tag"),
        (Node("iq", {"id": "\ud800"}), V16, False, "cannot be written as bytes"),
        (Node("big", data=bytes(0x100000)), V16, False, "does not fit in a frame"),
        (Node("wide", children=[Node("a")] * 0x10000), V16, False, "limit is 65535"),
    ],
)
def test_encode_refuses(node: Node, dialect: Dialect, pack: bool, match: str) -> None:
    with pytest.raises(LocalProtocolError, match=match):
        encode(node, dialect, pack=pack)


def nested(depth: int) -> Node:
    node = Node("leaf")
    for _ in range(depth):
        node = Node("n", children=[node])
    return node


def test_nesting_limit_is_the_same_both_ways() -> None:
    deepest = nested(MAX_DEPTH)
    assert decode(encode(deepest, V15), V15) == deepest
    with pytest.raises(LocalProtocolError, match="nested deeper"):
        encode(nested(MAX_DEPTH + 1), V15)


# ---------------------------------------------------------------- reader forms (§1.4.2)


def iq_attr(value: str) -> bytes:
    """``<iq id=...>`` with a hand-written value, in the 1.5 tokens (iq=4A, id=44)."""
    return h("F8 03 4A 44" + value)


def iq_attr16(value: str) -> bytes:
    """The same with the 1.6 tokens (iq=50, id=4A)."""
    return h("F8 03 50 4A" + value)


@pytest.mark.parametrize("first", range(0xED, 0xF5))
def test_15_reads_one_byte_secondary_aliases(first: int) -> None:
    expected = token_table(V15).secondary[first - 0xED]
    assert decode(iq_attr(f"{first:02X}"), V15)["id"] == expected


@pytest.mark.parametrize(
    ("wire", "dialect", "expected"),
    [
        (iq_attr("EC 05"), V15, "audio/mp4"),
        (iq_attr16("EC 05"), V16, token_table(V16).secondary[5]),
        (iq_attr16("ED 06"), V16, "encrypt_group_gen2"),
        (iq_attr("FF 82 12 3F"), V15, "123"),  # 1.5 readers accept nibbles too
        (iq_attr16("FB 82 AB CF"), V16, "ABC"),
        (iq_attr16("FB 01 0A"), V16, "0A"),
        (iq_attr16("FF 00"), V16, ""),
        (iq_attr16("FD F0 00 02 68 69"), V16, "hi"),  # 1.6: 20-bit length, top nibble ignored
        (iq_attr("FD 00 00 02 68 69"), V15, "hi"),
        (iq_attr16("FE 00 00 00 02 68 69"), V16, "hi"),  # 1.6: 31-bit length
        (iq_attr16("FE 80 00 00 02 68 69"), V16, "hi"),
        (iq_attr("FA 00 91"), V15, "s.whatsapp.net"),  # null user: the server alone
        (iq_attr("FA FC 00 91"), V15, "@s.whatsapp.net"),
        (iq_attr("FA FC 01 61 FA FC 01 62 FC 01 63"), V15, "a@b@c"),  # nested pairs
        (iq_attr("00"), V15, ""),  # the null token reads as ""
        (iq_attr("FC 02 C3 28"), V15, "\udcc3("),  # invalid UTF-8 survives as surrogates
    ],
)
def test_reader_forms(wire: bytes, dialect: Dialect, expected: str) -> None:
    assert decode(wire, dialect)["id"] == expected


def test_null_key_reads_as_empty() -> None:
    assert decode(h("F8 03 4A 00 C2"), V15).attrs == {"": "1"}


@pytest.mark.parametrize(
    ("wire", "data"),
    [
        ("F8 02 12 C2", b"1"),  # a token as data decodes to its text (§1.4.2)
        ("F8 02 12 FA FC 01 61 91", b"a@s.whatsapp.net"),
        ("F8 02 12 FF 82 12 3F", b"123"),
        ("F8 02 12 FD 00 00 01 00", b"\x00"),
    ],
)
def test_data_in_string_forms(wire: str, data: bytes) -> None:
    assert decode(h(wire), V15) == Node("body", data=data)


@pytest.mark.parametrize("children", ["00", "F8 00", "F9 00 00"])
def test_empty_child_list_is_no_children(children: str) -> None:
    assert decode(h("F8 02 12 " + children), V15) == Node("body")


def test_repeated_key_last_one_wins() -> None:
    assert decode(h("F8 05 4A 44 C2 44 FC 01 32"), V15).attrs == {"id": "2"}


def test_stream_start_with_resource() -> None:
    node = decode(h("F8 05 01 A5 91 89 FC 03 53 34 30"), V15)
    assert shape(node) == shape(Node(STREAM_START, {"to": "s.whatsapp.net", "resource": "S40"}))


def test_stream_end_with_attribute_is_a_node_like_any_other() -> None:
    node = Node(STREAM_END, {"from": "x"})
    assert decode(encode(node, V16), V16) == node


def test_a_tag_spelled_like_a_key_written_before_keeps_its_own_rules() -> None:
    # Tags and attribute keys share the writer's cache of plain strings: a key "" or
    # "stream:end" written first does not turn the tag into that string.
    for dialect in Dialect:
        encode(Node("x", {"": "1", STREAM_END: "2"}), dialect)
        assert encode(Node(STREAM_END), dialect) == bytes((0xF8, 0x01, 0x02))
        with pytest.raises(LocalProtocolError, match="non-empty tag"):
            encode(Node(""), dialect)


def test_decode_accepts_memoryview_and_offsets_errors() -> None:
    frame = h("00 00 05 F8 03 4A 44 C2")
    assert decode(memoryview(frame)[3:], V15) == Node("iq", {"id": "1"})
    with pytest.raises(RemoteProtocolError) as info:
        decode(memoryview(frame)[3:-1], V15, base_offset=103)
    assert info.value.offset == 107


# ---------------------------------------------------------------- decoding errors


@pytest.mark.parametrize(
    ("wire", "dialect", "offset", "message"),
    [
        ("", V15, 0, "the frame ends where a node was expected"),
        ("00", V15, 0, "a node cannot be an empty list"),
        ("F8 00", V15, 0, "a node cannot be an empty list"),
        ("4A", V15, 0, "expected a list (0x00, 0xF8 or 0xF9), got 0x4A"),
        ("F8", V15, 1, "the frame ends where a list size was expected"),
        ("F9 01", V15, 0, "a 2-byte list size runs past the end of the frame (1 bytes left)"),
        ("F8 01 00", V15, 2, "a node tag cannot be null or empty"),
        ("F8 01 FC 00", V15, 2, "a node tag cannot be null or empty"),
        ("F8 03 4A 44", V15, 4, "the frame ends where a string was expected"),
        ("F8 03 4A 44 F5", V15, 4, "unknown token 0xF5 in dialect 1.5"),
        ("F8 03 50 4A F0", V16, 4, "unknown token 0xF0 in dialect 1.6"),
        ("F8 03 4A 44 F8", V15, 4, "the list marker 0xF8 where a string was expected"),
        ("F8 03 4A 44 01", V15, 4, "the stream start marker 0x01 where a string was expected"),
        ("F8 03 4A 44 EC E0", V15, 4, "secondary token 224 is not in the 1.5 table"),
        ("F8 03 50 4A ED 07", V16, 4, "secondary token 263 is not in the 1.6 table"),
        ("F8 03 50 4A EF 00", V16, 4, "secondary token 768 is not in the 1.6 table"),
        ("F8 03 4A 44 EC", V15, 5, "the frame ends where a secondary token index was expected"),
        (
            "F8 03 4A 44 FB 01 0A",
            V15,
            4,
            "the hex-packed string 0xFB does not exist in dialect 1.5",
        ),
        ("F8 03 4A 44 FE 00 00 00 00", V15, 4, "the 31-bit string length 0xFE does not exist"),
        (
            "F8 03 4A 44 FC 05 61",
            V15,
            4,
            "a string of 5 bytes runs past the end of the frame (1 bytes left)",
        ),
        ("F8 03 4A 44 FD F0 00 01 61", V15, 4, "a string of 15728641 bytes (limit 1048575)"),
        ("F8 03 50 4A FE 7F FF FF FF", V16, 4, "a string of 2147483647 bytes (limit 1048575)"),
        ("F8 03 4A 44 FD 00", V15, 4, "a 3-byte string length runs past the end"),
        ("F8 03 4A 44 FF 80", V15, 4, "a packed string with a padding nibble but no bytes"),
        ("F8 03 4A 44 FF 81 12", V15, 4, "packed string padding nibble 0x2 is not 0xF"),
        ("F8 03 4A 44 FF 02 12 C4", V15, 7, "nibble 0xC is not in the packed alphabet"),
        ("F8 03 4A 44 FF 02 12", V15, 4, "a packed string of 2 bytes runs past the end"),
        ("F8 03 4A 44 FA C2 00", V15, 6, "a JID pair with a null server"),
        ("F8 03 4A 44 FA C2", V15, 6, "the frame ends where a string was expected"),
        ("F8 02 12", V15, 3, "the frame ends where a string was expected"),
        ("F8 02 12 FC", V15, 4, "the frame ends where a string length was expected"),
        (
            "F8 02 12 FC 05 61",
            V15,
            3,
            "a string of 5 bytes runs past the end of the frame (1 bytes left)",
        ),
        ("F8 03 4A FC 01 61 FC 02 62", V15, 6, "a string of 2 bytes runs past the end"),
        ("F8 02 12 F8 01 00", V15, 5, "a node cannot be an empty list"),
        ("F8 01 02 00", V15, 3, "1 bytes follow the node"),
        ("F8 03 4A 44 C2 F8 01 02", V15, 5, "3 bytes follow the node"),
    ],
)
def test_decode_errors(wire: str, dialect: Dialect, offset: int, message: str) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        decode(h(wire), dialect, base_offset=1000)
    error = info.value
    assert str(error).startswith(message)
    assert str(error).endswith(f" at offset {1000 + offset}")
    assert error.offset == 1000 + offset
    assert error.reply_hint == XML_NOT_WELL_FORMED


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    bomb = h("F8 02 12 F8 01") * 100_000 + h("F8 01 12")
    with pytest.raises(RemoteProtocolError, match=f"nodes nested deeper than {MAX_DEPTH}"):
        decode(bomb, V15)


def test_deep_jid_nesting_is_an_error_not_a_crash() -> None:
    bomb = h("F8 03 4A 44") + h("FA C2") * 100_000 + h("91")
    with pytest.raises(RemoteProtocolError, match=f"JID pairs nested deeper than {MAX_DEPTH}"):
        decode(bomb, V15)


# ---------------------------------------------------------------- properties

dialects = st.sampled_from(list(Dialect))
any_node = nodes()  # built once: hypothesis validates a strategy on first use, slowly


@given(any_node, dialects)
def test_round_trip(node: Node, dialect: Dialect) -> None:
    assert shape(decode(encode(node, dialect), dialect)) == shape(node)


@given(any_node)
def test_round_trip_packed(node: Node) -> None:
    assert shape(decode(encode(node, V16, pack=True), V16)) == shape(node)


@given(st.one_of(nibble_strings(), hex_strings(), jids()))
def test_round_trip_packable_values(value: str) -> None:
    node = Node("iq", {"id": value})
    assert decode(encode(node, V16, pack=True), V16) == node


def decodes_or_refuses(wire: bytes, dialect: Dialect) -> None:
    """The fuzz invariant: a node (which re-encodes to itself) or RemoteProtocolError."""
    try:
        node = decode(wire, dialect)
    except RemoteProtocolError as exc:
        error = exc
    else:
        assert decode(encode(node, dialect), dialect) == node
        return
    assert error.offset is not None
    assert 0 <= error.offset <= len(wire)
    assert str(error).endswith(f"at offset {error.offset}")


@FUZZ
@given(st.binary(max_size=300), dialects)
@example(h("F8 02 12 F8 01") * 200, V15)
@example(h("F8 03 50 4A FE FF FF FF FF"), V16)
def test_fuzz_arbitrary_bytes(wire: bytes, dialect: Dialect) -> None:
    decodes_or_refuses(wire, dialect)


@FUZZ
@given(st.binary(max_size=200), dialects)
def test_fuzz_bytes_after_a_list_header(tail: bytes, dialect: Dialect) -> None:
    # Random bytes rarely start with F8; this reaches the tag/attribute/body readers.
    decodes_or_refuses(h("F8") + bytes([len(tail) % 16]) + tail, dialect)


@st.composite
def mutated(draw: st.DrawFn) -> tuple[bytes, Dialect]:
    """A valid encoding with a few bytes overwritten, inserted, deleted, or cut off."""
    dialect = draw(dialects)
    wire = bytearray(encode(draw(any_node), dialect, pack=dialect is V16 and draw(st.booleans())))
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(wire)))
        op = draw(st.sampled_from(["set", "insert", "delete", "truncate"]))
        if op == "insert":
            wire.insert(i, draw(st.integers(0, 255)))
        elif i < len(wire) and op == "set":
            wire[i] = draw(st.integers(0, 255))
        elif i < len(wire) and op == "delete":
            del wire[i]
        elif op == "truncate":
            del wire[i:]
    return bytes(wire), dialect


@FUZZ
@given(mutated())
def test_fuzz_mutated_encodings(case: tuple[bytes, Dialect]) -> None:
    decodes_or_refuses(*case)
