"""The moderator example with a bug: it announces the removal but never removes."""

from __future__ import annotations

from scenarios.bots import moderator
from simulator.client import Client
from simulator.client.events import GetGroupMessage, GetMessage


async def never_removes(client: Client) -> None:
    """Checks the author like the real bot, then only says it removed them."""
    async for event in client.events():
        if isinstance(event, GetGroupMessage):
            word = moderator.banned_word(event.text)
            if word is None:
                continue
            group = await client.group_info(event.from_)
            if event.author not in group.admins:
                # The bug: the removal got lost in a refactoring; the message did not.
                await client.send_text(event.from_, f"Removed {event.notify}: no {word} talk here.")
        elif isinstance(event, GetMessage):
            await moderator.answer(client, event)
