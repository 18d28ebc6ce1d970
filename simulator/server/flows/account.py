"""Account: registration over HTTP (§4.8), the account iqs (§3.8), and the test hooks that
inject what only the real service could cause (payments, WhatsApp Web, calls, dirty flags,
stream errors: §3.15-§3.18).

Registration (``/v2/code``, ``/v2/register``, ``/v2/exist``)
------------------------------------------------------------
The handlers are sync functions of the HTTP request (``simulator.server.http`` routes to
them); their bookkeeping and knobs live in the state's
:class:`~simulator.server.state.Registrar` (``server.state.registrar``, also reachable as
``server.http.registrar``).
The SMS the service "sends" is kept there: read it with ``registrar.code_for(phone)``.
Every documented answer can be reached, and these are the rules, checked in this order:

``/v2/code`` (parameters ``cc``, ``in``, ``id``, ``token``, ``method``):

==================  =====================================================================
``missing``         ``cc``, ``in``, ``id`` or ``token`` absent (``param`` names it)
``bad_param``       ``cc`` not 1-3 digits, ``in`` not digits, ``cc+in`` not 5-15 digits,
                    or ``method`` not ``sms``/``voice`` (``param`` names it)
``bad_token``       ``token`` present but empty
``old_version``     the ``User-Agent`` ``WhatsApp/x.y.z`` is older than
                    ``registrar.min_version`` (or has no version while one is set)
``blocked``         the number is in ``registrar.blocked``
``no_routes``       the country code is in ``registrar.no_routes``
``ok``              the number is registered with this same ``id``: its credentials
``too_many_guesses`` locked after ``max_guesses`` wrong codes (``retry_after`` = seconds left)
``too_recent``      a code went out less than ``retry_after`` seconds ago (``retry_after``
                    = seconds left, counting down on the server clock)
``too_many``        ``codes_per_day`` codes went out in the last 24 hours
``sent``            a new 6-digit code (from the seeded id source) replaces any older one
==================  =====================================================================

``/v2/register`` (``cc``, ``in``, ``id``, ``code``; ``123-456`` is accepted): ``missing``
(a parameter absent, with ``param``; or no code requested, without), ``old_version``,
``blocked``, ``too_many_guesses`` (+ ``retry_after``), ``stale`` (the code is older than
``code_lifetime``), ``mismatch`` (wrong code or another ``id``; the ``max_guesses``-th
wrong one locks the number and answers ``too_many_guesses``), else ``ok``: a new password
(base64 of 20 bytes from the seeded id source), type ``new`` (the account is created;
users who synced the number get ``contacts <add>``) or ``existing`` (users who synced it
get ``contacts <update>``, §4.6). The ``id`` is stored with the account.

``/v2/exist`` (``cc``, ``in``, ``id``): ``missing`` (+ ``param``), ``blocked``, ``ok`` with
the current password when the number is registered with this ``id``, else ``incorrect``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

from simulator import stanzas
from simulator.errors import StanzaError
from simulator.jid import SERVER, phone_of, user_jid
from simulator.server.flows.contacts import notify_contacts
from simulator.server.state import PendingCode, Registrar
from simulator.server.web import HttpResponse
from simulator.stanzas.errors import stream_error
from simulator.wire.node import Node

if TYPE_CHECKING:
    from simulator.server.context import HandlerContext
    from simulator.server.router import Router
    from simulator.server.server import Server
    from simulator.server.state import Account
    from simulator.server.web import HttpRequest

__all__ = [
    "ACCOUNT",
    "DIRTY",
    "PRICING",
    "PendingCode",
    "Registrar",
    "demand_acks",
    "http_code",
    "http_exist",
    "http_register",
    "inject_call",
    "mark_dirty",
    "notify_features",
    "notify_payment",
    "notify_web_sync",
    "register",
    "repeat_dirty_flags",
    "send_payment_ib",
    "shut_down",
]

ACCOUNT: Final = "urn:xmpp:whatsapp:account"
DIRTY: Final = "urn:xmpp:whatsapp:dirty"
RECOVERY: Final = "w:ch:p"
DAY: Final = 86_400
YEAR: Final = 365 * DAY

PRICING: Final = {"price": "EUR€0.99", "cost": "0.89", "currency": "EUR"}
"""The service price the docs show (§3.8, §4.8); quotes are valid for 30 days."""
PRICE_VALIDITY: Final = 30 * DAY


# ==================================================================== registration (§4.8)


_DIGITS = re.compile(r"[0-9]+")
Reply = dict[str, object]


def _fail(reason: str, **extra: object) -> Reply:
    return {"status": "fail", "reason": reason, **extra}


def _missing(params: Mapping[str, str], names: tuple[str, ...]) -> Reply | None:
    for name in names:
        if name not in params:
            return _fail("missing", param=name)
    return None


def _phone(params: Mapping[str, str]) -> str:
    return params["cc"] + params["in"]


def credentials(server: Server, account: Account, kind: str) -> Reply:
    """The ``ok`` answer: login, password and the account's terms (§4.8)."""
    return {
        "status": "ok",
        "login": account.phone,
        "pw": account.password_b64,
        "type": kind,
        "expiration": account.expiration_at(server.clock.now()),
        "kind": account.kind,
        **PRICING,
        "price_expiration": server.clock.now() + PRICE_VALIDITY,
    }


