"""A deliberately buggy bot (for ``simulator explore``): it answers a text with the text
cleaned of emoji and capitalised, and crashes on a message that is only emoji.

    simulator explore --bot bots.capitalizer:run    # finds the crash and shrinks it

The bug: after dropping the emoji nothing may be left, and ``cleaned[0]`` fails.
"""

from __future__ import annotations

import unicodedata

from simulator.client import Client
from simulator.client.events import GetMessage


def _is_emoji(char: str) -> bool:
    return (
        unicodedata.category(char) == "So"
        or char in "\u200d\ufe0f"
        or 0x1F1E6 <= ord(char) <= 0x1F1FF
    )


async def run(client: Client) -> None:
    """Answer each text with its words capitalised and its emoji dropped."""
    async for event in client.events():
        if isinstance(event, GetMessage):
            cleaned = "".join(c for c in event.text if not _is_emoji(c)).strip()
            await client.send_text(event.chat, cleaned[0].upper() + cleaned[1:])
