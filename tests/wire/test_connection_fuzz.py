"""Whatever a peer sends, a connection reports events or raises ``RemoteProtocolError``.

That is h11's fuzzing invariant, checked here with hypothesis on arbitrary bytes, on
mutations of the recorded sessions (fed whole, byte by byte and in random pieces), and
on random sealed payloads after a real login. The login table gets the h2 treatment:
every (state, input) pair either transitions as the table says or raises and leaves the
machine in ``ERROR``, for the bare table and for real connections driven to each state.
"""

from __future__ import annotations

from itertools import cycle
from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.errors import LocalProtocolError, ProtocolError, RemoteProtocolError
from simulator.wire import handshake
from simulator.wire.codec import encode
from simulator.wire.connection import Connection, NodeConnection
from simulator.wire.crypto import KeyStream
from simulator.wire.events import (
    Authenticate,
    ConnectionClosed,
    Event,
    Failure,
    LoginRejected,
    LoginRequested,
    LoginVerified,
    Response,
    Role,
    StreamEnd,
    Success,
)
from simulator.wire.framing import frame_header
from simulator.wire.handshake import TRANSITIONS, Kind, LoginMachine, State
from simulator.wire.node import Node
from simulator.wire.tokens import Dialect
from tests.strategies import nodes
from tests.wire.helpers import (
    NONCE,
    PASSWORD,
    SUCCESS_ATTRS,
    USER,
    drain,
    login_event,
    next_nonce,
)
from tests.wire.sessions import SESSIONS, Session

if TYPE_CHECKING:
    from simulator.wire.events import SendEvent

FUZZ = settings(max_examples=2 * settings().max_examples)

# ==================================================================== bytes in


def answer(conn: Connection, event: Event, session: Session) -> None:
    """Answer login events like a server that knows the session's account."""
    if isinstance(event, LoginRequested):
        auth = Authenticate(
            password=session.password,
            nonce=session.challenge_nonce,
            stored_nonce=session.success_nonce,
        )
        conn.send(auth)
    elif isinstance(event, LoginVerified):
        conn.send(Success(attrs=SUCCESS_ATTRS, nonce=session.success_nonce))
    elif isinstance(event, LoginRejected):
        conn.send(Failure())


def feed(conn: Connection, chunks: list[bytes], session: Session) -> RemoteProtocolError | None:
    """Feed the chunks, then EOF, answering login events; the peer's error, if any."""
    try:
        for chunk in [*filter(None, chunks), b""]:
            conn.receive_data(chunk)
            while (event := conn.next_event()) is not None:
                answer(conn, event, session)  # at once, as an application would
    except RemoteProtocolError as exc:
        return exc
    return None


def serve(
    chunks: list[bytes], session: Session = SESSIONS[0], conn: Connection | None = None
) -> None:
    """A server fed anything ends CLOSED, or in ERROR through a RemoteProtocolError."""
    conn = conn or Connection(Role.SERVER)
    error = feed(conn, chunks, session)
    if error is None:
        assert conn.state is State.CLOSED
        return
    assert conn.state is State.ERROR
    if error.reply_hint is not None:
        assert conn.send(error.reply_hint)  # the hint can always be written, once
    with pytest.raises(LocalProtocolError):
        conn.next_event()


def split(data: bytes, sizes: list[int]) -> list[bytes]:
    out: list[bytes] = []
    pos = 0
    for size in cycle(sizes):
        if pos >= len(data):
            return out
        out.append(data[pos : pos + size])
        pos += size
    raise AssertionError("unreachable")  # pragma: no cover


@FUZZ
@given(st.binary(max_size=400))
def test_arbitrary_bytes_without_preamble(data: bytes) -> None:
    serve([data])


@FUZZ
@given(st.sampled_from(list(Dialect)), st.binary(max_size=400), st.booleans())
def test_arbitrary_bytes_after_a_preamble(dialect: Dialect, data: bytes, by_byte: bool) -> None:
    data = dialect.preamble + data
    serve([data[i : i + 1] for i in range(len(data))] if by_byte else [data])


@st.composite
def mutated_sessions(draw: st.DrawFn) -> tuple[Session, bytes]:
    session = SESSIONS[draw(st.integers(0, len(SESSIONS) - 1))]
    data = bytearray(session.c2s_bytes())
    for _ in range(draw(st.integers(1, 3))):
        pos = draw(st.integers(0, len(data)))
        match draw(st.sampled_from(["flip", "delete", "insert", "truncate"])):
            case "flip" if pos < len(data):
                data[pos] ^= 1 << draw(st.integers(0, 7))
            case "delete":
                del data[pos : pos + draw(st.integers(1, 8))]
            case "insert":
                data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
            case _:
                del data[pos:]
    return session, bytes(data)


