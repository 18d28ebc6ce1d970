"""Client events of one flow family: account, payments, WhatsApp Web, calls, dirty flags, media.

What raises them:

* ``<notification type="account">`` -> :class:`PaidAccount` (onPaidAccount)
* ``<ib><account/></ib>`` -> :class:`PaymentRecieved` (onPaymentRecieved, spelled as documented)
* ``<notification type="web">`` -> :class:`WebSync` (onWebSync)
* ``<notification type="features">`` -> :class:`GetFeature` (onGetFeature)
* ``<notification type="encrypt">`` -> :class:`PreKeysLow` (not a documented event; the
  name is ours)
* ``<call><offer/></call>`` -> :class:`CallReceived` (onCallReceived); other call children
  (``reject``, ``terminate``, ``transport``, ``relaylatency``) -> :class:`CallUpdate`
  (not a documented event)
* ``<ib><dirty type timestamp/></ib>`` -> :class:`Dirty` (no documented event; the name is ours)
* the client itself, when ``upload_media`` has sent a media message or failed to ->
  :class:`MediaMessageSent` (onMediaMessageSent) / :class:`MediaUploadFailed`
  (onMediaUploadFailed)

The documented events that answer our own requests are returned by the method or
function instead (:data:`RETURNED_BY`); registration failures are exceptions
(``simulator.client.registration``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, TypedDict

from simulator.client._events_base import Event, Unhandled
from simulator.client._events_base import int_attr as _int
from simulator.records import record

if TYPE_CHECKING:
    from collections.abc import Callable

    from simulator.wire.node import Node

__all__ = [
    "DOCUMENTED",
    "NOTIFICATION_PARSERS",
    "RETURNED_BY",
    "CallReceived",
    "CallUpdate",
    "Dirty",
    "GetFeature",
    "MediaMessageSent",
    "MediaUploadFailed",
    "PaidAccount",
    "PaymentRecieved",
    "PreKeysLow",
    "WebSync",
    "parse_call",
    "parse_ib",
]


@record(kw_only=True)
class PaidAccount(Event):
    """onPaidAccount: a payment extended the account (``redeem`` by ``author``)."""

    author: str | None
    """Who paid (a JID); ``None`` when the service named nobody (Chat-API says "Paypal")."""
    kind: str
    status: str
    creation: int
    expiration: int


@record(kw_only=True)
class PaymentRecieved(Event):
    """onPaymentRecieved: the account's terms changed (``<ib><account/></ib>``)."""

    kind: str
    status: str
    creation: int
    expiration: int


@record(kw_only=True)
class WebSync(Event):
    """onWebSync: a WhatsApp Web session asks to pair (``sync``, ``code`` and ``name`` data)."""

    from_: str
    id: str
    sync_data: bytes
    code: bytes
    name: bytes


@record(kw_only=True)
class GetFeature(Event):
    """onGetFeature: a contact's capabilities changed (``encrypt`` value)."""

    from_: str
    encrypt: str


@record(kw_only=True)
class PreKeysLow(Event):
    """The service is running out of our one-time pre-keys; undocumented (the name is ours).

    Raised by ``<notification type="encrypt"><count value/></notification>`` (§3.12): a
    client answers with ``upload_keys`` and fresh one-time pre-keys (yowsup uploads
    ``200 - count``).
    """

    count: int
    """How many one-time pre-keys the service still holds for us."""


@record(kw_only=True)
class CallReceived(Event):
    """onCallReceived: an incoming call offer (answer: ``confirm_call`` / ``reject_call``)."""

    from_: str
    id: str
    notify: str
    t: int
    call_id: str
    offline: bool


@record(kw_only=True)
class CallUpdate(Event):
    """A call stanza other than an offer (``reject``, ``terminate``...); undocumented."""

    from_: str
    id: str
    t: int
    action: str
    call_id: str


@record(kw_only=True)
class Dirty(Event):
    """A dirty flag (``<ib><dirty/></ib>``): re-fetch ``type`` and clear it (undocumented name)."""

    type: str
    timestamp: int


@record(kw_only=True)
class MediaMessageSent(Event):
    """onMediaMessageSent: a media message went out; ``node`` is the message we sent."""

    to: str
    id: str
    filetype: str
    url: str
    filename: str
    filesize: int
    filehash: str
    caption: str | None
    duplicate: bool
    """The service had the file already; nothing was uploaded."""


@record(kw_only=True)
class MediaUploadFailed(Event):
    """onMediaUploadFailed: the upload was refused; ``node`` is the ``w:m`` request."""

    reason: str


