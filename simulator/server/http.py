"""The HTTP side of the service: registration (§4.8) and media upload/download (§4.7).

Theory of operation
-------------------
:class:`HttpService` lives on every :class:`~simulator.server.Server` as ``server.http``.
It serves HTTP/1.x with h11 on trio, one task per connection and **one request per
connection**: every response carries ``Connection: close`` and the connection is closed
after it (yowsup's uploader reads until the peer closes, §4.7). It is reached over TCP
(``await server.listen_http()``, loopback by default) or in-process without sockets
(``await server.connect_http()``, which the client library uses when given a ``Server``).

Routes (the request handlers are sync functions of the flow modules, registered on the
server's router with ``router.http_route``)::

    GET  /v2/code       account.http_code       request a verification code
    GET  /v2/register   account.http_register   submit the code, get the password
    GET  /v2/exist      account.http_exist      check credentials (recover the password)
    POST /u/<token>     media.http_upload       the upload slot handed out by the w:m iq
    GET  <file path>    media.http_download     a stored file, at the path of its URL

Registration also accepts ``POST`` with a form body. Anything else is 404 (unknown
path) or 405 (known path, wrong method).

yowsup's uploader sends a request line with an absolute URL and **no HTTP version**
(``POST https://host/u/tok``, §4.7), which h11 rejects. The first line of every request is
therefore inspected before h11 sees it: a line of exactly two words gets `` HTTP/1.0``
appended (1.0: no ``Host`` header required). Absolute-form targets are reduced to their
path.

Bounds (``ServerConfig.http_*``; defaults below): a request head may be
:data:`MAX_HEAD` bytes (431 beyond), and a whole request must arrive within
:data:`REQUEST_TIMEOUT` seconds of server time, or the connection is dropped. The request
is routed as soon as its head is in, before any of the body is read: a wrong path or
method, an unknown upload token or a ``Content-Length`` over the route's limit is answered
at once. The body is then read in pieces and refused with 413 the moment it passes the
limit: an upload may be as large as its slot's announced size plus the form around it
(never above :data:`MAX_BODY`), any other body ``http_max_form`` bytes. A malformed
request is answered 400 and closed; nothing a peer sends reaches any other connection.

At most :data:`MAX_CONNECTIONS` connections are served at once. When one more arrives,
the oldest connection still sending its request head is dropped to make room (slow or
half-sent requests cannot keep real ones out); if every slot is past its head, the new
connection is answered 503.

The advertised base URL
-----------------------
Media URLs handed to clients are ``<base>/u/<token>`` and ``<base>/d/<token>/<name>``.
``base`` is :attr:`HttpService.advertised_url` when set, else ``http://HOST:PORT`` of the
TCP listener (``https://`` when it serves TLS: ``listen(..., tls=context)``, see
:mod:`simulator.server.tls`). Real clients ignore the port and speak TLS to port 443 of
the URL's host (§4.7): serve HTTPS on 443 (``simulator serve --tls --http-port 443``), or
point the client's port at the listener (tests/interop does this in its drivers).
"""

from __future__ import annotations

import contextlib
import http
import ssl
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, final
from urllib.parse import parse_qsl, urlsplit

import trio

from simulator.server.tls import tls_handler
from simulator.server.web import HttpRefusal, HttpRequest, HttpResponse, HttpRoute
from simulator.transport.memory import memory_stream_pair
from simulator.transport.tcp import listen_tcp

if TYPE_CHECKING:
    import h11

    from simulator.server.server import Server
    from simulator.server.state import Registrar, UploadSlot

__all__ = [
    "MAX_BODY",
    "MAX_CONNECTIONS",
    "MAX_HEAD",
    "REQUEST_TIMEOUT",
    "HttpRequest",
    "HttpResponse",
    "HttpService",
]

MAX_HEAD: Final = 16 * 1024
"""Default bytes a request line plus headers may take (``http_max_head``)."""
MAX_BODY: Final = 20 * 1024 * 1024
"""Default bytes an upload body may take (``http_max_body``; the largest media file is
16 MiB, §3.9)."""
REQUEST_TIMEOUT: Final = 30.0
"""Default seconds (server time) a peer has to send one whole request."""
MAX_CONNECTIONS: Final = 256
"""Default HTTP connections served at once (``http_max_connections``)."""

_RECEIVE_SIZE: Final = 64 * 1024


class _Refused(HttpRefusal):
    """The request cannot be served; answer ``response`` and close."""

    def __init__(self, status: int, message: str = "") -> None:
        super().__init__(HttpResponse.text(status, message))


@dataclass(eq=False, slots=True)
class _Slot:
    """One HTTP connection being served."""

    scope: trio.CancelScope = field(default_factory=trio.CancelScope)
    reading_head: bool = True
    """Still waiting for the request line and headers: the first to go when full."""


