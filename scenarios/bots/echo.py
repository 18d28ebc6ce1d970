"""An echo bot written with the simulator's client library: it answers a text with that text.

Run in-process by a scenario (``bot: {python: bots.echo:run}``), or over TCP against
``simulator serve``::

    SIM_HOST=127.0.0.1 SIM_PORT=5222 SIM_PHONE=491119999999 SIM_PASSWORD=... python -m bots.echo
"""

from __future__ import annotations

import os

import trio

from simulator.client import Client, open_client
from simulator.client.events import GetMessage


async def run(client: Client) -> None:
    """Answer each text message with its own text, until the connection ends."""
    async for event in client.events():
        if isinstance(event, GetMessage):
            await client.send_text(event.chat, event.body)


async def main() -> None:
    """Log in over TCP with the SIM_* environment a scenario (or you) sets, then echo."""
    address = (os.environ["SIM_HOST"], int(os.environ["SIM_PORT"]))
    async with open_client(address, os.environ["SIM_PHONE"], os.environ["SIM_PASSWORD"]) as client:
        await run(client)


if __name__ == "__main__":
    trio.run(main)
