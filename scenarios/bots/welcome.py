"""A welcome bot: when a number in its address book joins the service, it says hello.

The service tells the users who synced a number when it registers (a ``contacts``
notification, onNumberWasAdded). The bot writes to the newcomer at once; the message waits
for the newcomer's first login. The first answer is taken as the newcomer's name.
"""

from __future__ import annotations

from simulator.client import Client
from simulator.client.events import GetMessage, NumberWasAdded
from simulator.jid import phone_of


async def run(client: Client) -> None:
    """Greet newcomers and learn their names, until the connection ends."""
    waiting: set[str] = set()
    async for event in client.events():
        if isinstance(event, NumberWasAdded):
            waiting.add(event.jid)
            await client.send_text(event.jid, f"Welcome, {phone_of(event.jid)}! What is your name?")
        elif isinstance(event, GetMessage):
            if event.from_ in waiting:
                waiting.discard(event.from_)
                await client.send_text(event.chat, f"Nice to meet you, {event.text}!")
            else:
                await client.send_text(event.chat, f"Hello again, {event.notify}!")
