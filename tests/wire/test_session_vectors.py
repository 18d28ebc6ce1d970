"""The recorded yowsup sessions, replayed through both roles of ``Connection``.

(a) A server fed the real client's bytes, answering with the recorded inputs, must write
exactly the recorded server bytes and report exactly the recorded client nodes. (b) A
client given the recorded login inputs must write exactly the real client's bytes and
read the recorded server frames back into the recorded nodes. Together they pin the
login, the blob, both keystreams and the MAC sequence numbers (PROTOCOL.md §2).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from simulator.wire.connection import Connection
from simulator.wire.events import (
    Authenticate,
    Challenged,
    Event,
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
    StreamEnd,
    StreamEnded,
    StreamStarted,
    Success,
)
from simulator.wire.handshake import State
from simulator.wire.node import Node
from tests.wire.sessions import SESSIONS, Session, session_ids

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator


def drain(conn: Connection) -> Iterator[Event]:
    while (event := conn.next_event()) is not None:
        yield event


# ==================================================================== (a) server role


def chunks(session: Session, how: str) -> Iterable[bytes]:
    if how == "whole":
        return [session.c2s_bytes()]
    if how == "frames":
        return [frame.raw for frame in session.c2s]
    data = session.c2s_bytes()
    return [data[i : i + 1] for i in range(len(data))]


def answer(conn: Connection, event: Event, session: Session) -> bytes:
    """What the recording server answered each login event with."""
    if isinstance(event, LoginRequested):
        stored = session.success_nonce if session.fast else None
        return conn.send(
            Authenticate(
                password=session.password, nonce=session.challenge_nonce, stored_nonce=stored
            )
        )
    if isinstance(event, LoginVerified):
        success = session.tagged("success")
        assert success.data is not None
        return conn.send(Success(attrs=success.attrs, nonce=success.data))
    if isinstance(event, LoginRejected):
        return conn.send(Failure())
    return b""


def carried_c2s_nodes(events: list[Event]) -> list[Node]:
    """The client nodes the server's events report, in wire order."""
    nodes: list[Node] = []
    for event in events:
        if isinstance(event, StreamStarted):
            nodes.append(Node("stream:start", event.attrs))
        elif isinstance(event, LoginRequested):
            nodes += [event.features, event.node]
        elif (
            isinstance(event, LoginVerified | LoginRejected) and event.node.tag == "response"
        ) or isinstance(event, NodeReceived):
            nodes.append(event.node)
    return nodes


def run_server(session: Session, how: str) -> tuple[bytes, list[Event], Connection]:
    conn = Connection(Role.SERVER)
    out = bytearray()
    events: list[Event] = []
    for chunk in chunks(session, how):
        conn.receive_data(chunk)
        for event in drain(conn):
            events.append(event)
            out += answer(conn, event, session)
    for node in session.stanzas(c2s=False):
        out += conn.send(StreamEnd() if node.tag == "stream:end" else node)
    return bytes(out), events, conn


@pytest.mark.parametrize("how", ["whole", "frames", "bytes"])
@pytest.mark.parametrize("session", SESSIONS, ids=session_ids)
def test_server_writes_the_recorded_bytes(session: Session, how: str) -> None:
    out, _, conn = run_server(session, how)
    assert out.hex() == session.s2c_bytes().hex()
    assert conn.dialect is session.dialect
    assert conn.user == session.meta["phone"]


@pytest.mark.parametrize("how", ["whole", "frames", "bytes"])
@pytest.mark.parametrize("session", SESSIONS, ids=session_ids)
def test_server_reports_the_recorded_client_nodes(session: Session, how: str) -> None:
    _, events, _ = run_server(session, how)
    assert carried_c2s_nodes(events) == session.nodes(c2s=True)


@pytest.mark.parametrize("session", SESSIONS, ids=session_ids)
def test_server_login_events(session: Session) -> None:
    _, events, conn = run_server(session, "frames")
    login = [e for e in events if not isinstance(e, NodeReceived)]
    request = login[1]
    assert isinstance(request, LoginRequested)
    assert (request.user, request.passive, request.fast) == (
        session.meta["phone"],
        False,
        session.fast,
    )
    assert request.resource == session.tagged("stream:start")["resource"]
    verdict = login[2]
    if session.failed:
        assert isinstance(verdict, LoginRejected)
        assert conn.state is State.FAILED
        assert conn.next_nonce is None
    else:
        assert isinstance(verdict, LoginVerified)
        assert verdict.fast is session.fast
        expected_tail = session.auth["client_utc_timestamp"].encode() + bytes.fromhex(
            session.auth["extra_after_timestamp_hex"]
        )
        assert verdict.after_nonce == expected_tail
        assert conn.state is State.SERVER_ENDED
        assert conn.next_nonce == session.tagged("success").data