def http_code(server: Server, request: HttpRequest) -> HttpResponse:
    """``/v2/code``: send a verification code, or say why not."""
    return HttpResponse.json(
        code_request(server, request.query, request.headers.get("user-agent", ""))
    )


def code_request(server: Server, params: Mapping[str, str], user_agent: str) -> Reply:
    registrar = server.state.registrar
    now = server.clock.now()
    failure = _missing(params, ("cc", "in", "id", "token"))
    if failure is not None:
        return failure
    method = params.get("method", "sms")
    for name, ok in (
        ("cc", _DIGITS.fullmatch(params["cc"]) and len(params["cc"]) <= 3),
        ("in", _DIGITS.fullmatch(params["in"]) and 5 <= len(_phone(params)) <= 15),
        ("method", method in ("sms", "voice")),
    ):
        if not ok:
            return _fail("bad_param", param=name)
    if not params["token"]:
        return _fail("bad_token")
    if registrar.too_old(user_agent):
        return _fail("old_version")
    phone = _phone(params)
    if phone in registrar.blocked:
        return _fail("blocked")
    if params["cc"] in registrar.no_routes:
        return _fail("no_routes")
    account = server.state.account(phone)
    if account is not None and account.identity == params["id"]:
        return credentials(server, account, "existing")
    if lock := registrar.lock_left(phone, now):
        return _fail("too_many_guesses", retry_after=lock)
    sent = registrar.codes_sent_today(phone, now)
    if sent and now - sent[-1] < registrar.retry_after:
        return _fail("too_recent", retry_after=sent[-1] + registrar.retry_after - now)
    if len(sent) >= registrar.codes_per_day:
        return _fail("too_many")
    code = server.secrets.digits(6)
    registrar.send_code(phone, code, params["id"], method, now)
    wait = registrar.retry_after
    return {
        "status": "sent",
        "length": 6,
        "method": method,
        "retry_after": wait,
        "sms_wait": wait,
        "voice_wait": wait,
    }


def http_register(server: Server, request: HttpRequest) -> HttpResponse:
    """``/v2/register``: check the code; on success issue the password."""
    return HttpResponse.json(
        code_register(server, request.query, request.headers.get("user-agent", ""))
    )


