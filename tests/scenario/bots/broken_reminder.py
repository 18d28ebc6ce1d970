"""The reminder example with a bug: every reminder fires an hour late (a time zone mix-up)."""

from __future__ import annotations

import trio

from scenarios.bots import reminder
from simulator.client import Client
from simulator.client.events import GetMessage

HOUR = 3600


async def an_hour_late(client: Client) -> None:
    """Confirms the right time, then sleeps an hour too long."""
    async with trio.open_nursery() as nursery:
        async for event in client.events():
            if not isinstance(event, GetMessage):
                continue
            request = reminder.parse(event.text)
            if request is None:
                await client.send_text(event.chat, reminder.HELP)
                continue
            delay, what = request
            due = reminder.clock(event.t + delay)
            await client.send_text(event.chat, f"OK, I will remind you at {due} UTC to {what}.")
            nursery.start_soon(reminder.remind, client, event.chat, delay + HOUR, what)
        nursery.cancel_scope.cancel()
