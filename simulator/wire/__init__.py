"""The FunXMPP wire protocol, sans-IO: bytes in, events out; ``send(...)`` returns bytes.

Nothing here imports trio, reads a clock or draws random numbers (a test enforces it):
nonces and timestamps are handed in by the caller.

* :class:`Node` — one stanza, with its text form (the docs' tx/rx notation).
* :func:`encode` / :func:`decode` — the binary token tree of both dialects (:class:`Dialect`).
* :class:`Connection` — one end of a connection over bytes (preamble, frames, RC4 + HMAC,
  the WAUTH-2 login); :class:`NodeConnection` — the same login over Node objects.
"""

from __future__ import annotations

from simulator.errors import LocalProtocolError, ProtocolError, RemoteProtocolError
from simulator.wire.codec import decode, encode
from simulator.wire.connection import Connection, NodeConnection
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
from simulator.wire.tokens import Dialect

__all__ = [
    "Authenticate",
    "Challenged",
    "Connection",
    "ConnectionClosed",
    "Dialect",
    "Event",
    "Failure",
    "LocalProtocolError",
    "Login",
    "LoginFailed",
    "LoginRejected",
    "LoginRequested",
    "LoginSucceeded",
    "LoginVerified",
    "Node",
    "NodeConnection",
    "NodeReceived",
    "ProtocolError",
    "RemoteProtocolError",
    "Response",
    "Role",
    "SendEvent",
    "StreamEnd",
    "StreamEnded",
    "StreamStarted",
    "Success",
    "decode",
    "encode",
]
