"""The same echo bot as ``bots.resilient``, written as if the service never failed.

It logs in once, syncs its contacts once, and answers every text message it gets with
``echo: <text>``. Each fault of ``simulator.server.faults`` breaks it in its own way: a
stream error or a restart ends it for good, a throttled sync raises, a duplicate is
answered twice. The tests in ``tests/server/test_fault_bots.py`` show each failure.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from simulator.client import Client
from simulator.client.events import GetMessage

Connect = Callable[[], AbstractAsyncContextManager[Client]]
CONTACTS = ("491110000001", "491110000002")


async def run(connect: Connect, contacts: tuple[str, ...] = CONTACTS) -> None:
    """Serve until the connection ends."""
    async with connect() as client:
        await client.sync_contacts(contacts)
        async for event in client.events():
            if isinstance(event, GetMessage):
                await client.send_text(event.chat, b"echo: " + event.body)
