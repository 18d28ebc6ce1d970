"""The control API: JSON over HTTP on loopback, to drive a running server from outside.

``simulator serve --control-port N`` serves it; ``simulator control`` is its command-line
client; a test suite driving an external bot (or the desk) speaks it directly. Version 1,
every path under ``/v1``; one request per connection (``Connection: close``); request
bodies are JSON objects (at most 64 KiB); every answer is a JSON object, an error
``{"error": "<one sentence>"}`` with 400 (bad request), 404 (unknown path or fault) or
405 (wrong method).

====== ============================== ==============================================
GET    /v1                            ``{"version": 1, "routes": [...]}``
GET    /v1/faults                     ``{"faults": [FAULT...]}``
POST   /v1/faults                     a fault spec (``simulator.server.fault_spec``)
                                      -> 201 ``{"fault": FAULT}``
DELETE /v1/faults                     clear all -> ``{"cleared": N}``
GET    /v1/faults/ID                  ``{"fault": FAULT}``
DELETE /v1/faults/ID                  clear one -> ``{"cleared": 1, "released": N}``
POST   /v1/faults/ID/release          let what it holds go -> ``{"released": N}``
GET    /v1/log                        ``{"hits": [HIT...]}``: every fault application
POST   /v1/restart                    ``{"goodbye": false}`` -> ``{"dropped": N}``
POST   /v1/sessions/PARTY/end         ``{"reason": "ack", "text": null}`` -> ``{"ended": B}``
POST   /v1/sessions/PARTY/disconnect  -> ``{"ended": B}``
POST   /v1/accounts/PARTY/expire      -> ``{"status": "expired"}``
POST   /v1/accounts/PARTY/renew       -> ``{"status": "active"}``
POST   /v1/accounts/PARTY/suspend     ``{"for": "5m"}`` -> 201 ``{"fault": FAULT}``
GET    /v1/state                      accounts, sessions, groups, queues
GET    /v1/clock                      ``{"now": UNIX, "time": TRIO_SECONDS}``
====== ============================== ==============================================

PARTY is a phone number, a JID or an account's push name. FAULT is
``{"id", "action", "description", "direction", "party", "match", "times", "hits",
"held", "active"}``; HIT is ``{"time", "fault", "action", "direction", "jid",
"stanza", "note"}`` (``fault`` 0: an immediate operation, not a fault set).
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Final, final

import h11
import trio
from pydantic import ValidationError

from simulator.server.fault_spec import FaultSpec, parse_duration
from simulator.server.faults import Fault, FaultError
from simulator.transport.tcp import listen_tcp

if TYPE_CHECKING:
    from simulator.server.server import Server

__all__ = ["API_VERSION", "ControlService"]

API_VERSION: Final = 1
MAX_BODY: Final = 64 * 1024
REQUEST_TIMEOUT: Final = 10.0

Json = dict[str, object]


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


Handler = Callable[["ControlService", re.Match[str], Json], tuple[int, Json]]
_ROUTES: list[tuple[str, re.Pattern[str], Handler]] = []


def _route(method: str, path: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        _ROUTES.append((method, re.compile(f"^{path}$"), handler))
        return handler

    return register


@final
class ControlService:
    """Serves the control API of one server (see the module docstring)."""

    def __init__(self, server: Server) -> None:
        self.server = server

    async def listen(self, nursery: trio.Nursery, host: str, port: int) -> tuple[str, int]:
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError(f"the control API listens on loopback only, not on {host}")
        return await listen_tcp(nursery, host, port, self.handle_stream)

    async def handle_stream(self, stream: trio.abc.Stream) -> None:
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=16 * 1024)
        try:
            with trio.move_on_after(REQUEST_TIMEOUT):
                try:
                    method, path, body = await _read(stream, conn)
                    status, payload = self.respond(method, path, body)
                except _Refused as exc:
                    status, payload = exc.status, {"error": str(exc)}
                except h11.RemoteProtocolError as exc:
                    status, payload = 400, {"error": f"not an HTTP request: {exc}"}
                await _write(stream, conn, status, payload)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        finally:
            with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                await stream.aclose()

    def respond(self, method: str, path: str, body: bytes) -> tuple[int, Json]:
        """The answer to one request (no I/O: tests may call it directly)."""
        path = path.split("?", 1)[0].rstrip("/") or "/"
        allowed: list[str] = []
        for route_method, pattern, handler in _ROUTES:
            found = pattern.match(path)
            if found is None:
                continue
            if route_method != method:
                allowed.append(route_method)
                continue
            try:
                payload = json.loads(body) if body.strip() else {}
            except ValueError as exc:
                return 400, {"error": f"the request body is not JSON: {exc}"}
            if not isinstance(payload, dict):
                return 400, {"error": "the request body must be a JSON object"}
            try:
                return handler(self, found, payload)
            except FaultError as exc:
                return 400, {"error": str(exc)}
            except _Refused as exc:
                return exc.status, {"error": str(exc)}
        if allowed:
            return 405, {"error": f"{path} takes {' or '.join(allowed)}, not {method}"}
        return 404, {"error": f"no such path: {path} (the API is under /v{API_VERSION})"}

    def _fault(self, found: re.Match[str]) -> object:
        fault = self.server.faults.get(int(found["id"]))
        if fault is None:
            raise _Refused(404, f"there is no fault #{found['id']}")
        return fault


# -------------------------------------------------------------------- routes


@_route("GET", "/v1")
def _index(service: ControlService, found: re.Match[str], body: Json) -> tuple[int, Json]:
    routes = [f"{method} {pattern.pattern[1:-1]}" for method, pattern, _ in _ROUTES]
    return 200, {"version": API_VERSION, "routes": routes}


@_route("GET", "/v1/faults")
def _list(service: ControlService, found: re.Match[str], body: Json) -> tuple[int, Json]:
    return 200, {"faults": [fault.as_json() for fault in service.server.faults]}


@_route("POST", "/v1/faults")
def _add(service: ControlService, found: re.Match[str], body: Json) -> tuple[int, Json]:
    try:
        spec = FaultSpec.model_validate(body)
    except ValidationError as exc:
        raise _Refused(400, _first_error(exc)) from None
    fault = spec.add_to(service.server.faults)
    return 201, {"fault": fault.as_json()}


@_route("DELETE", "/v1/faults")
def _clear(service: ControlService, found: re.Match[str], body: Json) -> tuple[int, Json]:
    return 200, {"cleared": service.server.faults.clear()}


def _fault(service: ControlService, found: re.Match[str]) -> Fault:
    """The fault the path names, or 404."""
    fault = service.server.faults.get(int(found["id"]))
    if fault is None:
        raise _Refused(404, f"there is no fault #{found['id']}")
    return fault


@_route("GET", r"/v1/faults/(?P<id>\d+)")
def _one(service: ControlService, found: re.Match[str], body: Json) -> tuple[int, Json]:
    fault = _fault(service, found)
    return 200, {"fault": fault.as_json()}


@_route("DELETE", r"/v1/faults/(?P<id>\d+)")
def _clear_one(service: ControlService, found: re.Match[str], body: Json) -> tuple[int, Json]:
    fault = _fault(service, found)
    return 200, {"cleared": 1, "released": fault.clear()}


@_route("POST", r"/v1/faults/(?P<id>\d+)/release")
def _release(service: ControlService, found: re.Match[str], body: Json) -> tuple[int, Json]:
    fault = _fault(service, found)
    return 200, {"released": fault.release()}


@_route("GET", "/v1/log")
def _log(service: ControlService, found: re.Match[str], body: Json) -> tuple[int, Json]:
    return 200, {"hits": [hit.as_json() for hit in service.server.faults.log]}


@_route("POST", "/v1/restart")
def _restart(service: ControlService, found: re.Match[str], body: Json) -> tuple[int, Json]:
    return 200, {"dropped": service.server.restart(goodbye=bool(body.get("goodbye", False)))}


@_route("POST", "/v1/sessions/(?P<party>[^/]+)/end")
def _end(service: ControlService, found: re.Match[str], body: Json) -> tuple[int, Json]:
    reason, text = body.get("reason", "system-shutdown"), body.get("text")
    if not isinstance(reason, str) or not (text is None or isinstance(text, str)):
        raise _Refused(400, "reason and text must be strings")
    return 200, {"ended": service.server.faults.end_session(found["party"], reason, text)}


@_route("POST", "/v1/sessions/(?P<party>[^/]+)/disconnect")
def _disconnect(service: ControlService, found: re.Match[str], body: Json) -> tuple[int, Json]:
    return 200, {"ended": service.server.faults.disconnect(found["party"])}


@_route("POST", "/v1/accounts/(?P<party>[^/]+)/expire")
def _expire(service: ControlService, found: re.Match[str], body: Json) -> tuple[int, Json]:
    service.server.faults.expire(found["party"])
    return 200, {"status": "expired"}


@_route("POST", "/v1/accounts/(?P<party>[^/]+)/renew")
def _renew(service: ControlService, found: re.Match[str], body: Json) -> tuple[int, Json]:
    service.server.faults.renew(found["party"])
    return 200, {"status": "active"}


@_route("POST", "/v1/accounts/(?P<party>[^/]+)/suspend")
def _suspend(service: ControlService, found: re.Match[str], body: Json) -> tuple[int, Json]:
    duration = body.get("for")
    try:
        seconds = parse_duration(duration) if duration is not None else None
    except ValueError as exc:
        raise _Refused(400, str(exc)) from None
    if seconds is not None and not isinstance(seconds, (int, float)):
        raise _Refused(400, f"for must be a duration, not {duration!r}")
    fault = service.server.faults.suspend(found["party"], for_=seconds)
    return 201, {"fault": fault.as_json()}


@_route("GET", "/v1/state")
def _state(service: ControlService, found: re.Match[str], body: Json) -> tuple[int, Json]:
    server = service.server
    state = server.state
    accounts = [
        {
            "phone": a.phone,
            "jid": a.jid,
            "push_name": a.push_name,
            "status": a.status,
            "online": server.live(a.jid) is not None,
            "queued": len(state.mailboxes[a.jid]) if a.jid in state.mailboxes else 0,
        }
        for a in state.accounts.values()
    ]
    sessions = [
        {"number": s.number, "jid": s.jid, "state": s.state.value, "peer": s.link.peer}
        for s in sorted(server.all_sessions, key=lambda s: s.number)
    ]
    groups = [
        {
            "jid": g.jid,
            "subject": g.subject,
            "participants": list(g.participants),
            "admins": g.admins,
        }
        for g in state.groups.values()
    ]
    queues = {
        jid: [node.to_text(indent=None) for _key, node in box]
        for jid, box in state.mailboxes.items()
        if len(box)
    }
    return 200, {"accounts": accounts, "sessions": sessions, "groups": groups, "queues": queues}


@_route("GET", "/v1/clock")
def _clock(service: ControlService, found: re.Match[str], body: Json) -> tuple[int, Json]:
    return 200, {"now": service.server.clock.now(), "time": trio.current_time()}


def _first_error(exc: object) -> str:
    assert isinstance(exc, ValidationError)
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "the fault"
    return f"{where}: {error['msg']}"


# -------------------------------------------------------------------- HTTP


async def _read(stream: trio.abc.Stream, conn: h11.Connection) -> tuple[str, str, bytes]:
    request: h11.Request | None = None
    body = bytearray()
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            data = await stream.receive_some(16 * 1024)
            conn.receive_data(bytes(data))
            if not data and conn.their_state is not h11.DONE:
                raise _Refused(400, "the request ended early")
        elif isinstance(event, h11.Request):
            request = event
        elif isinstance(event, h11.Data):
            body += event.data
            if len(body) > MAX_BODY:
                raise _Refused(413, f"a request body may take {MAX_BODY} bytes")
        elif isinstance(event, h11.EndOfMessage):
            assert request is not None
            return request.method.decode(), request.target.decode(), bytes(body)
        elif isinstance(event, h11.ConnectionClosed):
            raise _Refused(400, "the connection closed before a whole request")


async def _write(stream: trio.abc.Stream, conn: h11.Connection, status: int, payload: Json) -> None:
    body = json.dumps(payload, indent=None).encode() + b"\n"
    headers = [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
        ("Connection", "close"),
    ]
    with contextlib.suppress(h11.LocalProtocolError):
        data = conn.send(h11.Response(status_code=status, headers=headers)) or b""
        data += conn.send(h11.Data(data=body)) or b""
        data += conn.send(h11.EndOfMessage()) or b""
        await stream.send_all(data)
