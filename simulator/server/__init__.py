"""The fake service: :func:`open_server`, :class:`Server`, the :class:`Router` and flows."""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator.lazy import lazy_names

if TYPE_CHECKING:
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

# The names load on first use: ``simulator.server.fault_spec`` (a scenario file's fault
# steps, ``simulator validate``) or ``.state`` do not start the whole server (trio, h11).
_LAZY = {
    "StanzaError": "simulator.errors",
    "DEFAULT_EPOCH": "simulator.server.clock",
    "IdSource": "simulator.server.clock",
    "SecretSource": "simulator.server.clock",
    "ServerClock": "simulator.server.clock",
    "HandlerContext": "simulator.server.context",
    "Route": "simulator.server.router",
    "Router": "simulator.server.router",
    "Server": "simulator.server.server",
    "ServerConfig": "simulator.server.server",
    "open_server": "simulator.server.server",
    "Account": "simulator.server.state",
    "Group": "simulator.server.state",
    "Mailbox": "simulator.server.state",
    "State": "simulator.server.state",
}


__getattr__ = lazy_names(__name__, _LAZY)
