"""A bot that tells the service's time: ``time`` -> ``2015-01-01T02:00:00+00:00``."""

from __future__ import annotations

from simulator.client import Client
from simulator.client.events import GetMessage


async def run(client: Client) -> None:
    async for event in client.events():
        if isinstance(event, GetMessage) and event.text == "time":
            await client.send_text(event.chat, client.now().isoformat())
