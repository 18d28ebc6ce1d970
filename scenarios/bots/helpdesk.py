"""A help desk bot: every message opens a ticket; the bot reads it (blue ticks) and answers.

Messages written while the bot was offline reach it at its login, marked ``offline``;
the bot apologises for the wait in those answers. The delivery receipts (two grey
ticks) are the client library's (``auto_receipt``); the read receipts are the bot's.
"""

from __future__ import annotations

import itertools

from simulator.client import Client
from simulator.client.events import GetMessage


async def run(client: Client) -> None:
    """Read and answer each text message, until the connection ends."""
    tickets = itertools.count(1)
    async for event in client.events():
        if isinstance(event, GetMessage):
            await client.mark_read(event.chat, event.id)
            await client.send_text(event.chat, answer(next(tickets), event))


def answer(ticket: int, message: GetMessage) -> str:
    sorry = "Sorry for the wait! " if message.offline else ""
    return f"{sorry}Ticket {ticket}: {message.text}"
