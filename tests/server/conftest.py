from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest

from simulator.client import Client, open_client
from simulator.server import Server, open_server
from simulator.transport import MemoryConnector

PASSWORD = "AQIDBAUGBwgJCgsMDQ4PEBESExQ="
ALICE = "491110000001"
BOB = "491110000002"
CAROL = "491110000003"

OpenUser = Callable[..., AbstractAsyncContextManager[Client]]


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    async with open_server(
        accounts=[(ALICE, PASSWORD, "Alice"), (BOB, PASSWORD, "Bob"), (CAROL, PASSWORD, "Carol")]
    ) as srv:
        yield srv


@pytest.fixture(params=["nodes", "bytes"])
def transport(request: pytest.FixtureRequest) -> str:
    """Run a test over the node link and over the full wire in memory."""
    return str(request.param)


@pytest.fixture
def user(server: Server, transport: str) -> OpenUser:
    """``async with user(ALICE) as alice:`` a logged-in client of the test server."""

    def open_user(phone: str, **kwargs: Any) -> AbstractAsyncContextManager[Client]:
        kwargs.setdefault("push_name", {ALICE: "Alice", BOB: "Bob", CAROL: "Carol"}.get(phone, ""))
        connector = MemoryConnector(server, mode=transport)  # type: ignore[arg-type]
        return open_client(connector, phone, kwargs.pop("password", PASSWORD), **kwargs)

    return open_user
