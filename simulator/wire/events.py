"""The values a wire connection reports (:class:`Event`) and accepts (:class:`SendEvent`).

A connection (``simulator.wire.connection``) turns peer bytes into :class:`Event` objects
from ``next_event()``, and turns :class:`SendEvent` objects (or plain ``Node`` stanzas
once logged in) into bytes from ``send()``. The login (PROTOCOL.md §2) is the only part
with events of its own; after it every stanza is a :class:`NodeReceived` one way and a
``Node`` the other.

Login, from each side (§2.1, §2.8)::

    client app                          client conn | server conn       server app
    send(Login(...))              ->  start, features, auth
                                                    -> LoginRequested  -> send(Authenticate(...))
                                 start, features, challenge  <-
    Challenged   <-                                                          (full login)
    send(Response())              ->  response      -> LoginVerified   -> send(Success(...))
                                                       or LoginRejected -> send(Failure())
    LoginSucceeded / LoginFailed  <-  success / failure

With a fast re-login (``Login(stored_nonce=...)``) the auth carries the blob and, if the
server's ``Authenticate(stored_nonce=...)`` verifies it, the server skips the challenge:
``LoginVerified(fast=True)`` comes out of the server's ``next_event()`` right after that
``send``.

Every event is a frozen, slotted, keyword-only dataclass. Handshake events carry the
node that caused them, so a transcript can show exactly what crossed the wire.
"""

from __future__ import annotations

import enum
from dataclasses import field
from types import MappingProxyType
from typing import TYPE_CHECKING

from simulator.errors import LocalProtocolError
from simulator.records import record
from simulator.wire.node import Node

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "Authenticate",
    "Challenged",
    "ConnectionClosed",
    "Event",
    "Failure",
    "Login",
    "LoginFailed",
    "LoginRejected",
    "LoginRequested",
    "LoginSucceeded",
    "LoginVerified",
    "NodeReceived",
    "Response",
    "Role",
    "SendEvent",
    "StreamEnd",
    "StreamEnded",
    "StreamStarted",
    "Success",
]


class Role(enum.Enum):
    """Which end of the connection we are."""

    CLIENT = "client"
    SERVER = "server"

    @property
    def peer(self) -> Role:
        """The other end."""
        return Role.SERVER if self is Role.CLIENT else Role.CLIENT


def _frozen_attrs(attrs: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(attrs))


# ==================================================================== received


@record(kw_only=True)
class Event:
    """Base of everything ``next_event()`` returns."""


@record(kw_only=True)
class StreamStarted(Event):
    """The peer opened its stream (§1.4.5). ``attrs``: ``to``/``resource`` from a client,
    ``from`` from a server. Informational: the login events that follow carry what matters."""

    attrs: Mapping[str, str]

    def __post_init__(self) -> None:
        object.__setattr__(self, "attrs", _frozen_attrs(self.attrs))


@record(kw_only=True)
class LoginRequested(Event):
    """Server side: the client's stream start, features and ``auth`` are in (§2.1-§2.3).

    Answer with :class:`Authenticate` (the account is known) or :class:`Failure` (it is
    not). ``fast`` says the auth carried a fast re-login blob (§2.8); ``node`` is the auth.
    """

    user: str
    passive: bool
    resource: str
    features: Node
    fast: bool
    node: Node


@record(kw_only=True)
class LoginVerified(Event):
    """Server side: the response blob (or, ``fast``, the auth blob) verified (§2.7).

    Send :class:`Success` next. ``node`` carries the blob. ``after_nonce`` is the blob
    plaintext after ``user || nonce``: the client's clock and version trailer, which the
    server must not check but may use to tell clients apart (§2.7, §6.3).
    """

    user: str
    passive: bool
    fast: bool
    node: Node
    after_nonce: bytes


@record(kw_only=True)
class LoginRejected(Event):
    """Server side: the response blob did not verify (wrong password, §2.7 step 5).

    Send :class:`Failure` next. ``reason`` says what failed; ``node`` is the response.
    """

    user: str
    reason: str
    node: Node


@record(kw_only=True)
class Challenged(Event):
    """Client side: the server sent ``<challenge>`` (§2.4). Answer with :class:`Response`."""

    nonce: bytes
    node: Node


@record(kw_only=True)
class LoginSucceeded(Event):
    """Client side: ``<success>`` arrived (§2.9); the connection is logged in.

    ``node.data`` is the next fast re-login nonce (also ``connection.next_nonce``).
    """

    node: Node