@final
class HttpService:
    """The HTTP endpoints of one server; see the module docstring."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.address: tuple[str, int] | None = None
        """Where the TCP listener is bound, once :meth:`listen` ran."""
        self.advertised_url: str | None = None
        """Base URL put into media URLs; ``None`` = ``http(s)://HOST:PORT`` of the listener."""
        self.scheme = "http"
        """``https`` once the listener serves TLS (:mod:`simulator.server.tls`)."""
        self._slots: dict[_Slot, None] = {}  # connections being served, oldest first

    @property
    def registrar(self) -> Registrar:
        """Registration bookkeeping and the knobs that make each failure reachable (§4.8);
        it is part of the server's state (``server.state.registrar``)."""
        return self.server.state.registrar

    @property
    def uploads(self) -> Mapping[str, UploadSlot]:
        """Upload token -> the slot a ``w:m`` iq handed out (§3.9; ``state.uploads``)."""
        return self.server.state.uploads

    @property
    def paths(self) -> Mapping[str, str]:
        """Download path -> media hash (``state.media_paths``, an index over ``state.media``)."""
        return self.server.state.media_paths

    @property
    def active(self) -> int:
        """HTTP connections being served right now."""
        return len(self._slots)

    def advertise(self, url: str | None) -> None:
        """Put ``url`` into media URLs instead of the listener's own address (``None``:
        the listener's); for a proxy, a name clients resolve, or the in-process scheme."""
        self.advertised_url = url

    @property
    def base_url(self) -> str | None:
        """The base of every media URL, or ``None`` while no HTTP endpoint is known."""
        if self.advertised_url:
            return self.advertised_url.rstrip("/")
        if self.address is not None:
            return f"{self.scheme}://{self.address[0]}:{self.address[1]}"
        return None

    # ---------------------------------------------------------------- transports

    async def listen(
        self, nursery: trio.Nursery, host: str, port: int, tls: ssl.SSLContext | None = None
    ) -> tuple[str, int]:
        """Accept HTTP over TCP (HTTPS with ``tls``: a layer around the same handler,
        :func:`simulator.server.tls.tls_handler`); returns the address bound."""
        handler: Callable[[trio.SocketStream], Awaitable[None]] = self.handle_stream
        if tls is not None:
            handler = tls_handler(tls, self.handle_stream)
        self.address = await listen_tcp(nursery, host, port, handler)
        self.scheme = "https" if tls is not None else "http"
        return self.address

    async def connect(self, nursery: trio.Nursery) -> trio.abc.Stream:
        """An in-process HTTP connection: the client end of a memory stream pair."""
        client_end, server_end = memory_stream_pair()
        nursery.start_soon(self.handle_stream, server_end)
        await trio.lowlevel.checkpoint()
        return client_end

    # ---------------------------------------------------------------- one connection

    async def handle_stream(self, stream: trio.abc.Stream) -> None:
        """Serve one request on ``stream``, answer it, close."""
        import h11  # on the first HTTP connection: a run without one does not pay for it

        config = self.server.config
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=config.http_max_head)
        slot = _Slot()
        room = self._make_room(config.http_max_connections)
        self._slots[slot] = None
        try:
            async with stream:
                with slot.scope:
                    response: HttpResponse | None = None
                    with trio.move_on_after(config.http_request_timeout):
                        try:
                            if not room:
                                raise _Refused(503)
                            request = await self._read_request(stream, conn, slot)
                            if request is None:
                                return  # the peer went away before a whole request
                            response = self.respond(request)
                            self.server.persist()  # on disk before the answer leaves
                        except HttpRefusal as refusal:
                            response = refusal.response
                        except h11.RemoteProtocolError as exc:
                            response = HttpResponse.text(
                                exc.error_status_hint, f"bad request: {exc}"
                            )
                    if response is not None:
                        with trio.move_on_after(config.http_request_timeout):
                            await _send_response(stream, conn, response)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass  # the peer hung up; nobody else is affected
        finally:
            self._slots.pop(slot, None)

    def _make_room(self, limit: int) -> bool:
        """Make room for one more connection; ``False`` if every slot is past its head."""
        while len(self._slots) >= limit:
            oldest = next((s for s in self._slots if s.reading_head), None)
            if oldest is None:
                return False
            del self._slots[oldest]
            oldest.scope.cancel()  # its connection closes without an answer
        return True

    def _route(self, method: str, path: str) -> HttpRoute:
        """The route of ``method path`` (registered on the server's router), or
        ``_Refused`` (404 / 405)."""
        route = self.server.router.http_lookup(path)
        if route is None:
            raise _Refused(404)
        if method not in route.methods:
            raise _Refused(405)
        return route

    def body_limit(self, method: str, path: str) -> int:
        """The largest body ``method path`` may carry, known from the head alone.

        Raises ``HttpRefusal`` for what needs no body to answer: a wrong method, or what
        the route itself refuses from the path (an upload to an unknown token).
        """
        route = self._route(method, path)
        if route.body_limit is None:
            return self.server.config.http_max_form
        return route.body_limit(self.server, path)

    def respond(self, request: HttpRequest) -> HttpResponse:
        """The answer to one request (sync: handlers change state, never wait)."""
        try:
            route = self._route(request.method, request.path)
        except HttpRefusal as refusal:
            return refusal.response
        try:
            return route.handler(self.server, request)
        except Exception as exc:  # a bug in a handler: this request fails, nothing else
            self.server.report_bug(f"HTTP {request.method} {request.path}", None, exc)
            return HttpResponse.text(500)

    async def _read_request(
        self, stream: trio.abc.Stream, conn: h11.Connection, slot: _Slot
    ) -> HttpRequest | None:
        """Read one request, routing it on its head; ``None`` if the peer closed first."""
        import h11

        config = self.server.config
        pending = bytearray()  # held back until the request line is complete
        line_seen = False
        request: h11.Request | None = None
        limit = 0
        body = bytearray()
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = await stream.receive_some(_RECEIVE_SIZE)
                if not line_seen:
                    pending += data
                    if data and b"\n" not in pending:
                        if len(pending) > config.http_max_head:
                            raise _Refused(431, "request line too long")
                        continue
                    line_seen = True
                    data = _fix_request_line(bytes(pending))
                    pending = bytearray()
                conn.receive_data(bytes(data))
            elif isinstance(event, h11.Request):
                request = event
                slot.reading_head = False
                # h11 only bounds a head that arrives in pieces; one read can hold it whole.
                if _head_size(event) > config.http_max_head:
                    raise _Refused(431)
                length = _content_length(event)
                if length is not None and length > config.http_max_body:
                    raise _Refused(413)
                method = event.method.decode("ascii", "replace")
                limit = self.body_limit(method, _path(event))
                if length is not None and length > limit:
                    raise _Refused(413)
            elif isinstance(event, h11.Data):
                if len(body) + len(event.data) > limit:
                    raise _Refused(413)
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                assert request is not None
                return _request(request, bytes(body))
            else:  # ConnectionClosed
                return None


