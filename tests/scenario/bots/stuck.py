"""Bots that stop handling events (the runner must say so), and one that only looks idle."""

from __future__ import annotations

import trio

from simulator.client import Client
from simulator.client.events import GetMessage


async def blocked_on_help(client: Client) -> None:
    """Echoes, but ``help`` blocks it for good (an await that never returns)."""
    async for event in client.events():
        if isinstance(event, GetMessage):
            if event.text == "help":
                await trio.sleep_forever()
            await client.send_text(event.chat, event.body)


async def only_waits_for_texts(client: Client) -> None:
    """Takes only texts (``wait_for``), leaving every other event in the library: it
    waits in the library, so it is not stuck."""
    while True:
        event = await client.wait_for(GetMessage)
        await client.send_text(event.chat, event.body)


async def callbacks_only(client: Client) -> None:
    """Answers from a callback and waits for the end of the connection."""
    client.on(GetMessage, lambda event: None)
    await client.wait_closed()
