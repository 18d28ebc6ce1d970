"""Privacy: the blocked list (``jabber:iq:privacy``) and privacy settings (``privacy``) (§3.4).

The blocked list is one XMPP privacy list named ``default`` whose ``deny`` items are the
blocked JIDs; a set replaces it whole. The settings are three categories (``last``,
``status``, ``profile``), each ``all``, ``contacts`` (the numbers the user synced) or
``none``; every category starts as ``all``.

What a block means is enforced where each stanza is handled, all through
``State.blocks``/``State.can_see``: the blocked user's messages are acked but never
delivered (messages, groups, broadcasts), no receipts cross the block, the blocker is
never online and its last seen is ``deny`` for the blocked user, and chat states,
status and picture notifications and picture/status/last-seen queries stop. Blocking
also tells a blocked user who watches the blocker's presence that the blocker is now
unavailable (``last="deny"``), and unblocking tells it the real state again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from simulator.errors import StanzaError
from simulator.server.flows.presence import presence_of
from simulator.server.parse import parse_int, parse_user_jid
from simulator.server.state import PRIVACY_CATEGORIES, PRIVACY_VALUES
from simulator.wire.node import Node

if TYPE_CHECKING:
    from simulator.server.context import HandlerContext
    from simulator.server.router import Router

__all__ = ["register"]

BLOCKLIST: Final = "jabber:iq:privacy"
SETTINGS: Final = "privacy"
DEFAULT_LIST: Final = "default"


def register(router: Router) -> None:
    for kind, handler in (("get", handle_get_blocked), ("set", handle_set_blocked)):
        router.add("iq", handler, type=kind, xmlns=BLOCKLIST, child="query", section="§3.4")
    for kind, handler in (("get", handle_get_settings), ("set", handle_set_settings)):
        router.add("iq", handler, type=kind, xmlns=SETTINGS, child="privacy", section="§3.4")


def _default_list(node: Node) -> Node:
    """The ``<list>`` of a privacy-list query; only the ``default`` list exists (404 else)."""
    listing = node.children[0].child("list")
    if listing is None:
        raise StanzaError(400, "bad-request")
    if listing.get("name", DEFAULT_LIST) != DEFAULT_LIST:
        raise StanzaError(404, "item-not-found")
    return listing


async def handle_get_blocked(ctx: HandlerContext, node: Node) -> None:
    """The blocked list: one ``deny`` item per blocked JID, numbered from 1."""
    _default_list(node)
    items = [
        Node("item", {"type": "jid", "value": jid, "action": "deny", "order": str(n)})
        for n, jid in enumerate(ctx.state.blocked.get(ctx.jid, ()), start=1)
    ]
    listing = Node("list", {"name": DEFAULT_LIST}, items)
    ctx.result(node, [Node("query", children=[listing])], sender=ctx.jid)


async def handle_set_blocked(ctx: HandlerContext, node: Node) -> None:
    """Replace the blocked list with the ``deny`` items sent, in their ``order``."""
    items = _default_list(node).children_named("item")
    if any(not item.get("value") for item in items):
        raise StanzaError(400, "bad-request")
    denied = sorted(
        (item for item in items if item.get("action", "deny") == "deny"),
        key=lambda item: parse_int(item.get("order"), "order", default=0),
    )
    blocked: list[str] = []
    for item in denied:
        jid = parse_user_jid(item.get("value"), "item value")
        if jid not in blocked and jid != ctx.jid:
            blocked.append(jid)
    before = set(ctx.state.blocked.get(ctx.jid, ()))
    ctx.state.set_blocked(ctx.jid, blocked)
    ctx.result(node, sender=ctx.jid)
    # Whoever watches us and just crossed the block line sees our presence change.
    for watcher in ctx.state.subscribers(ctx.jid):
        if (watcher in before) != (watcher in blocked):
            ctx.send_live(watcher, presence_of(ctx, ctx.jid, watcher))


def _categories(ctx: HandlerContext, names: list[str]) -> Node:
    categories = [
        Node("category", {"name": name, "value": ctx.state.privacy_setting(ctx.jid, name)})
        for name in names
    ]
    return Node("privacy", children=categories)


async def handle_get_settings(ctx: HandlerContext, node: Node) -> None:
    """The three privacy settings (``last``, ``status``, ``profile``)."""
    ctx.result(node, [_categories(ctx, list(PRIVACY_CATEGORIES))])


async def handle_set_settings(ctx: HandlerContext, node: Node) -> None:
    """Change some settings; the answer lists the ones changed (400 on unknown names/values)."""
    categories = node.children[0].children_named("category")
    changes = {c.get("name", ""): c.get("value", "") for c in categories}
    valid = all(n in PRIVACY_CATEGORIES and v in PRIVACY_VALUES for n, v in changes.items())
    if not changes or not valid:
        raise StanzaError(400, "bad-request")
    ctx.state.set_privacy(ctx.jid, changes)
    ctx.result(node, [_categories(ctx, list(changes))])