@FUZZ
@given(mutated_sessions(), st.lists(st.integers(1, 64), min_size=1, max_size=8))
def test_mutated_sessions(mutated: tuple[Session, bytes], sizes: list[int]) -> None:
    session, data = mutated
    serve(split(data, sizes), session)


@pytest.mark.parametrize("session", SESSIONS, ids=lambda s: s.name)
def test_mutated_session_fed_byte_by_byte(session: Session) -> None:
    """Every single-bit flip of the opening frames, byte by byte (a deterministic sweep)."""
    data = session.c2s_bytes()[:64]
    for pos in range(len(data)):
        broken = bytearray(data)
        broken[pos] ^= 0x10
        serve([bytes(broken[i : i + 1]) for i in range(len(broken))], session)


def logged_in_server(session: Session) -> tuple[Connection, KeyStream]:
    """A server past a recorded full login, and the client's keystream at seq 1."""
    conn = Connection(Role.SERVER)
    login = [f.raw for f in session.c2s if not f.encrypted]
    for chunk in login:
        conn.receive_data(chunk)
        for event in drain(conn):
            answer(conn, event, session)
    assert conn.state is State.ESTABLISHED
    k1, k2, _, _ = session.keys
    c2s = KeyStream(k1, k2)
    c2s.open_blob(bytes.fromhex(session.auth["blob_hex"]))
    return conn, c2s


FULL_LOGINS = [s for s in SESSIONS if s.auth and not s.fast]


@given(
    st.integers(0, len(FULL_LOGINS) - 1),
    st.lists(st.one_of(st.binary(max_size=60), nodes(max_leaves=4)), max_size=3),
)
def test_random_sealed_payloads_after_login(index: int, payloads: list[bytes | Node]) -> None:
    """Correctly sealed frames with random contents: decode into events or raise."""
    session = FULL_LOGINS[index]
    conn, c2s = logged_in_server(session)
    frames = []
    for payload in payloads:
        plain = encode(payload, session.dialect) if isinstance(payload, Node) else payload
        sealed = c2s.seal(plain)
        frames.append(frame_header(len(sealed), encrypted=True) + sealed)
    serve(frames, session, conn)


# ==================================================================== the bare table


def test_docstring_shows_the_table() -> None:
    assert handshake.__doc__ is not None
    assert handshake.render_table() in handshake.__doc__


@pytest.mark.parametrize("our_role", list(Role))
def test_every_state_and_input_transitions_or_errors(our_role: Role) -> None:
    for state in State:
        for sender in Role:
            for kind in Kind:
                machine = LoginMachine(our_role, state)
                key = (sender, state, kind)
                if key in TRANSITIONS:
                    assert machine.advance(sender, kind) is TRANSITIONS[key]
                    continue
                error = LocalProtocolError if sender is our_role else RemoteProtocolError
                with pytest.raises(error, match=f"state={state.value}"):
                    machine.advance(sender, kind)
                assert machine.state is State.ERROR


def reachable() -> set[State]:
    seen, todo = {State.IDLE}, [State.IDLE]
    while todo:
        state = todo.pop()
        for (_, source, _), target in TRANSITIONS.items():
            if source is state and target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def test_every_state_but_error_is_reachable() -> None:
    assert reachable() == set(State) - {State.ERROR}


def test_only_one_side_may_move_during_the_login() -> None:
    """Lockstep (§2.1): before success, every state has node input from one role only."""
    movers: dict[State, set[Role]] = {}
    for (sender, state, kind), _ in TRANSITIONS.items():
        if kind is not Kind.EOF:
            movers.setdefault(state, set()).add(sender)
    both = {state for state, roles in movers.items() if len(roles) == 2}
    assert both == {State.ESTABLISHED}


@given(st.lists(st.tuples(st.sampled_from(list(Role)), st.sampled_from(list(Kind)))))
def test_random_input_sequences(inputs: list[tuple[Role, Kind]]) -> None:
    machine = LoginMachine(Role.SERVER)
    for sender, kind in inputs:
        before = machine.state
        try:
            after = machine.advance(sender, kind)
        except ProtocolError:
            assert machine.state is State.ERROR
            assert (sender, before, kind) not in TRANSITIONS
        else:
            assert after is TRANSITIONS[sender, before, kind]


# ==================================================================== real connections, every state

Step = tuple[Role, "SendEvent | Node"]

_C, _S = Role.CLIENT, Role.SERVER
PRESENCE = Node("presence", {"type": "available"})

