"""A deliberately buggy bot (for ``simulator explore --faults``): a pizza shop taking
orders by chat. ``order 42`` orders 42 pizzas and is confirmed; anything else gets the
menu.

    simulator explore --bot bots.orders:run --faults all --property bots.orders

The bug: it acts on every message it is delivered, without looking at the message id.
The service may deliver a message twice (a duplicate, or the same message again after a
lost receipt or a reconnect): then the order is placed twice and confirmed twice.
``bots.resilient`` shows the cure (remember the ids answered). The property that catches
it is :func:`simulator.explore.library.no_duplicate_answers`, imported here so that
``--property bots.orders`` finds it.
"""

from __future__ import annotations

from simulator.client import Client
from simulator.client.events import GetGroupMessage, GetMessage
from simulator.explore.library import no_duplicate_answers

__all__ = ["no_duplicate_answers", "run"]

MENU = "Write 'order N' to order N pizzas."


async def run(client: Client) -> None:
    """Confirm each order; answer anything else with the menu."""
    kitchen: list[tuple[str, int]] = []  # what the kitchen bakes: (customer, pizzas)
    async for event in client.events():
        if not isinstance(event, GetMessage) or isinstance(event, GetGroupMessage):
            continue
        # The bug: no `if (event.from_, event.id) in answered: continue` here.
        words = event.text.lower().split()
        if len(words) == 2 and words[0] == "order" and words[1].isdigit():
            kitchen.append((event.from_, int(words[1])))
            await client.send_text(event.from_, f"Your {words[1]} pizzas are on their way.")
        else:
            await client.send_text(event.from_, MENU)
