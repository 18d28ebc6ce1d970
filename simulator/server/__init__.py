"""The fake service: :func:`open_server`, :class:`Server`, the :class:`Router` and flows."""

from __future__ import annotations

from simulator.errors import StanzaError
from simulator.server.clock import DEFAULT_EPOCH, IdSource, SecretSource, ServerClock
from simulator.server.context import HandlerContext
from simulator.server.router import Route, Router
from simulator.server.server import Server, ServerConfig, open_server
from simulator.server.state import Account, Group, Mailbox, State

__all__ = [
    "DEFAULT_EPOCH",
    "Account",
    "Group",
    "HandlerContext",
    "IdSource",
    "Mailbox",
    "Route",
    "Router",
    "SecretSource",
    "Server",
    "ServerClock",
    "ServerConfig",
    "StanzaError",
    "State",
    "open_server",
]
