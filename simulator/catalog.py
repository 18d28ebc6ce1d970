"""The documented Chat-API functions and events, and what the simulator does with each.

Generated, never written by hand: the documented names come from the Chat-API
documentation's lists (``data/documented.json``); the client side from the first line
of each client method's docstring (``sendGetGroups / sendGetGroupsOwning: ...``),
the event classes' ``DOCUMENTED`` registries and the iq-result mappings; the server side
from the router. What the simulator deliberately does not do is listed below with the
reason, so every documented name has a status:

* ``served`` — the client library sends it and the fake service answers it (functions),
  or the client raises it when the service sends its trigger (events);
* ``returned`` — an iq answer the client method returns instead of raising an event;
* ``client-only`` — no server traffic of its own (the client does it locally);
* ``not applicable`` — with the reason.

``simulator routes`` prints both tables; ``docs/flows.md`` holds them and a test keeps
it current.

The client and the server are imported inside the functions that read them, on purpose:
the CLI imports this module when it starts, and most commands need neither.
"""

from __future__ import annotations

import inspect
import json
from importlib import resources
from typing import Final, Literal

from simulator.records import record

__all__ = ["CatalogRow", "documented_names", "event_rows", "function_rows", "render_markdown"]

Status = Literal["served", "returned", "client-only", "not applicable", "MISSING"]

CLIENT_ONLY_FUNCTIONS: Final[dict[str, str]] = {
    "connect": "`open_client(...)` connects (any transport) as part of logging in",
    "disconnect": "leaving `async with open_client(...)`, or `Client.aclose()`",
    "loginWithPassword": "`open_client(target, phone, password)` logs in before it yields",
    "pollMessage": "the client's reader task reads continuously; take events with "
    "`Client.events()` / `wait_for()`; receipts are automatic (`auto_receipt`)",
    "eventManager": "`Client.on(EventType, callback)`",
    "getMessages": "`Client.events_nowait()`",
    "sendPong": "automatic answer to server pings (`auto_pong`), raising `Ping`",
    "sendNextMessage": "Chat-API's internal outgoing queue; every send here is immediate",
}

NOT_APPLICABLE_FUNCTIONS: Final[dict[str, str]] = {
    "sendMessageDocument": "documents existed only as end-to-end encrypted protobufs "
    "(PROTOCOL.md §3.10); there is no plaintext document node to serve",
    "setMessageStore": "Chat-API's local SQLite message store; nothing crosses the wire",
}

CLIENT_ONLY_EVENTS: Final[dict[str, str]] = {
    "onConnect": "`open_client` returns once connected and logged in",
    "onConnectError": "`open_client` raises `OSError` / `ConnectionClosed`",
    "onDisconnect": "`Disconnected` event (also raised when the server closes)",
    "onClose": "`Disconnected` event",
    "onSendMessage": "the `send_*` methods return the message id",
    "onSendMessageReceived": "`send_receipt` / `mark_read` return once sent",
    "onSendPresence": "`set_presence` returns once sent",
    "onSendStatusUpdate": "`set_status` returns once the server answered",
    "onSendPong": "automatic pong (`auto_pong`); the `Ping` event is raised first",
    "onMediaMessageSent": "the media upload method returns the message id",
    "onMediaUploadFailed": "the media upload method raises",
    "onDissectPhone": "local phone-number parsing in Chat-API; no server traffic",
    "onDissectPhoneFailed": "local phone-number parsing in Chat-API; no server traffic",
}

NOT_APPLICABLE_EVENTS: Final[dict[str, str]] = {
    "onGetDocument": "not emitted by the April-2016 Chat-API; documents were E2E-only",
    "onMessage": "legacy catch-all of old WhatsAPI versions; the typed events replace it",
}


@record
class CatalogRow:
    name: str
    signature: str
    status: Status
    how: str


def documented_names() -> tuple[dict[str, str], dict[str, str]]:
    """(functions, events): documented name -> documented signature."""
    raw = resources.files("simulator").joinpath("data", "documented.json").read_text("utf-8")
    doc = json.loads(raw)
    return dict(doc["functions"]), dict(doc["events"])


