"""A deliberately buggy bot (for ``simulator explore``): it echoes each text back,
wrapped to lines of at most 16 characters for a narrow screen.

    simulator explore --bot bots.spinner:run

The bug: a word longer than a line has no space to cut at, so the wrapping loop cuts
nowhere and goes round for ever. The loop never awaits, so on the scenario's virtual
time nothing else runs either: no step, no timeout, not even the library's answer to
the server's ping. The runner's wall-clock watchdog (``--yield-limit``) interrupts it and
fails the run: "the bot has run for ... of wall time without yielding to the event loop".
"""

from __future__ import annotations

from simulator.client import Client
from simulator.client.events import GetGroupMessage, GetMessage

WIDTH = 16


def wrap(text: str) -> list[str]:
    """``text`` in lines of at most :data:`WIDTH` characters, cut at spaces."""
    lines: list[str] = []
    text = text.strip()
    while len(text) > WIDTH:
        cut = text.rfind(" ", 0, WIDTH + 1)
        # The bug: no space in the first WIDTH + 1 characters gives cut == -1, and the
        # text is then cut at its start: it never gets shorter.
        if cut > 0:
            lines.append(text[:cut])
        text = text[cut + 1 :]
    lines.append(text)
    return lines


async def run(client: Client) -> None:
    """Echo every direct text, wrapped."""
    async for event in client.events():
        if isinstance(event, GetMessage) and not isinstance(event, GetGroupMessage):
            await client.send_text(event.from_, "\n".join(wrap(event.text)))
