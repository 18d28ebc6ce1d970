"""Chat states: typing and paused (PROTOCOL.md §3.13).

Relayed only to recipients that are online, never queued, never acked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from simulator import stanzas
from simulator.jid import is_group
from simulator.wire.node import Node

if TYPE_CHECKING:
    from simulator.server.context import HandlerContext
    from simulator.server.router import Router

__all__ = ["register"]

STATES: Final = frozenset({"composing", "paused"})


def register(router: Router) -> None:
    router.add("chatstate", handle_chatstate, section="§3.13")


async def handle_chatstate(ctx: HandlerContext, node: Node) -> None:
    """Relay ``<composing/>`` or ``<paused/>`` to the online recipient(s)."""
    to = node.get("to", "")
    states = [c for c in node.children if c.tag in STATES]
    if not to or len(states) != 1:
        return  # yowsup asserts on anything else (§3.13): never relay it
    if is_group(to):
        members = ctx.state.group_members(to)
        if ctx.jid not in members:
            return  # only participants speak in a group, even to say they are typing
        relayed = stanzas.chatstate.incoming(to, states, participant=ctx.jid)
        for member in members:
            if member != ctx.jid and not ctx.state.blocks(member, ctx.jid):
                ctx.send_live(member, relayed)
    elif not ctx.state.blocks(to, ctx.jid):
        ctx.send_live(to, stanzas.chatstate.incoming(ctx.jid, states))