def _names_in_docstring(obj: object) -> list[str]:
    first = (inspect.getdoc(obj) or "").split("\n", 1)[0]
    head, sep, _rest = first.partition(":")
    if not sep:
        return []
    return [part.strip() for part in head.split("/") if part.strip().isidentifier()]


def _client_functions() -> dict[str, str]:
    """Documented function name -> the client API that implements it."""
    from simulator import client as client_pkg
    from simulator.client.client import Client

    found: dict[str, str] = {}
    for attr in sorted(dir(Client)):
        if attr.startswith("_"):
            continue
        for name in _names_in_docstring(getattr(Client, attr)):
            found.setdefault(name, f"`Client.{attr}()`")
    for attr in sorted(getattr(client_pkg, "__all__", ())):
        obj = getattr(client_pkg, attr)
        if inspect.isfunction(obj):
            for name in _names_in_docstring(obj):
                found.setdefault(name, f"`simulator.client.{attr}()`")
    return found


def _returned_events() -> dict[str, str]:
    """Documented event name -> the client method whose return value stands for it."""
    from simulator.client.parse import returned_by  # lazy: see the module docstring

    return returned_by()


def function_rows() -> list[CatalogRow]:
    functions, _events = documented_names()
    implemented = _client_functions()
    rows = []
    for name, signature in sorted(functions.items()):
        if name in implemented:
            rows.append(CatalogRow(name, signature, "served", implemented[name]))
        elif name in CLIENT_ONLY_FUNCTIONS:
            rows.append(CatalogRow(name, signature, "client-only", CLIENT_ONLY_FUNCTIONS[name]))
        elif name in NOT_APPLICABLE_FUNCTIONS:
            rows.append(
                CatalogRow(name, signature, "not applicable", NOT_APPLICABLE_FUNCTIONS[name])
            )
        else:
            rows.append(CatalogRow(name, signature, "MISSING", ""))
    return rows


def event_rows() -> list[CatalogRow]:
    from simulator.client.parse import documented  # lazy: see the module docstring

    _functions, events = documented_names()
    raised = {name: cls.__name__ for name, cls in documented().items()}
    returned = _returned_events()
    rows = []
    for name, signature in sorted(events.items()):
        if name in raised:
            rows.append(CatalogRow(name, signature, "served", f"event `{raised[name]}`"))
        elif name in returned:
            rows.append(CatalogRow(name, signature, "returned", returned[name]))
        elif name in CLIENT_ONLY_EVENTS:
            rows.append(CatalogRow(name, signature, "client-only", CLIENT_ONLY_EVENTS[name]))
        elif name in NOT_APPLICABLE_EVENTS:
            rows.append(CatalogRow(name, signature, "not applicable", NOT_APPLICABLE_EVENTS[name]))
        else:
            rows.append(CatalogRow(name, signature, "MISSING", ""))
    return rows


def _table(rows: list[CatalogRow]) -> list[str]:
    lines = ["| documented | status | in the simulator |", "|---|---|---|"]
    lines += [f"| `{r.name}` | {r.status} | {r.how} |" for r in rows]
    return lines


def render_markdown() -> str:
    """The whole catalogue: routes, documented functions, documented events."""
    from simulator.server.flows import default_router

    lines = [
        "# Flows, functions and events",
        "",
        "Generated by `simulator routes --markdown` from the router and the client library;",
        "do not edit by hand (a test fails when it is out of date).",
        "",
        "## Server routes",
        "",
        "| stanza | flow | PROTOCOL.md | what the server does |",
        "|---|---|---|---|",
    ]
    for route in default_router().routes():
        pattern = route.pattern.replace("|", "\\|")
        lines.append(f"| `{pattern}` | {route.flow} | {route.section} | {route.summary} |")
    lines += [
        "",
        "Any other `iq` of type `get` or `set` is answered `501 feature-not-implemented`.",
        "",
        "## Documented functions (Chat-API)",
        "",
        *_table(function_rows()),
        "",
        "## Documented events (Chat-API)",
        "",
        *_table(event_rows()),
        "",
    ]
    return "\n".join(lines)
