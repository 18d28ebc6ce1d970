"""A bot that survives a misbehaving service: the pattern to copy.

It answers every text with ``echo: <text>``, and it keeps doing so when the service
fails it (``simulator.server.faults``):

* the connection ends (a ``stream:error``, a reset, a server restart): it logs in again,
  waiting 1, 2, 4... seconds (at most 60) between attempts, and so also when a login is
  refused ``temporarily-unavailable``;
* a request is throttled (``406 not-acceptable`` with ``backoff``): it waits ``backoff``
  seconds and asks again;
* a message comes twice (the same id: a duplicate, or a redelivery after a lost
  receipt): it answers once.

``run(connect)`` takes a function that opens a logged-in client (``lambda:
open_client(target, phone, password)``), because surviving a disconnect means opening a
new one. Over TCP against ``simulator serve``::

    SIM_HOST=127.0.0.1 SIM_PORT=5222 SIM_PHONE=491119999999 SIM_PASSWORD=... \
        python -m bots.resilient

Compare ``bots.naive``, which does the same with none of the care, and fails each fault.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import trio

from simulator.client import Client, ClientError, IqError, LoginFailed, open_client
from simulator.client.events import GetMessage

Connect = Callable[[], AbstractAsyncContextManager[Client]]

CONTACTS = ("491110000001", "491110000002")
"""The address book the bot syncs at every login (its ``iq`` that may be throttled)."""
MAX_WAIT = 60.0


async def run(connect: Connect, contacts: tuple[str, ...] = CONTACTS) -> None:
    """Serve until cancelled, logging in again whenever the connection ends."""
    answered: set[tuple[str, str]] = set()  # (sender, message id): answer each once
    wait = 1.0
    while True:
        try:
            async with connect() as client:
                wait = 1.0
                await _sync_contacts(client, contacts)
                async for event in client.events():
                    if isinstance(event, GetMessage):
                        key = (event.from_, event.id)
                        if key in answered:
                            continue  # a duplicate or a redelivery: answered already
                        answered.add(key)
                        await client.send_text(event.chat, b"echo: " + event.body)
        except LoginFailed as exc:
            if exc.reason != "temporarily-unavailable":
                raise  # a wrong password or a ban does not get better by retrying
        except ClientError:
            pass  # the connection ended: log in again
        await trio.sleep(wait)
        wait = min(wait * 2, MAX_WAIT)


async def _sync_contacts(client: Client, contacts: tuple[str, ...]) -> None:
    while True:
        try:
            await client.sync_contacts(contacts)
            return
        except IqError as exc:
            error = exc.node.child("error")
            backoff = error.get("backoff") if error is not None else None
            if backoff is None or not backoff.isdigit():
                raise
            await trio.sleep(int(backoff))


async def main() -> None:
    """Log in over TCP with the SIM_* environment, then serve until interrupted."""
    address = (os.environ["SIM_HOST"], int(os.environ["SIM_PORT"]))
    phone, password = os.environ["SIM_PHONE"], os.environ["SIM_PASSWORD"]
    await run(lambda: open_client(address, phone, password))


if __name__ == "__main__":
    trio.run(main)
