"""The Python client library bots and scripted users are written with."""

from __future__ import annotations

from simulator.client import events
from simulator.client.client import Client, ClientState, open_client
from simulator.errors import ClientError, ConnectionClosed, IqError, IqTimeout, LoginFailed

__all__ = [
    "Client",
    "ClientError",
    "ClientState",
    "ConnectionClosed",
    "IqError",
    "IqTimeout",
    "LoginFailed",
    "events",
    "open_client",
]
