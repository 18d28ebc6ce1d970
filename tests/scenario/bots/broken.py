"""Bots that misbehave on purpose, to show what a failing scenario reports."""

from __future__ import annotations

import trio

from simulator.client import Client
from simulator.client.events import GetMessage


async def shouting(client: Client) -> None:
    """Answers with the text in capitals (the echo scenario expects the same text)."""
    async for event in client.events():
        if isinstance(event, GetMessage):
            await client.send_text(event.chat, event.text.upper())


async def silent(client: Client) -> None:
    """Reads everything, answers nothing."""
    async for _event in client.events():
        pass


async def crashing(client: Client) -> None:
    """Raises on the first message."""
    await client.wait_for(GetMessage)
    raise RuntimeError("the bot fell over")


async def slow(client: Client) -> None:
    """Answers each text after an hour (of virtual time)."""
    async for event in client.events():
        if isinstance(event, GetMessage):
            await trio.sleep(3600)
            await client.send_text(event.chat, event.body)


async def twice(client: Client) -> None:
    """Answers each text with the text and then 'again'."""
    async for event in client.events():
        if isinstance(event, GetMessage):
            await client.send_text(event.chat, event.body)
            await client.send_text(event.chat, "again")


NOT_CALLABLE = "a string"


async def wrong_party(client: Client) -> None:
    """Answers each text, but to Bob (491110000002) instead of the sender."""
    async for event in client.events():
        if isinstance(event, GetMessage):
            await client.send_text("491110000002@s.whatsapp.net", event.body)


async def echo(client: Client) -> None:
    """Answers each text with the same text (the behaviour the mutation tests expect)."""
    async for event in client.events():
        if isinstance(event, GetMessage):
            await client.send_text(event.chat, event.body)