SCRIPTS: dict[str, list[Step]] = {
    "full": [
        (_C, login_event()),
        (_S, Authenticate(password=PASSWORD, nonce=NONCE)),
        (_C, Response()),
        (_S, Success(attrs=SUCCESS_ATTRS, nonce=next_nonce(0))),
        (_C, PRESENCE),
        (_S, PRESENCE),
        (_C, StreamEnd()),
        (_S, PRESENCE),
        (_S, StreamEnd()),
    ],
    "fast": [
        (_C, login_event(stored_nonce=next_nonce(0))),
        (_S, Authenticate(password=PASSWORD, nonce=NONCE, stored_nonce=next_nonce(0))),
        (_S, Success(attrs=SUCCESS_ATTRS, nonce=next_nonce(1))),
        (_S, StreamEnd()),
        (_C, PRESENCE),
        (_C, StreamEnd()),
    ],
    "fast-fallback": [
        (_C, login_event(stored_nonce=next_nonce(0))),
        (_S, Authenticate(password=PASSWORD, nonce=NONCE)),
        (_C, Response()),
    ],
    "unknown-user": [(_C, login_event()), (_S, Failure())],
    "rejected": [
        (_C, login_event(password=bytes(20))),
        (_S, Authenticate(password=PASSWORD, nonce=NONCE)),
        (_C, Response()),
        (_S, Failure()),
    ],
}

SAMPLES: dict[Kind, Node] = {
    Kind.STREAM_START: Node("stream:start", {"to": "s.whatsapp.net", "resource": "x"}),
    Kind.FEATURES: Node("stream:features"),
    Kind.AUTH: Node("auth", {"user": USER, "mechanism": "WAUTH-2"}),
    Kind.FAST_AUTH: Node("auth", {"user": USER, "mechanism": "WAUTH-2"}, data=bytes(40)),
    Kind.CHALLENGE: Node("challenge", data=NONCE),
    Kind.RESPONSE: Node("response", data=bytes(40)),
    Kind.SUCCESS: Node("success", SUCCESS_ATTRS, data=NONCE),
    Kind.FAILURE: Node("failure", children=[Node("not-authorized")]),
    Kind.STANZA: PRESENCE,
    Kind.STREAM_END: Node("stream:end"),
}


def replay(steps: list[Step], delivered: int) -> dict[Role, NodeConnection]:
    """Run a script until ``delivered`` nodes have reached their peer, then stop.

    Cutting inside a step leaves the receiver in the middle of a multi-node answer
    (e.g. after the server's stream start but before its features).
    """
    conns = {role: NodeConnection(role, dialect=Dialect.V16) for role in Role}
    for sender, item in steps:
        if delivered == 0:
            break
        for node in conns[sender].send(item)[:delivered]:
            conns[sender.peer].receive_node(node)
            delivered -= 1
        for conn in conns.values():
            drain(conn)
    return conns


def node_count(steps: list[Step]) -> int:
    conns = {role: NodeConnection(role, dialect=Dialect.V16) for role in Role}
    total = 0
    for sender, item in steps:
        written = conns[sender].send(item)
        for node in written:
            conns[sender.peer].receive_node(node)
        total += len(written)
        for conn in conns.values():
            drain(conn)
    return total


CASES = [
    pytest.param(name, cut, role, id=f"{name}-{cut}-{role.value}")
    for name, steps in SCRIPTS.items()
    for cut in range(node_count(steps) + 1)
    for role in Role
]


def test_scripts_reach_every_state_but_error() -> None:
    reached = {
        conn.state
        for name, steps in SCRIPTS.items()
        for cut in range(node_count(steps) + 1)
        for conn in replay(steps, cut).values()
    }
    assert reached == set(State) - {State.ERROR}


@pytest.mark.parametrize(("script", "cut", "role"), CASES)
def test_every_reached_state_takes_every_peer_input(script: str, cut: int, role: Role) -> None:
    """Drive a real pair into a state, then feed the ``role`` end each kind of peer node."""
    for kind in Kind:
        conn = replay(SCRIPTS[script], cut)[role]
        before = conn.state
        waits = not LoginMachine(role, before).peer_may_send
        key = (role.peer, before, kind)
        if kind is Kind.EOF:
            conn.receive_eof()
            assert drain(conn) == [ConnectionClosed()]
            assert conn.state is State.CLOSED
            continue
        conn.receive_node(SAMPLES[kind])
        if waits:
            assert drain(conn) == []  # our move: peer input waits in the inbox
            assert conn.state is before
        elif key in TRANSITIONS:
            drain(conn)
            assert conn.state is TRANSITIONS[key]
        else:
            with pytest.raises(RemoteProtocolError, match=f"state={before.value}"):
                drain(conn)
            assert conn.state is State.ERROR