class _AccountTerms(TypedDict):
    kind: str
    status: str
    creation: int
    expiration: int


class _CallCommon(TypedDict):
    from_: str
    id: str
    t: int


def _account_child(node: Node) -> _AccountTerms:
    return {
        "kind": node.get("kind", ""),
        "status": node.get("status", ""),
        "creation": _int(node.get("creation")),
        "expiration": _int(node.get("expiration")),
    }


def _paid(node: Node) -> list[Event]:
    redeem = node.child("redeem")
    account = redeem.child("account") if redeem is not None else None
    if redeem is None or account is None:
        return [Unhandled(node=node)]
    return [PaidAccount(node=node, author=redeem.get("author") or None, **_account_child(account))]


def _web(node: Node) -> list[Event]:
    action = node.child("action")
    if action is None or action.get("type") != "sync":
        return [Unhandled(node=node)]
    parts = {child.tag: child.data or b"" for child in action.children}
    return [
        WebSync(
            node=node,
            from_=node.get("from", ""),
            id=node.get("id", ""),
            sync_data=parts.get("sync", b""),
            code=parts.get("code", b""),
            name=parts.get("name", b""),
        )
    ]


def _features(node: Node) -> list[Event]:
    feature = node.child("feature")
    encrypt = feature.child("encrypt") if feature is not None else None
    if encrypt is None:
        return [Unhandled(node=node)]
    return [GetFeature(node=node, from_=node.get("from", ""), encrypt=encrypt.get("value", ""))]


def _encrypt(node: Node) -> list[Event]:
    count = node.child("count")
    if count is None:
        return [Unhandled(node=node)]
    return [PreKeysLow(node=node, count=_int(count.get("value")))]


def parse_ib(node: Node) -> list[Event]:
    """``<ib>`` children other than ``offline``: ``dirty`` and ``account`` (§3.16)."""
    events: list[Event] = []
    for child in node.children:
        if child.tag == "dirty":
            events.append(
                Dirty(node=node, type=child.get("type", ""), timestamp=_int(child.get("timestamp")))
            )
        elif child.tag == "account":
            events.append(PaymentRecieved(node=node, **_account_child(child)))
    return events or [Unhandled(node=node)]


def parse_call(node: Node) -> list[Event]:
    """A ``<call>`` stanza (§3.18)."""
    if not node.children:
        return [Unhandled(node=node)]
    child = node.children[0]
    common: _CallCommon = {
        "from_": node.get("from", ""),
        "id": node.get("id", ""),
        "t": _int(node.get("t")),
    }
    if child.tag == "offer":
        return [
            CallReceived(
                node=node,
                notify=node.get("notify", ""),
                call_id=child.get("call-id", ""),
                offline=node.get("offline", "0") not in ("0", ""),
                **common,
            )
        ]
    return [CallUpdate(node=node, action=child.tag, call_id=child.get("call-id", ""), **common)]


DOCUMENTED: Final[dict[str, type[Event]]] = {
    "onPaidAccount": PaidAccount,
    "onPaymentRecieved": PaymentRecieved,
    "onWebSync": WebSync,
    "onGetFeature": GetFeature,
    "onCallReceived": CallReceived,
    "onMediaMessageSent": MediaMessageSent,
    "onMediaUploadFailed": MediaUploadFailed,
}
"""Documented event name -> class, for the events of this family."""

NOTIFICATION_PARSERS: Final[dict[str, Callable[[Node], list[Event]]]] = {
    "account": _paid,
    "web": _web,
    "features": _features,
    "encrypt": _encrypt,
}
"""``<notification type=...>`` -> the parser raising this family's events."""

RETURNED_BY: Final[dict[str, str]] = {
    "onGetExtendAccount": "extend_account",
    "onGetServicePricing": "get_service_pricing",
    "onCodeRequest": "registration.code_request",
    "onCodeRequestFailed": "registration.code_request (raises CodeRequestFailed)",
    "onCodeRequestFailedTooRecent": "registration.code_request (raises CodeRequestFailedTooRecent)",
    "onCodeRequestFailedTooManyGuesses": (
        "registration.code_request (raises CodeRequestFailedTooManyGuesses)"
    ),
    "onCodeRegister": "registration.code_register",
    "onCodeRegisterFailed": "registration.code_register (raises CodeRegisterFailed)",
    "onCredentialsGood": "registration.check_credentials",
    "onCredentialsBad": "registration.check_credentials (raises CredentialsBad)",
}
"""Documented events answered by a method's return value (or exception), not raised."""
