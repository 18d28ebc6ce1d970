"""Broadcast lists (``w:b``) and broadcast messages (PROTOCOL.md §3.6).

A broadcast message is delivered as one ordinary 1:1 copy per ``<broadcast><to jid/>``
recipient, without the ``<broadcast>`` child; receipts come back as 1:1 receipts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator.wire.node import Node

if TYPE_CHECKING:
    from simulator.server.context import HandlerContext
    from simulator.server.router import Router

__all__ = ["fan_out", "register"]


def register(router: Router) -> None:
    """The ``w:b`` iqs are registered here."""


def fan_out(ctx: HandlerContext, node: Node, t: str) -> None:
    """Deliver one 1:1 copy per listed recipient (§3.6)."""
    from simulator.server.flows.messages import incoming_copy

    listing = node.child("broadcast")
    recipients = [to.get("jid", "") for to in listing.children_named("to")] if listing else []
    payload = tuple(c for c in node.children if c.tag != "broadcast")
    for recipient in recipients:
        if recipient and not ctx.state.blocks(recipient, ctx.jid):
            ctx.deliver(recipient, incoming_copy(ctx, node, t, children=payload))
