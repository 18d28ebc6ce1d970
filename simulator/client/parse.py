"""Incoming stanzas -> typed events (:mod:`simulator.client.events`), by dict dispatch on tag."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from simulator.client import _events_account, _events_contacts, _events_groups
from simulator.client import events as ev
from simulator.client._events_base import constructor
from simulator.client.events import int_attr as _int
from simulator.wire.node import Node

__all__ = ["LAZY", "MAKERS", "Kinds", "parse"]

Parser = Callable[[Node], list[ev.Event]]
Kinds = tuple[type[ev.Event], ...]
"""The events a stanza raises, not made yet: their classes (:data:`MAKERS` makes each from
the stanza; see :data:`LAZY`)."""


_new = constructor  # the events of the common stanzas, made without their __init__

_MEDIA: Final[dict[str, tuple[Callable[..., ev.MediaEvent], Callable[..., ev.MediaEvent]]]] = {
    "image": (_new(ev.GetImage), _new(ev.GetGroupImage)),
    "audio": (_new(ev.GetAudio), _new(ev.GetGroupAudio)),
    "video": (_new(ev.GetVideo), _new(ev.GetGroupVideo)),
    "location": (_new(ev.GetLocation), _new(ev.GetGroupLocation)),
    "vcard": (_new(ev.GetVCard), _new(ev.GetGroupVCard)),
}
_GET_MESSAGE: Final = _new(ev.GetMessage)
_GET_GROUP_MESSAGE: Final = _new(ev.GetGroupMessage)
_GET_RECEIPT: Final = _new(ev.GetReceipt)
_MESSAGE_RECEIVED_CLIENT: Final = _new(ev.MessageReceivedClient)
_MESSAGE_RECEIVED_SERVER: Final = _new(ev.MessageReceivedServer)
_UNHANDLED: Final = _new(ev.Unhandled)


def _message(node: Node) -> list[ev.Event]:
    get = node.attrs.get  # hot: one bound method for every attribute read
    participant = get("participant")
    if get("type") == "media":
        media = node.child("media")
        kinds = _MEDIA.get(media.attrs.get("type", "")) if media is not None else None
        if kinds is not None:
            return [
                kinds[1 if participant else 0](
                    node=node,
                    from_=get("from", ""),
                    id=get("id", ""),
                    t=_int(get("t")),
                    notify=get("notify", ""),
                    offline=get("offline", "0") not in ("0", ""),
                    participant=participant,
                    media=media,
                )
            ]
    if node.child("body") is None:
        return [_UNHANDLED(node=node)]
    return [_text_message(node)]


def _receipt(node: Node) -> list[ev.Event]:
    if not node.children:  # most receipts confirm one message and have none
        return [_single_receipt(node), _single_received(node)]
    get = node.attrs.get  # hot: one bound method for every attribute read
    first = get("id", "")
    ids = [first]
    listing = node.child("list")
    if listing is not None:
        ids.extend(item.attrs.get("id", "") for item in listing.children if item.tag == "item")
    rtype = get("type") or "delivery"
    t = _int(get("t"))
    participant = get("participant")
    sender = get("from", "")
    out: list[ev.Event] = [
        _GET_RECEIPT(
            node=node,
            from_=sender,
            id=first,
            ids=tuple(ids),
            type=rtype,
            participant=participant,
            offline=get("offline", "0") not in ("0", ""),
            t=t,
        )
    ]
    for msg_id in ids:
        out.append(
            _MESSAGE_RECEIVED_CLIENT(
                node=node, from_=sender, id=msg_id, type=rtype, participant=participant, t=t
            )
        )
    return out


def _ack(node: Node) -> list[ev.Event]:
    if node.attrs.get("class") == "message":
        return [_received_server(node)]
    return [_UNHANDLED(node=node)]


# ------------------------------------------------------------ events made when looked at
#
# The commonest stanzas (text messages, single receipts, acks) raise events that nobody
# may ever look at: the server's ack of each delivery receipt a client sends, the
# receipts of every member of a group reaching its author. The client files the
# stanza under such an event's class (:data:`MAKERS` says what makes it), and makes it
# only when something takes it (``wait_for``, ``events``, a callback of that class):
# the same event as the parser above makes at once (it calls these same makers), since
# the stanza it is made from cannot change. A stanza these cannot tell for sure (media, a
# receipt for a list of messages) goes to the parser above.


def _text_message(node: Node) -> ev.Event:
    """The event of a text message (a message with a body that is not media); the parser's
    own, too (:func:`_message`)."""
    get = node.attrs.get
    participant = get("participant")
    body = node.child("body")
    return (_GET_GROUP_MESSAGE if participant else _GET_MESSAGE)(
        node=node,
        from_=get("from", ""),
        id=get("id", ""),
        t=_int(get("t")),
        notify=get("notify", ""),
        offline=get("offline", "0") not in ("0", ""),
        participant=participant,
        body=(body.data if body is not None else None) or b"",
    )


def _single_receipt(node: Node) -> ev.Event:
    """The ``GetReceipt`` of a receipt without children (the parser's too: :func:`_receipt`)."""
    get = node.attrs.get
    first = get("id", "")
    return _GET_RECEIPT(
        node=node,
        from_=get("from", ""),
        id=first,
        ids=(first,),
        type=get("type") or "delivery",
        participant=get("participant"),
        offline=get("offline", "0") not in ("0", ""),
        t=_int(get("t")),
    )


def _single_received(node: Node) -> ev.Event:
    """The ``MessageReceivedClient`` of a receipt without children (the parser's too)."""
    get = node.attrs.get
    return _MESSAGE_RECEIVED_CLIENT(
        node=node,
        from_=get("from", ""),
        id=get("id", ""),
        type=get("type") or "delivery",
        participant=get("participant"),
        t=_int(get("t")),
    )


def _received_server(node: Node) -> ev.Event:
    """The ``MessageReceivedServer`` of a message's ack (the parser's too: :func:`_ack`)."""
    get = node.attrs.get
    return _MESSAGE_RECEIVED_SERVER(
        node=node, to=get("from", ""), id=get("id", ""), t=_int(get("t"))
    )


def _unhandled(node: Node) -> ev.Event:
    return _UNHANDLED(node=node)


MAKERS: Final[dict[type[ev.Event], Callable[[Node], ev.Event]]] = {
    ev.Unhandled: _unhandled,
    ev.GetMessage: _text_message,
    ev.GetGroupMessage: _text_message,
    ev.GetReceipt: _single_receipt,
    ev.MessageReceivedClient: _single_received,
    ev.MessageReceivedServer: _received_server,
}
"""Event class -> what makes it from its stanza, for the classes :data:`LAZY` names (one
maker per class: the inbox files the stanza alone, under the class)."""

_UNHANDLED_KINDS: Final[Kinds] = (ev.Unhandled,)
_TEXT_KINDS: Final[Kinds] = (ev.GetMessage,)
_GROUP_TEXT_KINDS: Final[Kinds] = (ev.GetGroupMessage,)
_RECEIPT_KINDS: Final[Kinds] = (ev.GetReceipt, ev.MessageReceivedClient)
_RECEIVED_SERVER_KINDS: Final[Kinds] = (ev.MessageReceivedServer,)


def _message_kinds(node: Node) -> Kinds | None:
    get = node.attrs.get
    if get("type") == "media":
        return None
    if node.child("body") is None:
        return _UNHANDLED_KINDS
    return _GROUP_TEXT_KINDS if get("participant") else _TEXT_KINDS


def _receipt_kinds(node: Node) -> Kinds | None:
    return None if node.children else _RECEIPT_KINDS


def _ack_kinds(node: Node) -> Kinds | None:
    return _RECEIVED_SERVER_KINDS if node.attrs.get("class") == "message" else _UNHANDLED_KINDS


def _presence(node: Node) -> list[ev.Event]:
    sender = node.get("from", "")
    if node.get("type") == "unavailable":
        return [ev.PresenceUnavailable(node=node, from_=sender, last=node.get("last", ""))]
    if node.get("type") in (None, "available"):
        return [ev.PresenceAvailable(node=node, from_=sender)]
    return [ev.Unhandled(node=node)]


def _chatstate(node: Node) -> list[ev.Event]:
    sender = node.get("from", "")
    participant = node.get("participant")
    state = node.children[0].tag if node.children else ""
    if participant:
        if state == "composing":
            return [ev.GroupMessageComposing(node=node, from_=sender, participant=participant)]
        if state == "paused":
            return [ev.GroupMessagePaused(node=node, from_=sender, participant=participant)]
    elif state == "composing":
        return [ev.MessageComposing(node=node, from_=sender)]
    elif state == "paused":
        return [ev.MessagePaused(node=node, from_=sender)]
    return [ev.Unhandled(node=node)]


def _ib(node: Node) -> list[ev.Event]:
    offline = node.child("offline")
    if offline is not None:
        return [ev.OfflineDone(node=node, count=_int(offline.get("count")))]
    return _events_account.parse_ib(node)  # dirty flags, account (payment) changes (§3.16)


def _call(node: Node) -> list[ev.Event]:
    return _events_account.parse_call(node)


def _stream_error(node: Node) -> list[ev.Event]:
    reason = node.children[0].tag if node.children else "unknown"
    return [ev.StreamError(node=node, reason=reason)]


def _notification(node: Node) -> list[ev.Event]:
    kind = node.get("type", "")
    for family in _FAMILIES:
        table: dict[str, Parser] = family.NOTIFICATION_PARSERS
        parser = table.get(kind)
        if parser is not None:
            return parser(node)
    return [ev.Unhandled(node=node)]


_FAMILIES: Final = (_events_groups, _events_contacts, _events_account)


def documented() -> dict[str, type[ev.Event]]:
    """Every documented event name -> its class, across all flow families."""
    merged = dict(ev.DOCUMENTED)
    for family in _FAMILIES:
        merged.update(family.DOCUMENTED)
    return merged


def returned_by() -> dict[str, str]:
    """Documented event name -> the client method whose return value stands for it."""
    found: dict[str, str] = dict(ev.RETURNED_BY)
    for family in _FAMILIES:
        found.update(getattr(family, "RETURNED_BY", {}))
    return found


PARSERS: Final[dict[str, Parser]] = {
    "message": _message,
    "receipt": _receipt,
    "ack": _ack,
    "presence": _presence,
    "chatstate": _chatstate,
    "ib": _ib,
    "stream:error": _stream_error,
    "notification": _notification,
    "call": _call,
}


LAZY: Final[dict[str, Callable[[Node], Kinds | None]]] = {
    "message": _message_kinds,
    "receipt": _receipt_kinds,
    "ack": _ack_kinds,
}
"""Tag -> the classes of the events a stanza raises and their makers, for the events
that may be made only when looked at; None: not sure, :func:`parse` it now."""


def parse(node: Node) -> list[ev.Event]:
    """The typed events one incoming stanza raises (iq results are handled by the client)."""
    parser = PARSERS.get(node.tag)
    if parser is None:
        return [_UNHANDLED(node=node)]
    return parser(node)
