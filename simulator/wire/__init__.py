"""The FunXMPP wire protocol, sans-IO: bytes in, events out; ``send(...)`` returns bytes.

Nothing here imports trio, reads a clock or draws random numbers (a test enforces it):
nonces and timestamps are handed in by the caller.
"""

from __future__ import annotations

from simulator.errors import LocalProtocolError, ProtocolError, RemoteProtocolError
from simulator.wire.node import Node
from simulator.wire.tokens import Dialect

__all__ = ["Dialect", "LocalProtocolError", "Node", "ProtocolError", "RemoteProtocolError"]
