"""``Connection`` and ``NodeConnection``: logins end to end, and every way a peer can fail.

The pair tests run each scenario over both the byte connection and the node link (one
handshake, two carriers) and, for bytes, in both dialects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from simulator.errors import LocalProtocolError, RemoteProtocolError
from simulator.wire.codec import XML_NOT_WELL_FORMED, encode
from simulator.wire.connection import Connection, NodeConnection
from simulator.wire.crypto import KeyStream, derive_keys
from simulator.wire.events import (
    Authenticate,
    Challenged,
    ConnectionClosed,
    Failure,
    Login,
    LoginFailed,
    LoginRejected,
    LoginRequested,
    LoginSucceeded,
    LoginVerified,
    NodeReceived,
    Response,
    Role,
    SendEvent,
    StreamEnd,
    StreamEnded,
    StreamStarted,
    Success,
)
from simulator.wire.framing import FrameBuffer, frame_header
from simulator.wire.handshake import State
from simulator.wire.node import Node
from simulator.wire.tokens import Dialect
from tests.wire.helpers import (
    NONCE,
    PASSWORD,
    SUCCESS_ATTRS,
    USER,
    ConnectionPair,
    drain,
    login_event,
    next_nonce,
)

if TYPE_CHECKING:
    from collections.abc import Callable

CARRIERS = [
    pytest.param(False, Dialect.V15, id="bytes-1.5"),
    pytest.param(False, Dialect.V16, id="bytes-1.6"),
    pytest.param(True, Dialect.V16, id="nodes"),
]

AUTH = Node("auth", {"user": USER, "mechanism": "WAUTH-2", "passive": "false"})
FAILURE = Node("failure", {"xmlns": "urn:ietf:params:xml:ns:xmpp-sasl"}, [Node("not-authorized")])
PRESENCE = Node("presence", {"type": "available"})
MESSAGE = Node(
    "message",
    {"to": "4915550001111@s.whatsapp.net", "type": "text", "id": "1450000000-1"},
    [Node("body", data="hello")],
)

# ==================================================================== logins, both carriers


@pytest.mark.parametrize(("nodes", "dialect"), CARRIERS)
def test_full_login_then_stanzas_then_stream_end(nodes: bool, dialect: Dialect) -> None:
    pair = ConnectionPair(nodes=nodes, dialect=dialect)

    assert pair.send(Role.CLIENT, login_event(trailer=b"\x00trailer")) == [
        StreamStarted(attrs={"to": "s.whatsapp.net", "resource": "S40-2.16.12"}),
        LoginRequested(
            user=USER,
            passive=False,
            resource="S40-2.16.12",
            features=Node("stream:features"),
            fast=False,
            node=AUTH,
        ),
    ]
    challenged = pair.send(Role.SERVER, Authenticate(password=PASSWORD, nonce=NONCE))
    assert challenged == [
        StreamStarted(attrs={"from": "s.whatsapp.net"}),
        Challenged(nonce=NONCE, node=Node("challenge", data=NONCE)),
    ]
    [verified] = pair.send(Role.CLIENT, Response())
    assert isinstance(verified, LoginVerified)
    assert (verified.user, verified.passive, verified.fast) == (USER, False, False)
    assert verified.after_nonce == b"1450000000\x00trailer"
    assert verified.node.tag == "response"

    success = Success(attrs=SUCCESS_ATTRS, nonce=next_nonce(0))
    [succeeded] = pair.send(Role.SERVER, success)
    assert succeeded == LoginSucceeded(node=Node("success", SUCCESS_ATTRS, data=next_nonce(0)))
    assert list(succeeded.node.attrs) == list(SUCCESS_ATTRS)  # the order given is kept
    assert pair.states() == (State.ESTABLISHED, State.ESTABLISHED)
    assert pair.client.next_nonce == pair.server.next_nonce == next_nonce(0)
    assert pair.client.user == pair.server.user == USER

    assert pair.send(Role.CLIENT, PRESENCE) == [NodeReceived(node=PRESENCE)]
    assert pair.send(Role.SERVER, MESSAGE) == [NodeReceived(node=MESSAGE)]
    assert pair.send(Role.CLIENT, MESSAGE) == [NodeReceived(node=MESSAGE)]

    assert pair.send(Role.SERVER, StreamEnd()) == [StreamEnded()]
    assert pair.send(Role.CLIENT, PRESENCE) == [NodeReceived(node=PRESENCE)]  # in flight
    assert pair.send(Role.CLIENT, StreamEnd()) == [StreamEnded()]
    assert pair.states() == (State.CLOSED, State.CLOSED)
    assert pair.close(Role.CLIENT) == [ConnectionClosed()]
    assert pair.server.next_event() is None  # reported once


def wire_frames(pair: ConnectionPair) -> list[tuple[Role, bool]]:
    """(writer, encrypted) for every frame that crossed a byte pair, in order."""
    buffers = {Role.CLIENT: FrameBuffer(), Role.SERVER: FrameBuffer()}
    preamble = pair.client.dialect.preamble if pair.client.dialect else None
    out: list[tuple[Role, bool]] = []
    for role, written in pair.wire:
        assert isinstance(written, bytes)
        buffer = buffers[role]
        buffer.feed(written)
        if role is Role.CLIENT and buffer.offset == 0:
            assert buffer.take_exact(4) == preamble
        while (frame := buffer.next_frame()) is not None:
            out.append((role, frame.encrypted))
    return out


@pytest.mark.parametrize("dialect", [Dialect.V15, Dialect.V16])
def test_login_frames_are_plaintext_until_success(dialect: Dialect) -> None:
    pair = ConnectionPair(nodes=False, dialect=dialect)
    pair.login()
    pair.send(Role.CLIENT, PRESENCE)
    pair.send(Role.SERVER, PRESENCE)
    c, s = Role.CLIENT, Role.SERVER
    assert wire_frames(pair) == [
        *[(c, False)] * 3,  # stream start, features, auth
        *[(s, False)] * 3,  # stream start, features, challenge
        (c, False),  # response
        (s, True),  # success, server seq 0
        (c, True),  # presence, client seq 1
        (s, True),
    ]


@pytest.mark.parametrize(("nodes", "dialect"), CARRIERS)
def test_fast_relogin_uses_the_nonce_of_the_last_success(nodes: bool, dialect: Dialect) -> None:
    first = ConnectionPair(nodes=nodes, dialect=dialect)
    first.login(round_=0)
    client_nonce, server_nonce = first.client.next_nonce, first.server.next_nonce
    assert client_nonce == server_nonce == next_nonce(0)

    pair = ConnectionPair(nodes=nodes, dialect=dialect)
    [_, requested] = pair.send(Role.CLIENT, login_event(stored_nonce=client_nonce))
    assert isinstance(requested, LoginRequested)
    assert requested.fast
    assert requested.node.data
    auth = Authenticate(password=PASSWORD, nonce=NONCE, stored_nonce=server_nonce)
    assert pair.send(Role.SERVER, auth) == [StreamStarted(attrs={"from": "s.whatsapp.net"})]
    [verified] = drain(pair.server)
    assert isinstance(verified, LoginVerified)
    assert verified.fast
    assert verified.node == requested.node
    [succeeded] = pair.send(Role.SERVER, Success(attrs=SUCCESS_ATTRS, nonce=next_nonce(1)))
    assert isinstance(succeeded, LoginSucceeded)
    assert pair.send(Role.CLIENT, MESSAGE) == [NodeReceived(node=MESSAGE)]
    assert pair.send(Role.SERVER, MESSAGE) == [NodeReceived(node=MESSAGE)]
    assert pair.client.next_nonce == pair.server.next_nonce == next_nonce(1)


@pytest.mark.parametrize("forgotten", [None, b"\x99" * 20])
@pytest.mark.parametrize(("nodes", "dialect"), CARRIERS)
def test_fast_relogin_falls_back_to_a_challenge(
    nodes: bool, dialect: Dialect, forgotten: bytes | None
) -> None:
    """A server without the nonce (or another one) challenges; the client re-keys (§2.8)."""
    pair = ConnectionPair(nodes=nodes, dialect=dialect)
    pair.send(Role.CLIENT, login_event(stored_nonce=next_nonce(0)))
    auth = Authenticate(password=PASSWORD, nonce=NONCE, stored_nonce=forgotten)
    events = pair.send(Role.SERVER, auth)
    assert isinstance(events[-1], Challenged)
    assert drain(pair.server) == []
    [verified] = pair.send(Role.CLIENT, Response())
    assert isinstance(verified, LoginVerified)
    assert not verified.fast
    pair.send(Role.SERVER, Success(attrs=SUCCESS_ATTRS, nonce=next_nonce(1)))
    assert pair.send(Role.CLIENT, MESSAGE) == [NodeReceived(node=MESSAGE)]
    assert pair.send(Role.SERVER, MESSAGE) == [NodeReceived(node=MESSAGE)]


@pytest.mark.parametrize(("nodes", "dialect"), CARRIERS)
def test_wrong_password_is_rejected(nodes: bool, dialect: Dialect) -> None:
    pair = ConnectionPair(nodes=nodes, dialect=dialect)
    pair.send(Role.CLIENT, login_event(password=bytes(20)))
    pair.send(Role.SERVER, Authenticate(password=PASSWORD, nonce=NONCE))
    [rejected] = pair.send(Role.CLIENT, Response())
    assert isinstance(rejected, LoginRejected)
    assert rejected.user == USER
    assert "bad MAC on auth blob" in rejected.reason
    with pytest.raises(LocalProtocolError, match="before the blob verified"):
        pair.server.send(Success(attrs=SUCCESS_ATTRS, nonce=next_nonce(0)))


@pytest.mark.parametrize(("nodes", "dialect"), CARRIERS)
def test_wrong_password_then_failure(nodes: bool, dialect: Dialect) -> None:
    pair = ConnectionPair(nodes=nodes, dialect=dialect)
    pair.send(Role.CLIENT, login_event(password=bytes(20)))
    pair.send(Role.SERVER, Authenticate(password=PASSWORD, nonce=NONCE))
    pair.send(Role.CLIENT, Response())
    assert pair.send(Role.SERVER, Failure()) == [LoginFailed(reason="not-authorized", node=FAILURE)]
    assert pair.states() == (State.FAILED, State.FAILED)
    assert pair.client.next_nonce is pair.server.next_nonce is None
    assert pair.close(Role.SERVER) == [ConnectionClosed()]
    with pytest.raises(LocalProtocolError):
        pair.server.send(MESSAGE)


@pytest.mark.parametrize(("nodes", "dialect"), CARRIERS)
def test_unknown_user_gets_failure_instead_of_a_challenge(nodes: bool, dialect: Dialect) -> None:
    pair = ConnectionPair(nodes=nodes, dialect=dialect)
    pair.send(Role.CLIENT, login_event())
    assert pair.send(Role.SERVER, Failure()) == [
        StreamStarted(attrs={"from": "s.whatsapp.net"}),
        LoginFailed(reason="not-authorized", node=FAILURE),
    ]
    assert pair.states() == (State.FAILED, State.FAILED)


@pytest.mark.parametrize(("nodes", "dialect"), CARRIERS)
def test_passive_login(nodes: bool, dialect: Dialect) -> None:
    pair = ConnectionPair(nodes=nodes, dialect=dialect)
    [_, requested] = pair.send(Role.CLIENT, login_event(passive=True))
    assert isinstance(requested, LoginRequested)
    assert requested.passive
    assert requested.node["passive"] == "true"
    pair.send(Role.SERVER, Authenticate(password=PASSWORD, nonce=NONCE))
    [verified] = pair.send(Role.CLIENT, Response())
    assert isinstance(verified, LoginVerified)
    assert verified.passive


@pytest.mark.parametrize(("nodes", "dialect"), CARRIERS)
def test_client_may_not_send_before_login(nodes: bool, dialect: Dialect) -> None:
    pair = ConnectionPair(nodes=nodes, dialect=dialect)
    with pytest.raises(LocalProtocolError, match="can't send stanza from the client"):
        pair.client.send(PRESENCE)
    assert pair.client.state is State.ERROR
    with pytest.raises(LocalProtocolError, match="ERROR"):
        pair.client.send(login_event())


@pytest.mark.parametrize(
    ("role", "item"),
    [
        (Role.CLIENT, Authenticate(password=PASSWORD, nonce=NONCE)),
        (Role.CLIENT, Success(attrs={}, nonce=NONCE)),
        (Role.CLIENT, Failure()),
        (Role.SERVER, login_event()),
        (Role.SERVER, Response()),
    ],
    ids=lambda x: type(x).__name__ if not isinstance(x, Role) else x.value,
)
def test_events_of_the_other_role_are_refused(role: Role, item: SendEvent) -> None:
    conn = NodeConnection(role, dialect=Dialect.V15)
    with pytest.raises(LocalProtocolError, match=f"a {role.value} cannot send"):
        conn.send(item)
    assert conn.state is State.ERROR


def test_login_nodes_cannot_be_sent_as_plain_nodes() -> None:
    conn = NodeConnection(Role.CLIENT, dialect=Dialect.V15)
    with pytest.raises(LocalProtocolError, match="login node"):
        conn.send(Node("stream:start", {"to": "s.whatsapp.net"}))


def test_client_needs_a_dialect() -> None:
    with pytest.raises(LocalProtocolError, match="dialect"):
        Connection(Role.CLIENT)


def test_server_cannot_refuse_before_the_auth() -> None:
    with pytest.raises(LocalProtocolError):
        Connection(Role.SERVER).send(Failure())


# ==================================================================== peer faults, bytes

OPENING = Dialect.V15.preamble + bytes.fromhex("000013f80501a59189fc0b5334302d322e31322e3533")


def frame(node: Node, dialect: Dialect = Dialect.V15) -> bytes:
    payload = encode(node, dialect)
    return frame_header(len(payload), encrypted=False) + payload


def server_fed(data: bytes) -> Connection:
    conn = Connection(Role.SERVER)
    conn.receive_data(data)
    return conn


def logged_in_pair() -> ConnectionPair:
    pair = ConnectionPair(nodes=False, dialect=Dialect.V15)
    pair.login()
    return pair


def expect_remote(conn: Connection | NodeConnection, match: str) -> RemoteProtocolError:
    with pytest.raises(RemoteProtocolError, match=match) as info:
        drain(conn)
    assert conn.state is State.ERROR
    with pytest.raises(LocalProtocolError, match="ERROR"):
        conn.next_event()
    return info.value


def test_bad_preamble_is_closed_without_an_answer() -> None:
    conn = server_fed(b"GET / HTTP/1.1\r\n")
    error = expect_remote(conn, "bad preamble 47455420")
    assert error.reply_hint is None
    assert error.offset == 0
    with pytest.raises(LocalProtocolError):
        conn.receive_data(b"more")


def test_a_server_with_a_dialect_refuses_the_other_one() -> None:
    conn = Connection(Role.SERVER, dialect=Dialect.V15)
    conn.receive_data(Dialect.V16.preamble)
    assert expect_remote(conn, "bad preamble 57410106").reply_hint is None


def test_undecodable_frame_during_login_is_answered_with_failure() -> None:
    conn = server_fed(OPENING + bytes.fromhex("000002f801"))
    assert isinstance(conn.next_event(), StreamStarted)
    error = expect_remote(conn, "offset")
    assert error.reply_hint == FAILURE
    assert conn.send(FAILURE) == frame(FAILURE)  # the hint goes out once, plaintext
    with pytest.raises(LocalProtocolError):
        conn.send(FAILURE)


def test_out_of_order_login_nodes_are_refused() -> None:
    features_first = Dialect.V15.preamble + frame(Node("stream:features"))
    error = expect_remote(server_fed(features_first), "can't receive features .* state=idle")
    assert error.reply_hint == FAILURE


def test_a_response_before_the_auth_is_refused() -> None:
    data = OPENING + frame(Node("stream:features")) + frame(Node("response", data=b"x" * 30))
    error = expect_remote(server_fed(data), "can't receive response .* state=client-features")
    assert error.reply_hint == FAILURE


def test_peer_input_waits_while_the_login_is_our_move() -> None:
    """An early response is not read until the challenge is out (then it fails §2.7)."""
    early = frame(Node("response", data=b"x" * 30))
    conn = server_fed(OPENING + frame(Node("stream:features")) + frame(AUTH) + early)
    assert [type(e) for e in drain(conn)] == [StreamStarted, LoginRequested]
    assert conn.state is State.AUTH
    conn.send(Authenticate(password=PASSWORD, nonce=NONCE))
    [rejected] = drain(conn)
    assert isinstance(rejected, LoginRejected)


def test_an_auth_without_user_is_refused() -> None:
    bad = Node("auth", {"mechanism": "WAUTH-2"})
    data = OPENING + frame(Node("stream:features")) + frame(bad)
    assert expect_remote(server_fed(data), "auth without a user").reply_hint == FAILURE


def test_an_auth_with_another_mechanism_is_refused() -> None:
    bad = Node("auth", {"user": USER, "mechanism": "WAUTH-1"})
    data = OPENING + frame(Node("stream:features")) + frame(bad)
    expect_remote(server_fed(data), "not WAUTH-2")


def test_encrypted_frame_before_the_keys_exist() -> None:
    conn = server_fed(OPENING + bytes.fromhex("800005") + bytes(5))
    error = expect_remote(conn, "before the login keys exist")
    assert error.reply_hint == FAILURE


def test_compressed_frame_is_refused() -> None:
    expect_remote(server_fed(OPENING + bytes.fromhex("400001ff")), "compressed")


def test_plaintext_stanza_after_login_is_refused() -> None:
    pair = logged_in_pair()
    assert isinstance(pair.server, Connection)
    pair.server.receive_data(frame(PRESENCE))
    error = expect_remote(pair.server, "plaintext <presence> frame")
    assert error.reply_hint == XML_NOT_WELL_FORMED


def test_bad_mac_after_login_is_answered_with_a_sealed_stream_error() -> None:
    pair = logged_in_pair()
    assert isinstance(pair.server, Connection)
    assert isinstance(pair.client, Connection)
    sealed = bytearray(pair.client.send(PRESENCE))
    sealed[-1] ^= 0x40
    pair.server.receive_data(bytes(sealed))
    error = expect_remote(pair.server, r"bad MAC on frame seq 1 at offset \d+")
    assert error.reply_hint == XML_NOT_WELL_FORMED
    pair.client.receive_data(pair.server.send(XML_NOT_WELL_FORMED))
    assert drain(pair.client) == [NodeReceived(node=XML_NOT_WELL_FORMED)]


def client_keystream_after_login() -> KeyStream:
    """The client->server keystream of ``logged_in_pair()``, at seq 1 (§2.6)."""
    k1, k2, _, _ = derive_keys(PASSWORD, NONCE)
    c2s = KeyStream(k1, k2)
    c2s.seal_blob(USER.encode() + NONCE + b"1450000000")
    return c2s


def test_undecodable_sealed_frame_after_login() -> None:
    pair = logged_in_pair()
    assert isinstance(pair.server, Connection)
    garbage = client_keystream_after_login().seal(b"\xf8\x05")
    pair.server.receive_data(frame_header(len(garbage), encrypted=True) + garbage)
    assert expect_remote(pair.server, "offset").reply_hint == XML_NOT_WELL_FORMED


def test_sealed_login_node_after_login_is_refused() -> None:
    pair = logged_in_pair()
    assert isinstance(pair.server, Connection)
    sealed = client_keystream_after_login().seal(encode(AUTH, Dialect.V15))
    pair.server.receive_data(frame_header(len(sealed), encrypted=True) + sealed)
    expect_remote(pair.server, "encrypted <auth> frame")


def test_stanza_after_the_peers_stream_end_is_refused() -> None:
    pair = logged_in_pair()
    pair.send(Role.CLIENT, StreamEnd())
    assert isinstance(pair.client, Connection)
    with pytest.raises(LocalProtocolError, match="state=client-ended"):
        pair.client.send(PRESENCE)


def test_eof_inside_a_frame_is_an_error() -> None:
    conn = server_fed(OPENING + bytes.fromhex("000003f8"))
    assert isinstance(conn.next_event(), StreamStarted)
    conn.receive_data(b"")
    error = expect_remote(conn, "unfinished frame")
    assert error.reply_hint is None


def test_clean_eof_is_reported_once() -> None:
    conn = server_fed(OPENING)
    conn.receive_data(b"")
    assert drain(conn) == [
        StreamStarted(attrs={"to": "s.whatsapp.net", "resource": "S40-2.12.53"}),
        ConnectionClosed(),
    ]
    assert conn.state is State.CLOSED
    assert conn.next_event() is None
    with pytest.raises(LocalProtocolError, match="end of file"):
        conn.receive_data(b"x")


def test_eof_while_waiting_for_our_answer_closes() -> None:
    """Peer input waits while the login is our move; EOF still gets through."""
    conn = server_fed(OPENING + frame(Node("stream:features")) + frame(AUTH) + b"\x80\x00")
    assert [type(e) for e in drain(conn)] == [StreamStarted, LoginRequested]
    conn.receive_data(b"")
    assert drain(conn) == [ConnectionClosed()]


def test_client_faults_carry_no_reply_hint() -> None:
    conn = Connection(Role.CLIENT, dialect=Dialect.V15)
    conn.send(login_event())
    conn.receive_data(bytes.fromhex("000002f801"))
    assert expect_remote(conn, "offset").reply_hint is None


def test_server_side_encoding_failure_leaves_error() -> None:
    pair = logged_in_pair()
    with pytest.raises(LocalProtocolError):
        pair.server.send(Node("message", data=b"x" * 0x100000))
    assert pair.server.state is State.ERROR


# ==================================================================== peer faults, nodes


def test_node_link_refuses_out_of_order_nodes() -> None:
    conn = NodeConnection(Role.SERVER, dialect=Dialect.V16)
    conn.receive_node(AUTH)
    error = expect_remote(conn, "can't receive auth")
    assert error.reply_hint == FAILURE
    assert conn.send(FAILURE) == [FAILURE]


def test_node_link_eof() -> None:
    conn = NodeConnection(Role.SERVER, dialect=Dialect.V16)
    conn.receive_node(Node("stream:start", {"resource": "x"}))
    conn.receive_eof()
    assert [type(e) for e in drain(conn)] == [StreamStarted, ConnectionClosed]
    with pytest.raises(LocalProtocolError):
        conn.receive_node(PRESENCE)


# ==================================================================== events validate


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: Login(user="", password=PASSWORD, resource="r", timestamp=0), "user"),
        (lambda: Login(user="491234ü", password=PASSWORD, resource="r", timestamp=0), "ASCII"),
        (lambda: Login(user=USER, password=PASSWORD, resource="r", timestamp=-1), "negative"),
        (
            lambda: Login(
                user=USER, password=PASSWORD, resource="r", timestamp=0, features=PRESENCE
            ),
            "stream:features",
        ),
        (
            lambda: Login(
                user=USER, password=PASSWORD, resource="r", timestamp=0, stored_nonce=b""
            ),
            "stored_nonce",
        ),
        (lambda: Authenticate(password=PASSWORD, nonce=b""), "nonce"),
        (lambda: Success(attrs={}, nonce=b""), "nonce"),
        (lambda: Failure(reason=""), "reason"),
    ],
)
def test_events_refuse_values_the_protocol_cannot_carry(
    build: Callable[[], object], match: str
) -> None:
    with pytest.raises(LocalProtocolError, match=match):
        build()


def test_success_keeps_its_attribute_order_and_is_immutable() -> None:
    attrs = {"status": "active", "kind": "free", "t": "1"}
    success = Success(attrs=attrs, nonce=NONCE)
    attrs["t"] = "2"
    assert list(success.attrs.items()) == [("status", "active"), ("kind", "free"), ("t", "1")]
    with pytest.raises(TypeError):
        success.attrs["t"] = "3"  # type: ignore[index]
