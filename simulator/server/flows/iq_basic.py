"""Keep-alive, server properties, push configuration, last seen, normalize (§3.1, §3.4, §3.8).

Pings are answered in both directions: the client's ``w:p`` ping gets a result, and
the client's answer to a server ping (``server.ping(jid)``) resolves it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from simulator.errors import StanzaError
from simulator.wire.node import Node

if TYPE_CHECKING:
    from simulator.server.context import HandlerContext
    from simulator.server.router import Router

__all__ = ["normalize", "register"]

PUSH = "urn:xmpp:whatsapp:push"
ACCOUNT = "urn:xmpp:whatsapp:account"


def register(router: Router) -> None:
    router.add("iq", handle_ping, type="get", xmlns="w:p", section="§3.1")
    router.add("iq", handle_result, type="result", section="§3.1")
    router.add("iq", handle_props, type="get", xmlns="w", section="§3.1")
    router.add("iq", handle_get_push_config, type="get", xmlns=PUSH, section="§3.1")
    router.add("iq", handle_set_push_config, type="set", xmlns=PUSH, section="§3.1")
    router.add("iq", handle_last_seen, type="get", xmlns="jabber:iq:last", section="§3.4")
    router.add("iq", handle_normalize, type="get", xmlns=ACCOUNT, child="normalize", section="§3.8")


async def handle_ping(ctx: HandlerContext, node: Node) -> None:
    """Answer a client's keep-alive ping (with or without ``to`` and ``<ping/>``)."""
    ctx.result(node)


async def handle_result(ctx: HandlerContext, node: Node) -> None:
    """A client answers a server-originated iq (the pong to a server ping)."""
    ctx.server.iq_answered(ctx.jid, node)


async def handle_props(ctx: HandlerContext, node: Node) -> None:
    """The server properties, with the values of the Chat-API documentation."""
    props = [Node("prop", {"name": k, "value": v}) for k, v in ctx.server.config.props.items()]
    ctx.result(node, [Node("props", {"version": ctx.server.config.props_version}, props)])


async def handle_get_push_config(ctx: HandlerContext, node: Node) -> None:
    """The stored push configuration, echoed back (no client parses it)."""
    stored = ctx.account.push_config
    ctx.result(node, [Node("config", stored)] if stored else [])


async def handle_set_push_config(ctx: HandlerContext, node: Node) -> None:
    """Store the push configuration (platform, version, GCM id): kept, never used."""
    config = node.child("config")
    if config is None:
        raise StanzaError(400, "bad-request")
    ctx.state.set_push_config(ctx.jid, config.attrs)
    ctx.result(node)


async def handle_last_seen(ctx: HandlerContext, node: Node) -> None:
    """Seconds since a user was last seen; 0 when online now."""
    target = node.get("to", "")
    account = ctx.state.accounts.get(target)
    if account is None:
        raise StanzaError(404, "item-not-found")
    if not ctx.state.can_see(target, ctx.jid, "last"):
        raise StanzaError(401, "not-authorized")
    if account.online:
        seconds = 0
    else:
        seconds = max(0, ctx.now() - (account.last_seen or account.creation))
    ctx.result(node, [Node("query", {"seconds": str(seconds)})])


_NOISE = re.compile(r"[^0-9]")


def normalize(cc: str, number: str) -> str:
    """Country code + national number, without a trunk ``0`` and non-digits (§3.8)."""
    national = _NOISE.sub("", number).lstrip("0")
    return _NOISE.sub("", cc) + national


async def handle_normalize(ctx: HandlerContext, node: Node) -> None:
    """Turn a country code and a national number into a phone number."""
    request = node.children[0]
    cc = request.child("cc")
    number = request.child("in")
    if cc is None or number is None or not cc.text or not number.text:
        raise StanzaError(400, "bad-request")
    ctx.result(node, [Node("normalize", {"result": normalize(cc.text, number.text)})])
