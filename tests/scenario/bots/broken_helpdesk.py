"""The help desk example with a bug: its read receipts name its own answer, not the message."""

from __future__ import annotations

import itertools

from scenarios.bots import helpdesk
from simulator.client import Client
from simulator.client.events import GetMessage


async def reads_the_wrong_message(client: Client) -> None:
    """Answers each message, then marks its own answer read (ids mixed up)."""
    tickets = itertools.count(1)
    async for event in client.events():
        if isinstance(event, GetMessage):
            answer_id = await client.send_text(event.chat, helpdesk.answer(next(tickets), event))
            await client.mark_read(event.chat, answer_id)
