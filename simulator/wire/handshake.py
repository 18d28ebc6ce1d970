"""The login state machine (PROTOCOL.md §2), one implementation for both roles.

Theory of operation
===================

A FunXMPP login is a strict lockstep between the two ends: the client pipelines its
stream start, features and ``auth``; the server answers with its stream start, features
and a ``challenge`` (or, for a verified fast re-login, nothing more before ``success``);
the client answers with a ``response``; the server ends the login with ``success`` or
``failure`` (§2.1, §2.8). After ``success`` both sides exchange stanzas freely until one
sends ``</stream:stream>`` (§1.3) or the transport closes.

Because the exchange is lockstep there is only **one** state, shared by both ends, and
the machine does not know which end it runs in: every input is a pair *(who sent it,
what kind of node it was)*. The client's machine and the server's machine walk exactly
the same transitions: the client's ``send`` of an auth is the server's ``receive`` of
it. Whether a refused input is our fault or the peer's decides the error class:
``LocalProtocolError`` for our own sends, ``RemoteProtocolError`` for the peer's input;
either way the state becomes ``ERROR`` and stays there (h11's rule).

The kinds are what the table needs to tell apart: the stream start and end, features,
``auth`` without and with a blob (full login or fast re-login), ``challenge``,
``response``, ``success``, ``failure``, any other node (``STANZA``) and end of file.
The table below is ``render_table()`` of ``TRANSITIONS`` (a test keeps them identical)::

    client  idle            --stream-start--> client-opened
    client  client-opened   --features------> client-features
    client  client-features --auth----------> auth
    client  client-features --auth+blob-----> fast-auth
    server  auth            --stream-start--> server-opened
    server  server-opened   --features------> server-features
    server  server-features --challenge-----> challenged
    server  server-features --failure-------> failed
    client  challenged      --response------> responded
    server  responded       --success-------> established
    server  responded       --failure-------> failed
    server  fast-auth       --stream-start--> fast-opened
    server  fast-opened     --features------> fast-features
    server  fast-features   --success-------> established
    server  fast-features   --challenge-----> challenged
    server  fast-features   --failure-------> failed
    client  established     --stanza--------> established
    server  established     --stanza--------> established
    client  established     --stream-end----> client-ended
    server  established     --stream-end----> server-ended
    server  client-ended    --stanza--------> client-ended
    server  client-ended    --stream-end----> closed
    client  server-ended    --stanza--------> server-ended
    client  server-ended    --stream-end----> closed

``EOF`` (the peer closed the transport) leads from every state except ``ERROR`` to
``CLOSED``.

What the table does not decide is left to :class:`Handshake`, which sits on top of the
table and works on nodes, never on bytes:

* expanding a :class:`~simulator.wire.events.SendEvent` into its nodes (``Login`` is
  three, ``Authenticate`` two or three, ``Failure`` after ``LoginRequested`` three);
* the crypto that must happen inside the login: building the client's blob, verifying
  it on the server (§2.7), and telling the byte layer when keystreams exist
  (:class:`SwitchKeys`). A node link skips frame encryption but still runs this;
* guards the table cannot express: ``success`` only after the blob verified;
* turning peer nodes into events.

Encryption is a property of the node kind (§1.3): ``success``, stanzas and the stream
end are sealed, everything else is plaintext. A byte connection seals or expects a
sealed frame by :func:`is_sealed`; the keys only have to be in place first, which
:class:`SwitchKeys` guarantees: the client installs both keystreams right after its
response (or its fast-auth blob), the server right after verifying the blob (§2.6).

Whose turn it is matters for input: when the peer has no entry in the table for the
current state (the server after ``auth``, waiting for ``Authenticate``; the client
after a challenge, waiting for ``Response``), peer input is left unread until our side
has moved (:attr:`Handshake.peer_may_send`). That is what lets a fast re-login client's
first sealed frame wait in the buffer until the keys to read it exist.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Final, final

from simulator.errors import LocalProtocolError, ProtocolError, RemoteProtocolError
from simulator.records import record
from simulator.wire.codec import STREAM_END, STREAM_START, XML_NOT_WELL_FORMED
from simulator.wire.crypto import KeyStream, derive_keys
from simulator.wire.events import (
    Authenticate,
    Challenged,
    ConnectionClosed,
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
    SendEvent,
    StreamEnd,
    StreamEnded,
    StreamStarted,
    Success,
)
from simulator.wire.node import Node

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = [
    "SASL_XMLNS",
    "SERVER_NAME",
    "TRANSITIONS",
    "Handshake",
    "Kind",
    "LoginMachine",
    "Output",
    "State",
    "SwitchKeys",
    "is_sealed",
    "is_stanza",
    "kind_of",
    "render_table",
]

SERVER_NAME: Final = "s.whatsapp.net"
SASL_XMLNS: Final = "urn:ietf:params:xml:ns:xmpp-sasl"
MECHANISM: Final = "WAUTH-2"


class State(enum.Enum):
    """Where the login stands; named after what happened last."""

    IDLE = "idle"
    CLIENT_OPENED = "client-opened"
    CLIENT_FEATURES = "client-features"
    AUTH = "auth"
    SERVER_OPENED = "server-opened"
    SERVER_FEATURES = "server-features"
    CHALLENGED = "challenged"
    RESPONDED = "responded"
    FAST_AUTH = "fast-auth"
    FAST_OPENED = "fast-opened"
    FAST_FEATURES = "fast-features"
    ESTABLISHED = "established"
    CLIENT_ENDED = "client-ended"
    SERVER_ENDED = "server-ended"
    FAILED = "failed"
    CLOSED = "closed"
    ERROR = "error"


class Kind(enum.Enum):
    """What the table distinguishes about an input."""

    STREAM_START = "stream-start"
    FEATURES = "features"
    AUTH = "auth"
    FAST_AUTH = "auth+blob"
    CHALLENGE = "challenge"
    RESPONSE = "response"
    SUCCESS = "success"
    FAILURE = "failure"
    STANZA = "stanza"
    STREAM_END = "stream-end"
    EOF = "eof"


_C, _S = Role.CLIENT, Role.SERVER

_NODE_TRANSITIONS: Final[dict[tuple[Role, State, Kind], State]] = {
    # The client opens without waiting (§2.1).
    (_C, State.IDLE, Kind.STREAM_START): State.CLIENT_OPENED,
    (_C, State.CLIENT_OPENED, Kind.FEATURES): State.CLIENT_FEATURES,
    (_C, State.CLIENT_FEATURES, Kind.AUTH): State.AUTH,
    (_C, State.CLIENT_FEATURES, Kind.FAST_AUTH): State.FAST_AUTH,
    # Full login: exactly start, features, challenge (Chat-API counts them), or a failure
    # in place of the challenge for an unknown user (§2.1, §2.3).
    (_S, State.AUTH, Kind.STREAM_START): State.SERVER_OPENED,
    (_S, State.SERVER_OPENED, Kind.FEATURES): State.SERVER_FEATURES,
    (_S, State.SERVER_FEATURES, Kind.CHALLENGE): State.CHALLENGED,
    (_S, State.SERVER_FEATURES, Kind.FAILURE): State.FAILED,
    (_C, State.CHALLENGED, Kind.RESPONSE): State.RESPONDED,
    (_S, State.RESPONDED, Kind.SUCCESS): State.ESTABLISHED,
    (_S, State.RESPONDED, Kind.FAILURE): State.FAILED,
    # Fast re-login: success straight after the features, or a fresh challenge when the
    # blob does not verify (§2.8), or a failure.
    (_S, State.FAST_AUTH, Kind.STREAM_START): State.FAST_OPENED,
    (_S, State.FAST_OPENED, Kind.FEATURES): State.FAST_FEATURES,
    (_S, State.FAST_FEATURES, Kind.SUCCESS): State.ESTABLISHED,
    (_S, State.FAST_FEATURES, Kind.CHALLENGE): State.CHALLENGED,
    (_S, State.FAST_FEATURES, Kind.FAILURE): State.FAILED,
    # Logged in: stanzas both ways; each side ends its own half of the stream (§1.3).
    (_C, State.ESTABLISHED, Kind.STANZA): State.ESTABLISHED,
    (_S, State.ESTABLISHED, Kind.STANZA): State.ESTABLISHED,
    (_C, State.ESTABLISHED, Kind.STREAM_END): State.CLIENT_ENDED,
    (_S, State.ESTABLISHED, Kind.STREAM_END): State.SERVER_ENDED,
    (_S, State.CLIENT_ENDED, Kind.STANZA): State.CLIENT_ENDED,
    (_S, State.CLIENT_ENDED, Kind.STREAM_END): State.CLOSED,
    (_C, State.SERVER_ENDED, Kind.STANZA): State.SERVER_ENDED,
    (_C, State.SERVER_ENDED, Kind.STREAM_END): State.CLOSED,
}

TRANSITIONS: Final[Mapping[tuple[Role, State, Kind], State]] = {
    **_NODE_TRANSITIONS,
    **{
        (role, state, Kind.EOF): State.CLOSED
        for role in Role
        for state in State
        if state is not State.ERROR
    },
}
"""``(sender, state, kind) -> next state``. A missing key is a protocol error."""

_PEER_INPUT: Final = frozenset((role, state) for role, state, _ in _NODE_TRANSITIONS)

_SEALED_KINDS: Final = frozenset((Kind.SUCCESS, Kind.STANZA, Kind.STREAM_END))

_LOGGING_IN: Final = frozenset(
    (
        State.IDLE,
        State.CLIENT_OPENED,
        State.CLIENT_FEATURES,
        State.AUTH,
        State.SERVER_OPENED,
        State.SERVER_FEATURES,
        State.CHALLENGED,
        State.RESPONDED,
        State.FAST_AUTH,
        State.FAST_OPENED,
        State.FAST_FEATURES,
    )
)

_TAG_KINDS: Final[Mapping[str, Kind]] = {
    STREAM_START: Kind.STREAM_START,
    "stream:features": Kind.FEATURES,
    "challenge": Kind.CHALLENGE,
    "response": Kind.RESPONSE,
    "success": Kind.SUCCESS,
    "failure": Kind.FAILURE,
    STREAM_END: Kind.STREAM_END,
}


NOT_STANZA_TAGS: Final = frozenset((*_TAG_KINDS, "auth"))
"""The tags of the login and stream nodes: every other node is a stanza (:func:`is_stanza`)."""


def is_stanza(node: Node) -> bool:
    """Whether ``kind_of(node) is Kind.STANZA``, without building the kind."""
    return node.tag not in NOT_STANZA_TAGS


def kind_of(node: Node) -> Kind:
    """The table input a node is (``auth`` splits on whether it carries a blob)."""
    if node.tag == "auth":
        return Kind.FAST_AUTH if node.data else Kind.AUTH
    return _TAG_KINDS.get(node.tag, Kind.STANZA)


def is_sealed(kind: Kind) -> bool:
    """Whether frames of this kind are encrypted (§1.3): success and everything after it."""
    return kind is Kind.STANZA or kind in _SEALED_KINDS


def render_table() -> str:
    """The node transitions as aligned text, one per line (quoted in the module docstring)."""
    rows = [
        (sender.value, state.value, kind.value, target.value)
        for (sender, state, kind), target in _NODE_TRANSITIONS.items()
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n    ".join(
        f"{sender:<{widths[0]}}  {state:<{widths[1]}} --{kind:-<{widths[2]}}--> {target}"
        for sender, state, kind, target in rows
    )


@final
class LoginMachine:
    """The bare table walk: a state and :meth:`advance`. Knows nothing about nodes."""

    __slots__ = ("our_role", "state")

    def __init__(self, our_role: Role, state: State = State.IDLE) -> None:
        self.our_role = our_role
        self.state = state

    @property
    def peer_may_send(self) -> bool:
        """Whether the table has any node input from the peer in the current state."""
        # ESTABLISHED first: both peers may send then, and it is the state of every
        # stanza (the set lookup hashes two enums, in Python).
        state = self.state
        return state is State.ESTABLISHED or (self.our_role.peer, state) in _PEER_INPUT

    def advance(self, sender: Role, kind: Kind) -> State:
        """Apply one input; on a missing key go to ``ERROR`` and raise.

        Raises:
            LocalProtocolError: ``sender`` is us.
            RemoteProtocolError: ``sender`` is the peer.
        """
        prior = self.state
        if prior is State.ESTABLISHED and kind is Kind.STANZA:
            return prior  # the hot path: both table rows for it say "stay" (a test checks)
        try:
            self.state = TRANSITIONS[sender, prior, kind]
        except KeyError:
            self.state = State.ERROR
            who = "send" if sender is self.our_role else "receive"
            msg = (
                f"can't {who} {kind.value} from the {sender.value} "
                f"when role={self.our_role.value} and state={prior.value}"
            )
            if sender is self.our_role:
                raise LocalProtocolError(msg) from None
            raise RemoteProtocolError(msg) from None
        return self.state


@record
class SwitchKeys:
    """Signal from the handshake: from now on, sealed kinds use these keystreams (§2.6).

    ``incoming`` opens what the peer sends, ``outgoing`` seals what we send. A node link
    ignores it; a byte connection installs both.
    """

    incoming: KeyStream
    outgoing: KeyStream


Output = Node | Event | SwitchKeys
"""What the handshake hands back: nodes to send, events to report, keys to install."""


def _keystreams(password: bytes, nonce: bytes) -> tuple[KeyStream, KeyStream]:
    """(client -> server, server -> client) for one login (§2.5)."""
    k1, k2, k3, k4 = derive_keys(password, nonce)
    return KeyStream(k1, k2), KeyStream(k3, k4)


def _user_bytes(user: str) -> bytes:
    # The decoder turns attribute bytes into str with surrogateescape; this undoes it.
    return user.encode("utf-8", "surrogateescape")


@record
class _Verified:
    c2s: KeyStream
    s2c: KeyStream
    after_nonce: bytes


def _verify_blob(password: bytes, nonce: bytes, user: str, blob: bytes) -> _Verified | str:
    """§2.7 steps 1-3: the keystreams and the plaintext tail, or why the blob fails."""
    c2s, s2c = _keystreams(password, nonce)
    try:
        plain = c2s.open_blob(blob)
    except RemoteProtocolError as exc:
        return str(exc)
    prefix = _user_bytes(user) + nonce
    if not plain.startswith(prefix):
        return "the auth blob does not start with the user and the nonce"
    return _Verified(c2s, s2c, plain[len(prefix) :])


_NO_AUTH: Final = Node("auth")
"""The auth node a handshake holds before the peer's arrives (nodes are immutable)."""