def test_server_rejection_writes_the_recorded_failure_frame() -> None:
    session = next(s for s in SESSIONS if s.failed)
    out, _, conn = run_server(session, "frames")
    assert out.endswith(session.s2c[-1].raw)
    assert session.s2c[-1].raw.hex() == "00000af80431c1acf801f80164"
    assert conn.state is State.FAILED


# ==================================================================== (b) client role


def login_of(session: Session) -> Login:
    auth = session.auth
    return Login(
        user=session.meta["phone"],
        password=session.password,
        resource=session.tagged("stream:start")["resource"],
        features=session.tagged("stream:features"),
        timestamp=int(auth.get("client_utc_timestamp", "0")),
        trailer=bytes.fromhex(auth.get("extra_after_timestamp_hex", "")),
        stored_nonce=session.success_nonce if session.fast else None,
    )


def carried_s2c_nodes(events: list[Event]) -> list[Node]:
    """The server nodes the client's events report (server features have no event)."""
    nodes: list[Node] = []
    for event in events:
        if isinstance(event, StreamStarted):
            nodes.append(Node("stream:start", event.attrs))
        elif isinstance(event, Challenged | LoginSucceeded | LoginFailed | NodeReceived):
            nodes.append(event.node)
        elif isinstance(event, StreamEnded):
            nodes.append(Node("stream:end"))
    return nodes


def run_client(session: Session) -> tuple[list[bytes], list[Event], Connection]:
    """Replay the session in recorded order; returns what the client wrote per step."""
    conn = Connection(Role.CLIENT, dialect=session.dialect)
    written = [conn.send(login_of(session))]
    events: list[Event] = []
    stanzas = iter(session.stanzas(c2s=True))
    for frame in session.frames:
        if frame.c2s and frame.encrypted:
            written.append(conn.send(next(stanzas)))
        elif not frame.c2s:
            conn.receive_data(frame.raw)
            for event in drain(conn):
                events.append(event)
                if isinstance(event, Challenged):
                    written.append(conn.send(Response()))
    return written, events, conn


@pytest.mark.parametrize("session", [s for s in SESSIONS if not s.failed], ids=session_ids)
def test_client_writes_the_recorded_bytes(session: Session) -> None:
    written, _, _ = run_client(session)
    # One write for the preamble, stream start, features and auth; one per frame after.
    expected = [b"".join(f.raw for f in session.c2s[:4])] + [f.raw for f in session.c2s[4:]]
    assert [w.hex() for w in written] == [e.hex() for e in expected]


@pytest.mark.parametrize("session", [s for s in SESSIONS if not s.failed], ids=session_ids)
def test_client_sends_the_recorded_blob(session: Session) -> None:
    written, _, _ = run_client(session)
    blob = bytes.fromhex(session.auth["blob_hex"])
    carrier = written[0] if session.fast else written[1]
    assert carrier.endswith(blob)


@pytest.mark.parametrize("session", [s for s in SESSIONS if not s.failed], ids=session_ids)
def test_client_reads_the_recorded_server_nodes(session: Session) -> None:
    _, events, conn = run_client(session)
    expected = [n for n in session.nodes(c2s=False) if n.tag != "stream:features"]
    assert carried_s2c_nodes(events) == expected
    assert conn.state is State.SERVER_ENDED
    assert conn.next_nonce == session.success_nonce
    assert conn.user == session.meta["phone"]


def test_client_reads_the_recorded_failure() -> None:
    """The rejected client's password is unknown: its response cannot be replayed, but
    everything up to it is byte-exact and the failure reads back."""
    session = next(s for s in SESSIONS if s.failed)
    conn = Connection(Role.CLIENT, dialect=session.dialect)
    opening = conn.send(login_of(session))
    assert opening == b"".join(f.raw for f in session.c2s[:4])
    events: list[Event] = []
    for frame in session.s2c:
        conn.receive_data(frame.raw)
        for event in drain(conn):
            events.append(event)
            if isinstance(event, Challenged):
                assert event.nonce == session.challenge_nonce
                conn.send(Response())
    assert carried_s2c_nodes(events) == [
        n for n in session.nodes(c2s=False) if n.tag != "stream:features"
    ]
    failed = events[-1]
    assert isinstance(failed, LoginFailed)
    assert failed.reason == "not-authorized"
    assert conn.state is State.FAILED
