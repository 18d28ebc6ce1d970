"""A deliberately buggy bot (for ``simulator explore``): a concierge that greets and,
on ``help``, hands the user over to a human agent.

    simulator explore --bot bots.concierge:run

The bug: the hand-over puts the request in a queue that an agents' task should read,
but that task is never started, so the first ``help`` blocks the bot for good. The
client library still answers the server's pings (the bot looks alive), but no message
of anyone is handled again: the runner sees events waiting for a bot that no longer
asks for them ("the bot stopped handling events").
"""

from __future__ import annotations

import trio

from simulator.client import Client
from simulator.client.events import GetGroupMessage, GetMessage

GREETING = "Hello! Write help to talk to one of our agents."


async def run(client: Client) -> None:
    """Greet everyone; queue each ``help`` for the agents."""
    # The bug: nothing ever reads `requests` (no agents' task), and a channel of size 0
    # makes each send wait for a reader.
    requests, _agents_inbox = trio.open_memory_channel[str](0)
    async for event in client.events():
        if not isinstance(event, GetMessage) or isinstance(event, GetGroupMessage):
            continue
        if event.text.strip().lower() == "help":
            await requests.send(event.from_)  # blocks forever
            await client.send_text(event.from_, "An agent will write to you shortly.")
        else:
            await client.send_text(event.from_, GREETING)