def _failure_node(reason: str) -> Node:
    return Node("failure", {"xmlns": SASL_XMLNS}, [Node(reason)])


_SERVER_STREAM_START: Final = Node(STREAM_START, {"from": SERVER_NAME})
_SERVER_FEATURES: Final = Node("stream:features")
_NOT_AUTHORIZED: Final = _failure_node("not-authorized")


@final
class Handshake:
    """The login and the stream around it, at the node level, for either role.

    Wrappers call :meth:`send` with what the application sends and :meth:`receive` with
    each node from the peer; both return :data:`Output` items in wire order. Any
    ``ProtocolError`` leaves :attr:`state` at ``ERROR``.
    """

    def __init__(self, role: Role) -> None:
        self.role = role
        self._machine = LoginMachine(role)
        self.user: str | None = None
        """The account: from ``Login`` (client) or the peer's auth (server)."""
        self.next_nonce: bytes | None = None
        """The nonce of the next fast re-login: sent (server) or received (client) in success."""
        # client side
        self._login: Login | None = None
        self._challenge = b""
        # server side
        self._resource = ""
        self._features = _SERVER_FEATURES
        self._auth = _NO_AUTH
        self._password = b""
        self._nonce = b""
        self._verified = False

    @property
    def state(self) -> State:
        return self._machine.state

    @property
    def machine(self) -> LoginMachine:
        """The login state machine: a reader of :attr:`state` for every stanza may keep
        it and read its ``state`` attribute, one property call less."""
        return self._machine

    @property
    def peer_may_send(self) -> bool:
        """Whether peer input can be processed now (see the module docstring)."""
        return self._machine.peer_may_send

    def fail(self) -> None:
        """Put the machine in ``ERROR`` (for faults found below the node level)."""
        self._machine.state = State.ERROR

    def reply_hint(self, state: State) -> Node | None:
        """What a server answers a peer fault in ``state`` with (§2.7, §3.17).

        During the login: ``failure`` (plaintext; every client handles it there, and the
        real server sent it even in place of its stream start, §1.2). Logged in:
        ``<stream:error><xml-not-well-formed/></stream:error>``. Nothing once we have said
        our last word, and nothing from a client (clients never send stream errors).
        """
        if self.role is Role.CLIENT:
            return None
        if state in _LOGGING_IN:
            return _NOT_AUTHORIZED
        if state in (State.ESTABLISHED, State.CLIENT_ENDED):
            return XML_NOT_WELL_FORMED
        return None

    # ---------------------------------------------------------------- our side

    def send(self, item: Node | SendEvent) -> list[Output]:
        """The nodes (and signals) for one thing the application sends.

        Raises:
            LocalProtocolError: the protocol does not allow it now; state becomes ERROR.
        """
        try:
            return self._send(item)
        except ProtocolError:
            self.fail()
            raise

    def _send(self, item: Node | SendEvent) -> list[Output]:
        client, server = self.role is Role.CLIENT, self.role is Role.SERVER
        match item:
            case Node():
                return self._send_node(item)
            case StreamEnd():
                return [self._emit(Node(STREAM_END))]
            case Login() if client:
                return self._send_login(item)
            case Response() if client:
                return self._send_response()
            case Authenticate() if server:
                return self._send_authenticate(item)
            case Success() if server:
                return self._send_success(item)
            case Failure() if server:
                return self._send_failure(item)
        raise LocalProtocolError(
            f"a {self.role.value} cannot send {type(item).__name__} (state={self.state.value})"
        )

    def _emit(self, node: Node) -> Node:
        self._machine.advance(self.role, kind_of(node))
        return node

    def _send_node(self, node: Node) -> list[Output]:
        kind = kind_of(node)
        if kind is not Kind.STANZA and kind is not Kind.STREAM_END:
            raise LocalProtocolError(
                f"<{node.tag}> is a login node: send the matching event, not a Node"
            )
        self._machine.advance(self.role, kind)
        return [node]

    def _send_login(self, login: Login) -> list[Output]:
        start = self._emit(Node(STREAM_START, {"to": SERVER_NAME, "resource": login.resource}))
        features = self._emit(login.features)
        self._login, self.user = login, login.user
        attrs = {
            "user": login.user,
            "mechanism": MECHANISM,
            "passive": "true" if login.passive else "false",
        }
        if login.stored_nonce is None:
            return [start, features, self._emit(Node("auth", attrs))]
        blob, keys = self._client_blob(login.stored_nonce)
        return [start, features, self._emit(Node("auth", attrs, data=blob)), keys]

    def _client_blob(self, nonce: bytes) -> tuple[bytes, SwitchKeys]:
        """The blob of §2.7 and the keys the client uses from then on (§2.6)."""
        login = self._login
        assert login is not None  # the table lets a client respond only after Login
        c2s, s2c = _keystreams(login.password, nonce)
        plain = _user_bytes(login.user) + nonce + str(login.timestamp).encode() + login.trailer
        return c2s.seal_blob(plain), SwitchKeys(incoming=s2c, outgoing=c2s)

    def _send_response(self) -> list[Output]:
        self._machine.advance(self.role, Kind.RESPONSE)
        blob, keys = self._client_blob(self._challenge)
        return [Node("response", {"xmlns": SASL_XMLNS}, data=blob), keys]

    def _send_authenticate(self, auth: Authenticate) -> list[Output]:
        fast = self.state is State.FAST_AUTH
        out: list[Output] = [self._emit(_SERVER_STREAM_START), self._emit(_SERVER_FEATURES)]
        self._password, self._nonce = auth.password, auth.nonce
        if fast and auth.stored_nonce is not None:
            verdict = self._verify(auth.stored_nonce, self._auth)
            if isinstance(verdict, _Verified):
                return out + self._accept(verdict, self._auth, fast=True)
        out.append(self._emit(Node("challenge", data=auth.nonce)))
        return out

    def _verify(self, nonce: bytes, node: Node) -> _Verified | str:
        assert self.user is not None  # set with the auth, before any blob can arrive
        return _verify_blob(self._password, nonce, self.user, node.data or b"")

    def _accept(self, verdict: _Verified, node: Node, *, fast: bool) -> list[Output]:
        assert self.user is not None
        self._verified = True
        return [
            SwitchKeys(incoming=verdict.c2s, outgoing=verdict.s2c),
            LoginVerified(
                user=self.user,
                passive=self._auth.get("passive") == "true",
                fast=fast,
                node=node,
                after_nonce=verdict.after_nonce,
            ),
        ]

    def _send_success(self, success: Success) -> list[Output]:
        if not self._verified:
            raise LocalProtocolError(
                f"can't send success before the blob verified (state={self.state.value})"
            )
        node = self._emit(Node("success", success.attrs, data=success.nonce))
        self.next_nonce = success.nonce
        self._forget_login()
        return [node]

    def _send_failure(self, failure: Failure) -> list[Output]:
        out: list[Output] = []
        if self.state in (State.AUTH, State.FAST_AUTH):
            out += [self._emit(_SERVER_STREAM_START), self._emit(_SERVER_FEATURES)]
        out.append(self._emit(_failure_node(failure.reason)))
        return out

    # ---------------------------------------------------------------- their side

    def receive(self, node: Node) -> list[Output]:
        """The events (and signals) one peer node causes.

        Raises:
            RemoteProtocolError: the node is out of order or malformed; state becomes ERROR.
        """
        kind = kind_of(node)
        try:
            self._machine.advance(self.role.peer, kind)
            return _RECEIVERS[kind](self, node)
        except ProtocolError:
            self.fail()
            raise

    def receive_eof(self) -> list[Output]:
        """The peer closed the transport: ``ConnectionClosed``, state ``CLOSED``."""
        self._machine.advance(self.role.peer, Kind.EOF)
        return [ConnectionClosed()]

    def _on_stream_start(self, node: Node) -> list[Output]:
        self._resource = node.get("resource") or ""
        return [StreamStarted(attrs=node.attrs)]

    def _on_features(self, node: Node) -> list[Output]:
        self._features = node
        return []

    def _on_auth(self, node: Node) -> list[Output]:
        user = node.get("user")
        if not user:
            raise RemoteProtocolError(f"auth without a user: {node}")
        if node.get("mechanism") != MECHANISM:
            raise RemoteProtocolError(f"auth mechanism {node.get('mechanism')!r} is not WAUTH-2")
        self._auth, self.user = node, user
        return [
            LoginRequested(
                user=user,
                passive=node.get("passive") == "true",
                resource=self._resource,
                features=self._features,
                fast=bool(node.data),
                node=node,
            )
        ]

    def _on_challenge(self, node: Node) -> list[Output]:
        if not node.data:
            raise RemoteProtocolError("challenge without a nonce (§2.4)")
        self._challenge = node.data
        return [Challenged(nonce=node.data, node=node)]

    def _on_response(self, node: Node) -> list[Output]:
        verdict = self._verify(self._nonce, node)
        if isinstance(verdict, str):
            assert self.user is not None
            return [LoginRejected(user=self.user, reason=verdict, node=node)]
        return self._accept(verdict, node, fast=False)

    def _on_success(self, node: Node) -> list[Output]:
        self.next_nonce = node.data or None
        self._forget_login()
        return [LoginSucceeded(node=node)]

    def _forget_login(self) -> None:
        """Logged in: let go of what only the login needed (the password, the peer's
        auth and features nodes), which a long-lived session would otherwise hold."""
        self._login = None
        self._challenge = b""
        self._features = _SERVER_FEATURES
        self._auth = _NO_AUTH
        self._password = b""
        self._nonce = b""

    def _on_failure(self, node: Node) -> list[Output]:
        reason = node.children[0].tag if node.children else ""
        return [LoginFailed(reason=reason, node=node)]

    def _on_stanza(self, node: Node) -> list[Output]:
        return [NodeReceived(node=node)]

    def _on_stream_end(self, _: Node) -> list[Output]:
        return [StreamEnded()]


_RECEIVERS: Final[Mapping[Kind, Callable[[Handshake, Node], list[Output]]]] = {
    Kind.STREAM_START: Handshake._on_stream_start,
    Kind.FEATURES: Handshake._on_features,
    Kind.AUTH: Handshake._on_auth,
    Kind.FAST_AUTH: Handshake._on_auth,
    Kind.CHALLENGE: Handshake._on_challenge,
    Kind.RESPONSE: Handshake._on_response,
    Kind.SUCCESS: Handshake._on_success,
    Kind.FAILURE: Handshake._on_failure,
    Kind.STANZA: Handshake._on_stanza,
    Kind.STREAM_END: Handshake._on_stream_end,
}
"""Peer node kind -> handler. The table has already checked the sender and the order."""