def code_register(server: Server, params: Mapping[str, str], user_agent: str) -> Reply:
    registrar = server.state.registrar
    now = server.clock.now()
    failure = _missing(params, ("cc", "in", "id", "code"))
    if failure is not None:
        return failure
    phone = _phone(params)
    if registrar.too_old(user_agent):
        return _fail("old_version")
    if phone in registrar.blocked:
        return _fail("blocked")
    if lock := registrar.lock_left(phone, now):
        return _fail("too_many_guesses", retry_after=lock)
    pending = registrar.pending.get(phone)
    if pending is None:
        return _fail("missing")
    if now - pending.sent_at >= registrar.code_lifetime:
        registrar.expire_code(phone)
        return _fail("stale")
    if params["code"].replace("-", "") != pending.code or params["id"] != pending.identity:
        if registrar.wrong_guess(phone, now):
            return _fail("too_many_guesses", retry_after=registrar.guess_lockout)
        return _fail("mismatch")
    registrar.accept_code(phone)
    password = server.secrets.password(20)
    account, created = server.state.issue_password(phone, password, params["id"], now)
    kind = "new" if created else "existing"
    notify_contacts(server, account.jid, "add" if kind == "new" else "update")
    return credentials(server, account, kind)


def http_exist(server: Server, request: HttpRequest) -> HttpResponse:
    """``/v2/exist``: the current credentials, if the identity matches."""
    params = request.query
    failure = _missing(params, ("cc", "in", "id"))
    if failure is not None:
        return HttpResponse.json(failure)
    phone = _phone(params)
    if phone in server.state.registrar.blocked:
        return HttpResponse.json(_fail("blocked"))
    account = server.state.account(phone)
    if account is None or account.identity != params["id"]:
        return HttpResponse.json(_fail("incorrect"))
    return HttpResponse.json(credentials(server, account, "existing"))


def notification(
    server: Server, sender: str, kind: str, children: list[Node], **extra: str
) -> Node:
    """The §3.15 envelope: ``from``, ``type``, a fresh ``id``, the server's ``t``."""
    return stanzas.notification.build(
        sender, kind, server.ids.stanza_id(), str(server.clock.now()), children, **extra
    )


# ==================================================================== account iqs (§3.8)


def register(router: Router) -> None:
    router.add(
        "iq", handle_change_number, type="get", xmlns=ACCOUNT, child="modify", section="§3.8"
    )
    router.add("iq", handle_remove, type="get", xmlns=ACCOUNT, child="remove", section="§3.8")
    router.add("iq", handle_remove, type="get", child="remove", section="§3.8")
    router.add("iq", handle_pricing, type="get", xmlns=ACCOUNT, child="pricing", section="§3.8")
    router.add("iq", handle_extend, type="set", xmlns=ACCOUNT, child="extend", section="§3.8")
    router.add("iq", handle_crypto, type="get", xmlns=ACCOUNT, child="crypto", section="§3.8")
    router.add("iq", handle_recovery_token, type="set", child="pin", section="§3.8")
    router.add("iq", handle_clean_dirty, type="set", xmlns=DIRTY, section="§3.8")
    router.add("call", handle_call, section="§3.18")
    router.on_login(repeat_dirty_flags)
    form = ("GET", "POST")
    router.http_route("/v2/code", http_code, methods=form)
    router.http_route("/v2/register", http_register, methods=form)
    router.http_route("/v2/exist", http_exist, methods=form)


def account_node(account: Account, now: int) -> Node:
    """``<account kind status creation expiration/>``: the terms as of ``now``."""
    return Node(
        "account",
        {
            "kind": account.kind,
            "status": account.status,
            "creation": str(account.creation),
            "expiration": str(account.expiration_at(now)),
        },
    )


async def handle_change_number(ctx: HandlerContext, node: Node) -> None:
    """Move an old number's account to this (new) number, after checking the old identity."""
    request = node.children[0]
    username, password = request.child("username"), request.child("password")
    if username is None or password is None or not username.text:
        raise StanzaError(400, "bad-request")
    old = ctx.state.account(phone_of(username.text))
    if old is None or old.jid == ctx.jid:
        raise StanzaError(404, "item-not-found")
    identity = (password.data or b"").decode("latin-1")
    if old.identity is None or identity != old.identity:
        raise StanzaError(401, "not-authorized")
    new = ctx.account
    ctx.state.take_over_terms(new.jid, old.jid)
    ctx.result(node, [Node("modify", children=[account_node(new, ctx.now())])], sender=SERVER)
    move_account(ctx.server, old.jid, new.jid)


