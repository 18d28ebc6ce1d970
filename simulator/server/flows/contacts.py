"""Contact sync (``urn:xmpp:whatsapp:sync``) and ``contacts`` notifications (§3.7, §3.15, §4.6).

A sync sorts every ``<user>`` number, echoed exactly as the client typed it, into ``in``
(on the service, with its JID), ``out`` (a well-formed number that is not) and
``invalid`` (not a phone number at all). The well-formed numbers become the user's
address book (digits, in sync order):

* ``full`` replaces the book, ``delta`` adds to it, ``query`` only asks;
* ``chunked`` is a full sync sent in pieces: index 0 starts a new book and every later
  index adds to it (a ``full`` sync with an index above 0 is read the same way);
* ``<user jid="…" type="delete"/>`` entries leave the book, in every storing mode.

The book decides who hears about a user: the ``status`` and ``picture`` notifications
(``profile.py``) and the ``contacts`` notifications that :func:`notify_contacts` sends
when a synced number registers, leaves or changes (the account flows call it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Literal

from simulator import stanzas
from simulator.errors import StanzaError
from simulator.jid import normalize_number, phone_of, user_jid
from simulator.server.context import HandlerContext
from simulator.server.parse import parse_int
from simulator.wire.node import Node

if TYPE_CHECKING:
    from simulator.server.router import Router
    from simulator.server.server import Server

__all__ = ["CONTEXTS", "MODES", "ContactChange", "notify_contacts", "register"]

SYNC: Final = "urn:xmpp:whatsapp:sync"
MODES: Final = frozenset({"full", "delta", "query", "chunked"})
CONTEXTS: Final = frozenset({"registration", "interactive", "background"})

ContactChange = Literal["add", "remove", "update"]
_CHANGES: Final = frozenset({"add", "remove", "update"})


def register(router: Router) -> None:
    router.add("iq", handle_sync, type="get", xmlns=SYNC, child="sync", section="§3.7")


async def handle_sync(ctx: HandlerContext, node: Node) -> None:
    """Sort numbers into in/out/invalid, echoed as sent; full/delta/chunked store them."""
    request = node.children[0]
    mode = request.get("mode", "")
    index = request.get("index", "0")
    if mode not in MODES or request.get("context") not in CONTEXTS:
        raise StanzaError(400, "bad-request")
    first_chunk = parse_int(index, "index") == 0
    found: list[Node] = []
    missing: list[Node] = []
    invalid: list[Node] = []
    numbers: list[str] = []
    removed: set[str] = set()
    for user in request.children_named("user"):
        if user.get("type") == "delete":
            removed.add(phone_of(user.get("jid", "")))
            continue
        if not user.data:
            continue  # nothing to look up, nothing to echo (empty data upsets yowsup, §6.1)
        digits = normalize_number(user.text or "")
        if digits is None:
            invalid.append(Node("user", data=user.data))
            continue
        numbers.append(digits)
        jid = user_jid(digits)
        echo = Node("user", {"jid": jid}, data=user.data)
        (found if jid in ctx.state.accounts else missing).append(echo)
    if mode != "query":
        restart = mode in ("full", "chunked") and first_chunk
        _remember(ctx, restart=restart, numbers=numbers, removed=removed)
    attrs = {"sid": request.get("sid"), "index": index, "last": request.get("last", "true")}
    attrs["version"] = _next_version(ctx)
    groups = (("in", found), ("out", missing), ("invalid", invalid))
    result = Node(
        "sync",
        {k: v for k, v in attrs.items() if v is not None},
        [Node(tag, children=users) for tag, users in groups if users],
    )
    ctx.result(node, [result], sender=ctx.jid)


def _remember(ctx: HandlerContext, *, restart: bool, numbers: list[str], removed: set[str]) -> None:
    """Update the user's address book: start over or add, then drop the removed numbers."""
    book = [] if restart else list(ctx.state.contacts.get(ctx.jid, ()))
    known = set(book)
    for number in numbers:
        if number not in known:
            known.add(number)
            book.append(number)
    ctx.state.set_address_book(ctx.jid, [n for n in book if n not in removed])


def _next_version(ctx: HandlerContext) -> str:
    """The sync ``version``: server time in µs plus a counter, so it always grows (§4.1)."""
    return str(ctx.server.clock.now_ms() * 1000 + ctx.server.ids.counter())


def notify_contacts(target: HandlerContext | Server, jid: str, kind: ContactChange) -> list[str]:
    """Tell everyone who synced ``jid``'s number that it registered, left or changed.

    ``kind`` is ``add`` (registered), ``remove`` (account deleted) or ``update`` (number
    change, re-registration). Each user whose address book holds the number gets
    ``<notification from="<that user>" type="contacts" id t><kind jid="<jid>"/></notification>``
    (kept until acked, §4.4); the user itself is never told about its own number.
    ``from`` is the recipient's own JID: the notification is about the recipient's
    address book, and the only real-server capture (yowsup's ``<sync after>`` docstring)
    shows the account's own JID there; clients read only the child's ``jid`` (§3.15).

    Returns the users notified, in a stable order.
    """
    if kind not in _CHANGES:
        raise ValueError(f"kind must be one of add, remove, update, not {kind!r}")
    server = target.server if isinstance(target, HandlerContext) else target
    jid = user_jid(jid)
    accounts = server.state.accounts
    recipients = [o for o in server.state.synced_by(jid) if o != jid and o in accounts]
    t = str(server.clock.now())
    for owner in recipients:
        change = Node(kind, {"jid": jid})
        node = stanzas.notification.build(owner, "contacts", server.ids.stanza_id(), t, [change])
        server.deliver(owner, node)
    return recipients