# -------------------------------------------------------------------- reading and writing


def _content_length(event: h11.Request) -> int | None:
    """The announced body length (h11 has already checked it is a number)."""
    for name, value in event.headers:
        if name == b"content-length":
            return int(value)
    return None


def _head_size(event: h11.Request) -> int:
    """About the bytes of the request line and headers as sent."""
    size = len(event.method) + len(event.target) + 12
    return size + sum(len(name) + len(value) + 4 for name, value in event.headers)


def _path(event: h11.Request) -> str:
    return urlsplit(event.target.decode("latin-1")).path or "/"


def _fix_request_line(head: bytes) -> bytes:
    """Give a version-less request line (yowsup's uploader, §4.7) an ``HTTP/1.0``."""
    end = head.find(b"\n")
    if end < 0:
        return head
    line = head[:end].rstrip(b"\r")
    if len(line.split(b" ")) == 2:
        return line + b" HTTP/1.0\r\n" + head[end + 1 :]
    return head


def _request(event: h11.Request, body: bytes) -> HttpRequest:
    target = event.target.decode("latin-1")
    parts = urlsplit(target)  # absolute-form (https://host/path) or origin-form (/path)
    headers = {
        name.decode("latin-1").lower(): value.decode("latin-1") for name, value in event.headers
    }
    query = dict(parse_qsl(parts.query, keep_blank_values=True, encoding="latin-1"))
    if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        form = parse_qsl(body.decode("latin-1"), keep_blank_values=True, encoding="latin-1")
        query.update(form)
    return HttpRequest(
        method=event.method.decode("ascii", "replace"),
        path=parts.path or "/",
        query=query,
        headers=headers,
        body=body,
    )


async def _send_response(
    stream: trio.abc.Stream, conn: h11.Connection, response: HttpResponse
) -> None:
    import h11

    status = response.status
    headers = [
        ("Content-Type", response.content_type),
        ("Content-Length", str(len(response.body))),
        ("Connection", "close"),
    ]
    reason = http.HTTPStatus(status).phrase.encode()
    with contextlib.suppress(h11.LocalProtocolError):
        data = conn.send(h11.Response(status_code=status, headers=headers, reason=reason))
        data = (data or b"") + (conn.send(h11.Data(data=response.body)) or b"")
        data += conn.send(h11.EndOfMessage()) or b""
        await stream.send_all(data)
