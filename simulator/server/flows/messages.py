"""Messages: the server ack to the sender and delivery to the recipients (PROTOCOL.md §3.10).

The server never rewrites a message id, stamps its own ``t`` (ignoring the client's),
and relays the payload children byte for byte (bodies are opaque bytes, §3.10).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator import stanzas
from simulator.jid import is_broadcast, is_group
from simulator.server.flows import broadcast, groups
from simulator.stanzas.errors import stream_error

if TYPE_CHECKING:
    from simulator.server.context import HandlerContext
    from simulator.server.router import Router
    from simulator.wire.node import Node

__all__ = ["register"]

MESSAGE_TYPES = frozenset({"text", "media"})


def register(router: Router) -> None:
    router.add("message", handle_message, section="§3.10")


def handle_message(ctx: HandlerContext, node: Node) -> None:
    """Ack the sender with the server time, then deliver a copy to the recipient."""
    get = node.attrs.get  # hot: one bound method for every attribute read
    to = get("to")
    msg_id = get("id")
    if not to or not msg_id or get("type") not in MESSAGE_TYPES:
        # §3.10 step 1: the real server answered malformed messages with this and closed.
        ctx.session.close(stream_error("xml-not-well-formed"), "malformed message")
        return
    t = str(ctx.now())
    ctx.reply(stanzas.ack.message_ack(msg_id, to, t))
    if is_group(to):
        groups.fan_out(ctx, node, t)
    elif is_broadcast(to):
        broadcast.fan_out(ctx, node, t)
    elif not ctx.state.blocks(to, ctx.jid):  # blocked: acked, never delivered (§3.4)
        ctx.deliver(to, incoming_copy(ctx, node, t))


def incoming_copy(ctx: HandlerContext, node: Node, t: str) -> Node:
    """The 1:1 message as its recipient gets it (:func:`simulator.stanzas.message.incoming`)."""
    return stanzas.message.incoming(node, sender=ctx.jid, t=t, notify=ctx.account.push_name)
