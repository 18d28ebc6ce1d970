"""A deliberately buggy bot (for ``simulator explore``): it thanks every user who writes
and says "Reply STOP to stop"; after STOP it is silent to that user... until it
reconnects, because it keeps the list of those who stopped in memory only.

    simulator explore --bot bots.newsletter:run --property bots.newsletter

:func:`stop_means_stop` is the property that catches it (marked with ``@invariant``, so
``--property bots.newsletter`` finds it).
"""

from __future__ import annotations

from collections.abc import Iterator

from simulator.client import Client
from simulator.client.events import GetGroupMessage, GetMessage
from simulator.explore import Run, Violation, invariant

CONFIRMATION = "You will hear no more from us."


async def run(client: Client) -> None:
    """Thank each writer, until they write STOP (forgotten when the bot restarts)."""
    stopped: set[str] = set()  # the bug: this should outlive the connection
    async for event in client.events():
        if not isinstance(event, GetMessage) or isinstance(event, GetGroupMessage):
            continue
        if event.from_ in stopped:
            continue
        if event.text.strip().upper() == "STOP":
            stopped.add(event.from_)
            await client.send_text(event.from_, CONFIRMATION)
        else:
            await client.send_text(event.from_, "Thanks! Reply STOP to stop.")


@invariant("once the bot confirmed a STOP, it never writes to that user again")
def stop_means_stop(run: Run) -> Iterator[Violation]:
    stopped: set[str] = set()
    for event in run.events:
        if not event.sent_by("bot", "message") or event.peer is None:
            continue
        if event.peer in stopped:
            yield Violation(f"the bot wrote to {event.peer} after confirming their STOP", event)
        elif (event.body or "").startswith(CONFIRMATION):
            stopped.add(event.peer)