@record(kw_only=True)
class LoginFailed(Event):
    """Client side: ``<failure>`` arrived (§2.10). ``reason`` is the first child's tag."""

    reason: str
    node: Node


@record(kw_only=True)
class NodeReceived(Event):
    """A stanza after login."""

    node: Node


@record(kw_only=True)
class StreamEnded(Event):
    """The peer sent ``</stream:stream>`` (§1.3); it will send nothing more."""


@record(kw_only=True)
class ConnectionClosed(Event):
    """The transport reached end of file (``receive_data(b"")``). Reported once."""


# ==================================================================== sent


@record(kw_only=True)
class SendEvent:
    """Base of the login and stream events ``send()`` accepts besides a plain ``Node``."""


@record(kw_only=True)
class Login(SendEvent):
    """Client: open the stream and authenticate (stream start, features, auth; §2.1-§2.3).

    Args:
        user: the phone number (cc + number, ASCII).
        password: the raw account secret (20 bytes, base64-decoded, §2.5).
        resource: the stream start's ``resource``, e.g. ``"S40-2.16.12"`` (§1.4.5).
        features: the client's ``<stream:features>`` (§2.2).
        passive: the ``passive="true"`` key-upload login (§2.12).
        timestamp: the client clock written into the blob (§2.7); the caller supplies it.
        trailer: bytes after the timestamp (the 1.6 clients' version trailer, §2.7).
        stored_nonce: the last success nonce: a fast re-login whose auth carries the
            blob (§2.8). ``None``: a full login with a challenge.
    """

    user: str
    password: bytes
    resource: str
    features: Node = field(default_factory=lambda: Node("stream:features"))
    passive: bool = False
    timestamp: int
    trailer: bytes = b""
    stored_nonce: bytes | None = None

    def __post_init__(self) -> None:
        if not self.user or not self.user.isascii():
            raise LocalProtocolError(f"user {self.user!r} must be a non-empty ASCII number")
        if self.features.tag != "stream:features":
            raise LocalProtocolError(
                f"features must be <stream:features>, not <{self.features.tag}>"
            )
        if self.timestamp < 0:
            raise LocalProtocolError(f"timestamp {self.timestamp} is negative")
        if self.stored_nonce is not None and not self.stored_nonce:
            raise LocalProtocolError("stored_nonce must be None or non-empty")


@record(kw_only=True)
class Response(SendEvent):
    """Client: answer :class:`Challenged` with the blob for that nonce (§2.7)."""


@record(kw_only=True)
class Authenticate(SendEvent):
    """Server: answer :class:`LoginRequested` for a known account.

    If the auth carried a blob and ``stored_nonce`` (the nonce of this user's last
    success) verifies it, the challenge is skipped: stream start and features go out and
    :class:`LoginVerified` (``fast=True``) follows. Otherwise stream start, features and
    ``<challenge>nonce</challenge>`` go out (§2.1, §2.8 fallback).
    """

    password: bytes
    nonce: bytes
    stored_nonce: bytes | None = None

    def __post_init__(self) -> None:
        if not self.nonce:
            raise LocalProtocolError("the challenge nonce must not be empty (§2.4)")


@record(kw_only=True)
class Success(SendEvent):
    """Server: accept the login (§2.9), after :class:`LoginVerified`.

    ``attrs`` are written in the order given; ``nonce`` (the data) is the next fast
    re-login nonce. Sealed with the server -> client keystream, seq 0.
    """

    attrs: Mapping[str, str]
    nonce: bytes

    def __post_init__(self) -> None:
        object.__setattr__(self, "attrs", _frozen_attrs(self.attrs))
        if not self.nonce:
            raise LocalProtocolError("the success nonce must not be empty (§6.1: no empty data)")


@record(kw_only=True)
class Failure(SendEvent):
    """Server: refuse the login (§2.10), right after :class:`LoginRequested` (unknown
    user: stream start and features go first, §2.3) or after :class:`LoginRejected`.

    Written plaintext as ``<failure xmlns="urn:ietf:params:xml:ns:xmpp-sasl"><REASON/>
    </failure>``; the connection is finished afterwards.
    """

    reason: str = "not-authorized"

    def __post_init__(self) -> None:
        if not self.reason:
            raise LocalProtocolError("a failure needs a reason: clients read the child's tag")


@record(kw_only=True)
class StreamEnd(SendEvent):
    """Either side, after login: send ``</stream:stream>`` (§1.3); send no stanza after it."""
