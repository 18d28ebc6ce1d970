"""Broadcast lists (``w:b``) and broadcast messages (PROTOCOL.md §3.6).

A broadcast message is delivered as one ordinary 1:1 copy per ``<broadcast><to jid/>``
recipient, without the ``<broadcast>`` child (the sender's ack went out first, in
``messages.py``); recipients who blocked the sender get nothing, and receipts come back
as ordinary 1:1 receipts.

Each broadcast is remembered as one of the sender's lists, so ``<lists/>`` can return it:
the list id is the message's ``to`` (``<digits>@broadcast``, 2.5.7 and Chat-API), and a
later broadcast to the same id replaces its recipients. yowsup 2.0.53 sends to the bare
``broadcast``: that reuses the sender's list with exactly the same recipients, or makes a
new one with id ``<server time>@broadcast`` (the next free second if taken). A message
to a known list id without a ``<broadcast>`` child goes to the remembered recipients.
Lists have no name on this service (the docs show ``name=""``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from simulator import stanzas
from simulator.jid import phone_of, user_jid
from simulator.wire.node import Node

if TYPE_CHECKING:
    from collections.abc import Mapping

    from simulator.server.context import HandlerContext
    from simulator.server.router import Router
    from simulator.server.state import BroadcastList

__all__ = ["fan_out", "register"]

XMLNS: Final = "w:b"
BARE: Final = "broadcast"
"""The ``to`` of yowsup 2.0.53's broadcast messages."""


def register(router: Router) -> None:
    router.add("iq", handle_get_lists, type="get", xmlns=XMLNS, child="lists", section="§3.6")
    router.add("iq", handle_delete_lists, type="set", xmlns=XMLNS, child="delete", section="§3.6")


async def handle_get_lists(ctx: HandlerContext, node: Node) -> None:
    """The user's broadcast lists, each with its recipients (``<lists/>`` when none)."""
    lists = [
        Node(
            "list",
            {"id": bl.id, "name": bl.name},
            [Node("recipient", {"jid": jid}) for jid in bl.recipients],
        )
        for bl in ctx.state.broadcast_lists_of(ctx.jid).values()
    ]
    ctx.result(node, [Node("lists", children=lists)])


async def handle_delete_lists(ctx: HandlerContext, node: Node) -> None:
    """Forget the named broadcast lists; ids that are not lists are ignored."""
    ids = [item.get("id", "") for item in node.children[0].children_named("list")]
    ctx.state.delete_broadcast_lists(ctx.jid, ids)
    ctx.result(node)


def fan_out(ctx: HandlerContext, node: Node, t: str) -> None:
    """Deliver one 1:1 copy per recipient, without the ``<broadcast>`` child (§3.6)."""
    recipients = remember(ctx, node)
    payload = tuple(c for c in node.children if c.tag != "broadcast")
    copy = stanzas.message.incoming(
        node, sender=ctx.jid, t=t, notify=ctx.account.push_name, children=payload
    )
    for recipient in recipients:
        if not ctx.state.blocks(recipient, ctx.jid):
            ctx.deliver(recipient, copy)


def remember(ctx: HandlerContext, node: Node) -> list[str]:
    """Store (or refresh) the sender's list for this message; returns its recipients."""
    lists = ctx.state.broadcast_lists_of(ctx.jid)
    to = node.get("to", "")
    listing = node.child("broadcast")
    if listing is None:
        known = lists.get(to)
        return list(known.recipients) if known is not None else []
    jids = (user_jid(item.get("jid", "")) for item in listing.children_named("to"))
    recipients = list(dict.fromkeys(jid for jid in jids if phone_of(jid)))
    if not recipients:
        return []
    list_id = to if to != BARE else _bare_list_id(ctx, lists, recipients)
    ctx.state.remember_broadcast_list(ctx.jid, list_id, recipients)
    return recipients


def _bare_list_id(
    ctx: HandlerContext, lists: Mapping[str, BroadcastList], recipients: list[str]
) -> str:
    for known in lists.values():
        if known.recipients == recipients:
            return known.id
    second = ctx.now()
    while f"{second}@broadcast" in lists:
        second += 1
    return f"{second}@broadcast"
