"""An echo bot run as an external program: it logs in over TCP with the SIM_* variables."""

from __future__ import annotations

import os
import sys

import trio

from simulator.client import open_client
from simulator.client.events import GetMessage


async def main() -> None:
    address = (os.environ["SIM_HOST"], int(os.environ["SIM_PORT"]))
    async with open_client(address, os.environ["SIM_PHONE"], os.environ["SIM_PASSWORD"]) as client:
        print(f"logged in as {os.environ['SIM_JID']}", flush=True)
        async for event in client.events():
            if isinstance(event, GetMessage):
                await client.send_text(event.chat, event.body)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--fail":
        print("cannot start: no configuration", flush=True)
        raise SystemExit(2)
    trio.run(main)
