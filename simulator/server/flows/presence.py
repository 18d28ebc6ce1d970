"""Presence: online/offline with last seen, subscriptions, the push name (PROTOCOL.md §3.14).

A user is online from its first available presence (or name presence) until it says
unavailable or its connection ends. Subscriptions last as long as the subscriber's
connection; clients re-subscribe after each login.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator import stanzas
from simulator.wire.node import Node

if TYPE_CHECKING:
    from simulator.server.context import HandlerContext
    from simulator.server.router import Router

__all__ = ["presence_of", "register", "went_offline"]


def register(router: Router) -> None:
    router.add("presence", handle_available, section="§3.14")
    for kind in ("available", "active"):
        router.add("presence", handle_available, type=kind, section="§3.14")
    for kind in ("unavailable", "inactive"):
        router.add("presence", handle_unavailable, type=kind, section="§3.14")
    router.add("presence", handle_subscribe, type="subscribe", section="§3.14")
    router.add("presence", handle_unsubscribe, type="unsubscribe", section="§3.14")
    router.on_disconnect(went_offline)


def presence_of(ctx: HandlerContext, jid: str, viewer: str) -> Node:
    """What ``viewer`` is told about ``jid``: available, or unavailable with ``last``.

    A blocked viewer sees nobody online; ``last`` is ``deny`` when the ``last`` privacy
    setting hides it from the viewer, or when the user was never seen (§3.4, §3.14).
    """
    account = ctx.state.accounts.get(jid)
    if account is not None and account.online and not ctx.state.blocks(jid, viewer):
        return stanzas.presence.online(jid)
    last = "deny"
    if account is not None and account.last_seen and ctx.state.can_see(jid, viewer, "last"):
        last = str(account.last_seen)
    return stanzas.presence.offline(jid, last)


def _tell_subscribers(ctx: HandlerContext, jid: str) -> None:
    for subscriber in ctx.state.subscribers(jid):
        if not ctx.state.blocks(jid, subscriber):
            ctx.send_live(subscriber, presence_of(ctx, jid, subscriber))


async def handle_available(ctx: HandlerContext, node: Node) -> None:
    """Go online (``available``/``active``, or a bare ``name`` presence); store the push name."""
    name = node.get("name")
    if name is not None:
        ctx.state.set_push_name(ctx.jid, name)
    if ctx.session.passive:
        return
    was_online = ctx.account.online
    ctx.state.set_online(ctx.jid, True, ctx.now())
    ctx.reply(stanzas.presence.online(ctx.jid))
    if not was_online:
        _tell_subscribers(ctx, ctx.jid)


async def handle_unavailable(ctx: HandlerContext, node: Node) -> None:
    """Go offline (``unavailable``/``inactive``): last seen is now; subscribers are told."""
    if ctx.account.online:
        ctx.state.set_online(ctx.jid, False, ctx.now())
        _tell_subscribers(ctx, ctx.jid)


async def handle_subscribe(ctx: HandlerContext, node: Node) -> None:
    """Watch a user's presence; the answer is that user's state right now."""
    target = node.get("to")
    if not target or target not in ctx.state.accounts:
        return
    ctx.state.subscribe(ctx.jid, target)
    ctx.reply(presence_of(ctx, target, ctx.jid))


async def handle_unsubscribe(ctx: HandlerContext, node: Node) -> None:
    """Stop watching a user; no answer."""
    target = node.get("to")
    if target:
        ctx.state.unsubscribe(ctx.jid, target)


def went_offline(ctx: HandlerContext) -> None:
    """The user's connection ended: offline now, subscriptions dropped (§3.14)."""
    ctx.state.unsubscribe_all(ctx.jid)
    account = ctx.state.accounts.get(ctx.jid)
    if account is not None and account.online:
        ctx.state.set_online(ctx.jid, False, ctx.now())
        _tell_subscribers(ctx, ctx.jid)
