"""The stanza vocabulary: one module per stanza kind, each building it and recognizing it.

Client, server flows and scenarios share these shapes, so each is written once:

* :mod:`~simulator.stanzas.message` — messages and their payloads (text, media,
  location, vcard), as sent and as a recipient gets them (§3.10)
* :mod:`~simulator.stanzas.receipt` — delivery, read and played receipts (§3.11)
* :mod:`~simulator.stanzas.ack` — acks of receipts, notifications and messages (§3.11)
* :mod:`~simulator.stanzas.presence` — availability, push name, subscriptions (§3.14)
* :mod:`~simulator.stanzas.chatstate` — composing and paused (§3.13)
* :mod:`~simulator.stanzas.notification` — the notification envelope (§3.15)
* :mod:`~simulator.stanzas.iq` — iq requests, results and pings (§3.0, §3.1)
* :mod:`~simulator.stanzas.ib` — the backlog's end, dirty flags (§3.16, §4.4)
* :mod:`~simulator.stanzas.errors` — iq errors (§4.2) and stream errors (§3.17)

Builders are plain functions returning :class:`~simulator.wire.node.Node`; each module's
``recognize(node)`` returns a frozen, typed view of a stanza of its kind, or ``None``.
Nothing here does I/O or reads a clock: ids and times are passed in.
"""

from __future__ import annotations

from simulator.stanzas import (
    ack,
    chatstate,
    errors,
    ib,
    iq,
    message,
    notification,
    presence,
    receipt,
)

__all__ = [
    "ack",
    "chatstate",
    "errors",
    "ib",
    "iq",
    "message",
    "notification",
    "presence",
    "receipt",
]