def move_account(server: Server, old: str, new: str) -> None:
    """Give ``old``'s groups, address book, lists and queued stanzas to ``new``; delete ``old``."""
    state = server.state
    name = state.accounts[new].push_name
    change = Node("modify", children=[Node("participant", {"jid": new})])
    for group in state.move_account(old, new):
        for member in group.participants:
            if member != new:
                node = notification(
                    server, group.jid, "w:gp2", [change], participant=old, notify=name
                )
                server.deliver(member, node)
    queued = [stanza for _key, stanza in state.mailbox(old)]
    session = server.sessions.get(old)
    notify_contacts(server, old, "update")
    state.remove_account(old)
    if session is not None:
        session.close(None, "the number was changed")
    for stanza in queued:
        server.deliver(new, stanza)


async def handle_remove(ctx: HandlerContext, node: Node) -> None:
    """Delete this account: answer, tell who synced it (``contacts <remove>``), close."""
    request = node.children[0]
    if ACCOUNT not in (node.get("xmlns"), request.get("xmlns")):
        raise StanzaError(501, "feature-not-implemented")  # a ``remove`` of another family
    ctx.result(node)
    jid = ctx.jid
    notify_contacts(ctx, jid, "remove")
    ctx.state.remove_account(jid)
    ctx.session.close(None, "account removed")


async def handle_pricing(ctx: HandlerContext, node: Node) -> None:
    """The price of a year of service."""
    attrs = {**PRICING, "expiration": str(ctx.now() + PRICE_VALIDITY)}
    ctx.result(node, [Node("pricing", attrs)])


async def handle_extend(ctx: HandlerContext, node: Node) -> None:
    """The account's terms (extending them takes a payment: :func:`notify_payment`)."""
    ctx.result(node, [Node("extend"), account_node(ctx.account, ctx.now())])


async def handle_crypto(ctx: HandlerContext, node: Node) -> None:
    """yowsup's ``crypto action="create"`` demo iq: accepted, nothing to do."""
    ctx.result(node)


async def handle_recovery_token(ctx: HandlerContext, node: Node) -> None:
    """Store the account's recovery token (``<pin xmlns="w:ch:p">``; the iq has no xmlns)."""
    pin = node.children[0]
    if node.get("xmlns") is not None:
        raise StanzaError(501, "feature-not-implemented")  # a ``pin`` of another family
    if pin.get("xmlns") != RECOVERY or not pin.data:
        raise StanzaError(400, "bad-request")
    ctx.state.set_recovery_token(ctx.jid, pin.data)
    ctx.result(node)


async def handle_clean_dirty(ctx: HandlerContext, node: Node) -> None:
    """Clear the named dirty categories (``<clean type/>`` each)."""
    cleaned = [c.get("type", "") for c in node.children_named("clean")]
    if not cleaned or not all(cleaned):
        raise StanzaError(400, "bad-request")
    ctx.state.clean_dirty(ctx.jid, cleaned)
    ctx.result(node)


async def handle_call(ctx: HandlerContext, node: Node) -> None:
    """Relay a call stanza (a ``reject``, say) to the other party if connected (§3.18)."""
    to = node.get("to", "")
    if not node.children or to not in ctx.state.accounts or ctx.state.blocks(to, ctx.jid):
        return
    attrs = {"from": ctx.jid, "id": node.get("id", "") or ctx.new_id(), "t": str(ctx.now())}
    ctx.send_live(to, Node("call", attrs, node.children))


# ==================================================================== test hooks


def notify_payment(
    server: Server, jid: str, *, author: str | None = None, delta: int = 365, sku: str = "1"
) -> Node:
    """A payment: the account becomes paid for ``delta`` more days, and gets the
    ``account`` notification (§3.15; onPaidAccount). Crashes every yowsup: tests only."""
    now = server.clock.now()
    account = server.state.pay(_account(server, jid).jid, delta, now)
    attrs = {"sku": sku, "delta": str(delta)}
    if author is not None:
        attrs["author"] = user_jid(author)
    node = notification(
        server,
        SERVER,
        "account",
        [Node("redeem", attrs, [account_node(account, now)])],
        notify="Server",
    )
    server.deliver(account.jid, node)
    return node


