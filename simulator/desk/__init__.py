"""The desk: chat with your bot in a browser, see every stanza, save the session as a scenario.

    simulator desk --bot bots.echo:run --world scenarios/worlds/team.world.yaml
    desk on http://127.0.0.1:8377/

A running :class:`~simulator.server.Server`, the bot (in-process, external, or none: real
clients connect over TCP) and a local web page. The page plays any user: the desk logs
users in with the client library in-process when the page acts as them. It shows what
the service sees (``server.tap``) and nothing else, so the chats, ticks, typing,
presence and group notices on the page are the stanzas themselves.

Pieces: :class:`Desk` (``desk.py``: the engine, no HTTP) and :class:`DeskWeb` (``web.py``:
h11 and wsproto on trio, the static page in ``static/``). :func:`open_desk` runs both.

The WebSocket protocol (``/ws``, JSON text messages)
-----------------------------------------------------
The desk sends, in order:

``{"type": "world", ...}``
    first, and again whenever something may have changed: ``accounts`` (each ``jid``,
    ``phone``, ``name``, ``status``, ``online``, ``connected``, ``played`` by this desk,
    ``last_seen``, ``picture``, ``blocked``, ``contacts``), ``groups`` (``jid``,
    ``subject``, ``creator``, ``participants`` as ``{"jid", "admin"}``), ``bot`` (its JID
    or null), ``bot_target``, ``bot_state`` (``none``, ``starting``, ``running``,
    ``returned``, ``died``) and ``bot_error``, ``now`` (service time, Unix seconds),
    ``can_advance`` (the clock can be moved), ``recording``, ``faults`` (the faults in
    force, as the control API lists them: ``id``, ``action``, ``description``, ``hits``...)
    and ``restarts``.
``{"type": "stanza", "seq", "dir", "jid", "at", "text", "node"}``
    every stanza since the desk started (a new page gets them all first), then each live:
    ``dir`` is ``in`` (``jid`` sent it to the service: tx) or ``out`` (the service sent it
    to ``jid``: rx); ``text`` is its tx/rx notation, ``node`` the same as JSON
    (``{"t": tag, "a": {attrs}, "c": [children], "d": "text data"}``, binary data as
    base64 in ``"b"``).
``{"type": "result", "ref", "ok", "value" | "error"}``
    the answer to a request, with its ``ref``, after the stanzas the request caused;
    ``error`` is one sentence.

The page sends requests ``{"op": ..., "ref": any, ...}``; users (``as``, ``user``,
``jid``, ``jids``, ``participants``) are named by phone, JID or name, groups by JID or
subject, chats (``to``) by either:

========================  ====================================================
``login {user}``          log the user in (any request as a user does it too)
``logout {user}``         end that user's connection
``send {as, to, text}``   a text message
``send_media {as, to, name, mimetype, data, caption?}``  upload (base64 ``data``) and send
``send_location {as, to, latitude, longitude, name?}``
``send_vcard {as, to, name, phone? | vcard?}``
``chatstate {as, to, state}``  ``composing`` or ``paused``
``read {as, to, ids, participant?}``  read receipts (blue ticks)
``presence {as, type}``   ``available`` or ``unavailable``
``subscribe {as, jid}``   watch a user's presence; ``last_seen {as, jid}`` asks for it
``block {as, jid, blocked}``  block (true) or unblock (false)
``status {as, text}``, ``name {as, name}``, ``picture {as, data}``
``sync {as, numbers}``    contact sync
``group_create {as, subject, participants}``
``group_add | group_remove | group_promote | group_demote {as, group, jids}``
``group_subject {as, group, subject}``, ``group_leave {as, group}``
``advance {seconds}``     move the service's clock (``simulator desk`` only)
``fault {action, selector, times?, seconds?, backoff?, code?, reason?, text?}``
                          set a fault as ``simulator control fault add`` does
                          (``selector``: ``message from alice``, ``<receipt/> to bot``)
``fault_clear {id?}``     clear one fault, or all of them
``disconnect {user}``     close a user's (or the bot's) connection without a goodbye
``restart {goodbye?}``    restart the service: connections drop, the state stays
========================  ====================================================

Time: ``simulator desk`` runs its trio loop on ``trio.testing.MockClock(rate=1.0)``: real
time, plus jumps. The server's clock is trio's clock plus an epoch, so an ``advance``
moves every ``t`` the service stamps and wakes every ``trio.sleep`` that is due,
in-process bots' timers included. An external bot keeps its own clock.
"""

from __future__ import annotations

from simulator.desk.desk import BotSpec, Desk, DeskError
from simulator.desk.run import open_desk
from simulator.desk.web import DeskWeb

__all__ = ["BotSpec", "Desk", "DeskError", "DeskWeb", "open_desk"]
