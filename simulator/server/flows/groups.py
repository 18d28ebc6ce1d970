"""Groups v2 (``w:g2``): the group store, admin rules and message fan-out (PROTOCOL.md §3.5).

Group messages go to every participant but the sender, from the group JID with the
author as ``participant`` (§3.10 step 4); a sender that is not a participant is acked
and nothing is delivered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator.wire.node import Node

if TYPE_CHECKING:
    from simulator.server.context import HandlerContext
    from simulator.server.router import Router

__all__ = ["fan_out", "register"]


def register(router: Router) -> None:
    """The ``w:g2`` iqs are registered here."""


def fan_out(ctx: HandlerContext, node: Node, t: str) -> None:
    """Deliver a group message to every other participant (§3.10, §4.5)."""
    from simulator.server.flows.messages import incoming_copy

    gjid = node.get("to", "")
    members = ctx.state.group_members(gjid)
    if ctx.jid not in members:
        return
    ctx.state.group_message_authors[(gjid, node.get("id", ""))] = ctx.jid
    copy = incoming_copy(ctx, node, t, sender=gjid, participant=ctx.jid)
    for member in members:
        if member != ctx.jid and not ctx.state.blocks(member, ctx.jid):
            ctx.deliver(member, copy)