def send_payment_ib(server: Server, jid: str) -> bool:
    """``<ib><account .../></ib>`` (onPaymentRecieved), live only; True if it was sent."""
    account = _account(server, jid)
    return server.send_live(account.jid, stanzas.ib.ib([account_node(account, server.clock.now())]))


def notify_web_sync(server: Server, jid: str, *, sync: bytes, code: bytes, name: bytes) -> Node:
    """The WhatsApp Web pairing notification (``web``, §3.15; onWebSync)."""
    account = _account(server, jid)
    action = Node(
        "action",
        {"type": "sync"},
        [
            Node("sync", {"type": "required"}, data=sync),
            Node("code", data=code),
            Node("name", data=name),
        ],
    )
    node = notification(server, account.jid, "web", [action])
    server.deliver(account.jid, node)
    return node


def notify_features(server: Server, jid: str, sender: str, *, encrypt: str = "1") -> Node:
    """A contact's capabilities changed (``features``, §3.15; onGetFeature)."""
    feature = Node("feature", children=[Node("encrypt", {"value": encrypt})])
    node = notification(server, user_jid(sender), "features", [feature])
    server.deliver(user_jid(jid), node)
    return node


def mark_dirty(server: Server, jid: str, categories: list[str]) -> int:
    """Mark categories dirty and say so with one ``<ib><dirty type timestamp/></ib>`` each
    (§3.16), live only; returns how many were sent. The flags stay until cleaned."""
    account = _account(server, jid)
    now = server.clock.now()
    sent = 0
    for category in categories:
        server.state.mark_dirty(account.jid, category, now)
        sent += server.send_live(account.jid, stanzas.ib.dirty(category, now))
    return sent


def repeat_dirty_flags(ctx: HandlerContext) -> None:
    """At login, after the backlog: flags the client has not cleaned yet are said again
    (§3.16)."""
    account = ctx.session.account
    for category, since in (account.dirty if account is not None else {}).items():
        ctx.session.push(stanzas.ib.dirty(category, since), force=True)


def inject_call(
    server: Server, callee: str, caller: str, *, call_id: str | None = None
) -> Node | None:
    """An incoming call offer from ``caller`` (§3.18; onCallReceived), live only.

    Returns the stanza sent, or ``None`` if the callee is not connected (the service
    does not keep calls). The callee's receipt is acked and not forwarded (receipts.py).
    """
    caller_account = _account(server, caller)
    stanza_id = server.ids.stanza_id()
    attrs = {
        "from": caller_account.jid,
        "id": stanza_id,
        "t": str(server.clock.now()),
        "notify": caller_account.push_name,
        "offline": "0",
    }
    node = Node("call", attrs, [Node("offer", {"call-id": call_id or server.ids.token(8).upper()})])
    return node if server.send_live(user_jid(callee), node) else None


def shut_down(server: Server, jid: str, reason: str = "system-shutdown") -> bool:
    """End a user's connection with ``<stream:error><REASON/></stream:error>`` (§3.17)."""
    session = server.live(user_jid(jid))
    if session is None:
        return False
    session.close(stream_error(reason), f"stream error {reason}")
    return True


def demand_acks(server: Server, jid: str) -> bool:
    """The optional ack enforcement (§3.17): a connected user with stanzas still
    unacknowledged gets ``<stream:error><ack/></stream:error>`` and is disconnected.
    True if it was."""
    if not len(server.state.mailbox(user_jid(jid))):
        return False
    return shut_down(server, jid, "ack")


def _account(server: Server, jid: str) -> Account:
    account = server.state.account(jid)
    if account is None:
        raise KeyError(f"no account {jid}")
    return account
