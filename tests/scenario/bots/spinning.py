"""Bots that hold the event loop without yielding (for the watchdog's tests), each in a
way that keeps the main thread outside their own frame most of the time."""

from __future__ import annotations

import threading

from simulator.client import Client
from simulator.client.events import GetMessage
from simulator.stanzas import message
from simulator.wire import Dialect, encode


async def through_the_library(client: Client) -> None:
    """On the first message, spins calling the client library and the wire codec on every
    turn and never awaiting: most of the time is spent in the simulator's code."""
    event = await client.wait_for(GetMessage)
    while True:
        client.events_nowait()
        node = message.outgoing(event.chat, client.new_id(), [message.text(event.text * 50)])
        encode(node, Dialect.V16)


async def blocked(client: Client) -> None:
    """On the first message, blocks the thread for ever (a wait of the standard library
    in the bot's code)."""
    await client.wait_for(GetMessage)
    threading.Event().wait()


async def in_a_callback(client: Client) -> None:
    """Spins in a callback the client library calls for each message: on the in-process
    push path that runs in the task that sent the stanza, not the bot's."""

    def on_message(event: GetMessage) -> None:
        while True:
            event.text.upper()

    client.on(GetMessage, on_message)
    async for _event in client.events():
        pass
