"""A last-seen bot: ``when was Bob last seen?`` -> ``Bob was last seen 2 hours ago.``

It learns names from the push names of the users who write to it, and subscribes to
their presence: a user it sees online is "online now"; otherwise it asks the service
(``jabber:iq:last``), which refuses (401) for users whose ``last`` privacy setting
hides it.
"""

from __future__ import annotations

import re
from typing import Final

from simulator.client import Client
from simulator.client.events import GetMessage, PresenceAvailable, PresenceUnavailable
from simulator.errors import IqError

QUESTION: Final = re.compile(r"^when was (?P<name>.+?) last seen\??$", re.IGNORECASE)


class LastSeen:
    """What the bot knows: names it has seen, who is online, whom it watches."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.names: dict[str, tuple[str, str]] = {}
        """Push name (lower case) -> (JID, the name as written)."""
        self.online: set[str] = set()

    async def serve(self) -> None:
        async for event in self.client.events():
            if isinstance(event, PresenceAvailable) and event.from_ != self.client.jid:
                self.online.add(event.from_)
            elif isinstance(event, PresenceUnavailable):
                self.online.discard(event.from_)
            elif isinstance(event, GetMessage):
                await self.learn(event)
                await self.client.send_text(event.chat, await self.answer(event))

    async def learn(self, message: GetMessage) -> None:
        """Remember the sender's name; watch its presence from now on."""
        if message.notify.casefold() not in self.names:
            self.names[message.notify.casefold()] = (message.from_, message.notify)
            await self.client.subscribe(message.from_)

    async def answer(self, message: GetMessage) -> str:
        found = QUESTION.match(message.text.strip())
        if found is None:
            return f"Hi {message.notify}! Ask me: when was <name> last seen?"
        asked = found["name"]
        if asked.casefold() not in self.names:
            return f"I don't know {asked}: they have to write to me first."
        jid, name = self.names[asked.casefold()]
        if jid in self.online:
            return f"{name} is online now."
        try:
            seconds = await self.client.last_seen(jid)
        except IqError as exc:
            if exc.code == 401:
                return f"{name} does not share when they were last seen."
            raise
        return f"{name} was last seen {ago(seconds)} ago."


def ago(seconds: int) -> str:
    """``2 hours``, ``5 minutes``, ``1 day``: the largest whole unit."""
    for unit, size in (("day", 86_400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return "less than a minute"


async def run(client: Client) -> None:
    """Answer questions until the connection ends."""
    await LastSeen(client).serve()
