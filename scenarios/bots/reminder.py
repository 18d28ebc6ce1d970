"""A reminder bot: ``remind me in 2h to stretch`` -> at that time, ``Reminder: stretch``.

Delays are minutes, hours or days (``30m``, ``2h``, ``1d``, ``90 minutes``...). Each
reminder waits in its own task, so several can be pending; the confirmation gives the
time it is due, from the server's timestamp of the request. Under a scenario the clock
is virtual: a reminder a day away costs no wall time.
"""

from __future__ import annotations

import datetime
import re
from typing import Final

import trio

from simulator.client import Client
from simulator.client.events import GetMessage

REQUEST: Final = re.compile(
    r"^remind me in (?P<amount>\d+)\s*(?P<unit>m|min|minutes?|h|hours?|d|days?) to (?P<what>.+)$",
    re.IGNORECASE,
)
UNITS: Final = {"m": 60, "h": 3600, "d": 86_400}
HELP: Final = "Say: remind me in 2h to stretch"


def parse(text: str) -> tuple[int, str] | None:
    """(delay in seconds, what to remind of), or None if ``text`` is no request."""
    found = REQUEST.match(text.strip())
    if found is None:
        return None
    seconds = int(found["amount"]) * UNITS[found["unit"][0].lower()]
    return seconds, found["what"].strip()


def clock(unix_time: int) -> str:
    return datetime.datetime.fromtimestamp(unix_time, datetime.UTC).strftime("%H:%M")


async def run(client: Client) -> None:
    """Take requests until the connection ends; pending reminders end with it."""
    async with trio.open_nursery() as nursery:
        async for event in client.events():
            if isinstance(event, GetMessage):
                await take(client, event, nursery)
        nursery.cancel_scope.cancel()


async def take(client: Client, message: GetMessage, nursery: trio.Nursery) -> None:
    request = parse(message.text)
    if request is None:
        await client.send_text(message.chat, HELP)
        return
    delay, what = request
    await client.send_text(
        message.chat, f"OK, I will remind you at {clock(message.t + delay)} UTC to {what}."
    )
    nursery.start_soon(remind, client, message.chat, delay, what)


async def remind(client: Client, chat: str, delay: int, what: str) -> None:
    await trio.sleep(delay)
    await client.send_text(chat, f"Reminder: {what}")
