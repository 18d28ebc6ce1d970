"""Receipts and acks (PROTOCOL.md §3.11).

A receipt from a client is acked at once, clears the referenced messages from the
sender's mailbox, and is forwarded to the message's author, where it stays pending
until the author acks it. Client acks clear the matching pending stanza, matched by
(class, id) only: clients disagree about ``to`` and ``type`` (§3.11).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from simulator import stanzas
from simulator.jid import is_group
from simulator.wire.node import Node

if TYPE_CHECKING:
    from simulator.server.context import HandlerContext
    from simulator.server.router import Router
    from simulator.server.state import PendingKind, State

__all__ = ["receipt_ids", "register"]

_ACK_CLASSES: Final[dict[str, PendingKind]] = {
    "receipt": "receipt",
    "notification": "notification",
    "message": "message",
}


def register(router: Router) -> None:
    router.add("receipt", handle_receipt, section="§3.11")
    router.add("ack", handle_ack, section="§3.11")


def receipt_ids(node: Node) -> list[str]:
    """Every message id a receipt refers to: ``id`` and each ``list/item@id`` (§3.11)."""
    return stanzas.receipt.confirmed_ids(node)


def handle_receipt(ctx: HandlerContext, node: Node) -> None:
    """Ack a client's receipt, clear what it confirms, forward it to the author."""
    session = ctx.session
    jid = session.jid
    get = node.attrs.get  # hot: one bound method for every attribute read
    to = get("to", "")
    session.push(stanzas.ack.receipt_ack(node))  # ctx.reply(), one call less
    if get("type") != "retry":  # a retry confirms nothing; the author will send again
        acknowledge = ctx.state.acknowledge
        if node.children:
            for msg_id in stanzas.receipt.confirmed_ids(node):
                acknowledge(jid, "message", msg_id, peer=to)
        else:  # confirmed_ids() of a receipt for one message, spelled out
            msg_id = get("id", "")
            if msg_id:
                acknowledge(jid, "message", msg_id, peer=to)
    if node.children and node.child("offer") is not None:
        return  # a call offer receipt (§3.18): acked, never forwarded
    forward(ctx, node, to, get("participant"), jid)


def forward(ctx: HandlerContext, node: Node, to: str, participant: str | None, jid: str) -> None:
    """Send the receipt on to the author of the message(s) it confirms (``jid``: the
    confirming user)."""
    server = ctx.server
    t = str(server.clock.now())
    state = ctx.state
    if is_group(to):
        author = _group_author(state, to, node.attrs.get("id", ""), participant, jid)
        if author is None:
            return
        copy = stanzas.receipt.incoming(node, sender=to, t=t, participant=jid)
        recipient = author
    else:
        copy = stanzas.receipt.incoming(node, sender=jid, t=t)
        recipient = to
    if state.blocked_between(recipient, jid):
        return  # neither side of a block gets receipts (§3.4, §3.11)
    server.deliver_each((recipient,), copy)  # ctx.deliver(), two calls less


def _group_author(
    state: State, gjid: str, msg_id: str, participant: str | None, jid: str
) -> str | None:
    """Who gets a group receipt from ``jid``: the author of the message, if ``jid`` may
    confirm it.

    Only a participant of the group confirms its messages, and only to another
    participant; a ``participant`` that names no recorded author of that id is not
    believed (§3.11). Ids are unique per sender only, so without a ``participant`` the
    receipt goes to the author only when one member sent that id. ``None``: acked,
    forwarded to nobody.
    """
    group = state.groups.get(gjid)  # is_member(), asked twice: the members looked up once
    if group is None:
        return None
    members = group.participants
    if jid not in members:
        return None
    recorded = state.group_message_authors.get((gjid, msg_id), ())  # Server.message_authors
    if participant is not None:
        author: str | None = participant
        if recorded and participant not in recorded:
            return None
    else:
        author = next(iter(recorded)) if len(recorded) == 1 else None
    if author is None or author == jid or author not in members:
        return None
    return author


def handle_ack(ctx: HandlerContext, node: Node) -> None:
    """A client acknowledges a receipt, notification or message: stop re-delivering it."""
    get = node.attrs.get
    kind = _ACK_CLASSES.get(get("class", ""))
    if kind is None:
        return  # class="call" and unknown classes confirm nothing we keep
    ctx.state.acknowledge(ctx.session.jid, kind, get("id", ""), peer=get("to"))
