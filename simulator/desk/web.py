"""The desk's HTTP and WebSocket server: h11 for requests, wsproto after an upgrade, on trio.

Routes (GET only):

    /                 the page (``static/index.html``)
    /<file>           the page's other static files (``desk.js``, ``desk.css``)
    /media?url=U      a media file the service stores, by its URL (images shown inline)
    /transcript.txt   every stanza so far in the tx/rx notation
    /scenario.yaml    the session as a scenario file (the recorder), as a download
    /ws               the live WebSocket (JSON messages; see ``simulator.desk``)

One connection's failure (a malformed request, a peer that goes away) ends that
connection only. Nothing here knows what the messages mean: :class:`simulator.desk.Desk`
answers them.
"""

from __future__ import annotations

import contextlib
import json
import mimetypes
import traceback
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import TYPE_CHECKING, Final, final
from urllib.parse import parse_qs, urlsplit

import h11
import trio
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    CloseConnection,
    Ping,
    Pong,
    RejectConnection,
    TextMessage,
)
from wsproto.events import Request as WsRequest

from simulator.records import record

if TYPE_CHECKING:
    from simulator.desk.desk import Desk, Outbox

__all__ = ["DeskWeb", "Response"]

_RECEIVE: Final = 64 * 1024
MAX_MESSAGE: Final = 32 * 1024 * 1024
"""Bytes one WebSocket message may take (a picture or file to send, base64)."""
STATIC: Final = frozenset({"index.html", "desk.js", "desk.css"})


@final
@record
class Response:
    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"
    filename: str | None = None
    """Set: offered as a download with this name."""

    @classmethod
    def text(cls, status: int, text: str) -> Response:
        return cls(status, (text + "\n").encode())


def static_file(name: str) -> bytes:
    return resources.files("simulator.desk").joinpath("static", name).read_bytes()


@final
class DeskWeb:
    """Serves the page and the WebSocket of one :class:`Desk`."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.address: tuple[str, int] | None = None

    def serve(self, nursery: trio.Nursery, listeners: list[trio.SocketListener]) -> None:
        """Accept browsers on ``listeners`` (bound by the caller) in ``nursery``."""
        name = listeners[0].socket.getsockname()
        self.address = (name[0], name[1])
        nursery.start_soon(trio.serve_listeners, self.handle_stream, listeners)

    @property
    def url(self) -> str:
        assert self.address is not None, "listen() first"
        return f"http://{self.address[0]}:{self.address[1]}/"

    async def handle_stream(self, stream: trio.abc.Stream) -> None:
        """Serve one connection: requests until it closes, or one WebSocket."""
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=16 * 1024)
        try:
            while True:
                request = await _next_request(stream, conn)
                if request is None:
                    return
                if _is_upgrade(request):
                    await self._websocket(stream, request, conn.trailing_data[0])
                    return
                try:
                    response = self.route(request)
                except Exception as exc:  # a bug answers 500; the desk serves on
                    traceback.print_exc()
                    response = Response.text(500, f"internal error: {exc!r}")
                await _respond(stream, conn, response)
                if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                    return
                conn.start_next_cycle()
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            return
        except h11.RemoteProtocolError:
            with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                await stream.send_all(b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n")
            return
        finally:
            with trio.CancelScope(shield=True):
                await stream.aclose()

    def route(self, request: h11.Request) -> Response:
        if request.method != b"GET":
            return Response.text(405, "only GET")
        target = urlsplit(request.target.decode("latin-1"))
        path = target.path
        query = {k: v[0] for k, v in parse_qs(target.query).items()}
        if path == "/":
            path = "/index.html"
        name = path.lstrip("/")
        if name in STATIC:
            kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
            if kind.startswith("text/") or kind.endswith("javascript"):
                kind += "; charset=utf-8"
            return Response(200, static_file(name), kind)
        if path == "/media":
            return self.desk.media(query.get("url", ""))
        if path == "/transcript.txt":
            return Response(200, self.desk.transcript().encode(), filename="transcript.txt")
        if path == "/scenario.yaml":
            return self.desk.scenario_download()
        return Response.text(404, f"no page {path}")

    async def _websocket(self, stream: trio.abc.Stream, request: h11.Request, rest: bytes) -> None:
        ws = WSConnection(ConnectionType.SERVER)
        ws.initiate_upgrade_connection(list(request.headers), request.target)
        if rest:
            ws.receive_data(rest)
        accepted = False
        for event in ws.events():
            if isinstance(event, WsRequest):
                if event.target.split("?")[0] != "/ws" or not _same_origin(request):
                    await stream.send_all(ws.send(RejectConnection(status_code=404)))
                    return
                await stream.send_all(ws.send(AcceptConnection()))
                accepted = True
        if not accepted:
            return
        outbox = self.desk.subscribe()
        socket = _Socket(stream, ws)
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_pump, socket, outbox)
                await _read_messages(socket, outbox, self.desk.handle_message, nursery)
                nursery.cancel_scope.cancel()
        except* (trio.BrokenResourceError, trio.ClosedResourceError):
            pass  # the page went away
        finally:
            self.desk.unsubscribe(outbox)


@final
class _Socket:
    """One WebSocket: its stream, its wsproto state, and a lock so frames never interleave."""

    def __init__(self, stream: trio.abc.Stream, ws: WSConnection) -> None:
        self.stream = stream
        self.ws = ws
        self._lock = trio.Lock()

    async def send(self, event: TextMessage | CloseConnection | Pong) -> None:
        async with self._lock:
            await self.stream.send_all(self.ws.send(event))


async def _next_request(stream: trio.abc.Stream, conn: h11.Connection) -> h11.Request | None:
    request: h11.Request | None = None
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            data = bytes(await stream.receive_some(_RECEIVE))
            conn.receive_data(data)
            if not data and request is None:
                return None
            continue
        if event is h11.PAUSED:
            return request  # an upgrade: the rest belongs to the WebSocket
        if isinstance(event, h11.Request):
            request = event
        elif isinstance(event, h11.EndOfMessage):
            return request
        elif isinstance(event, h11.ConnectionClosed):
            return None


def _same_origin(request: h11.Request) -> bool:
    """A browser sends the page's origin: only the desk's own page may drive it (other
    sites the browser has open cannot). Clients that send no Origin are not browsers."""
    headers = dict(request.headers)
    origin = headers.get(b"origin")
    if origin is None:
        return True
    return urlsplit(origin.decode("latin-1")).netloc.encode("latin-1") == headers.get(b"host")


def _is_upgrade(request: h11.Request) -> bool:
    for name, value in request.headers:
        if name == b"upgrade" and value.lower() == b"websocket":
            return True
    return False


async def _respond(stream: trio.abc.Stream, conn: h11.Connection, response: Response) -> None:
    headers = [
        ("content-type", response.content_type),
        ("content-length", str(len(response.body))),
        ("cache-control", "no-store"),
    ]
    if response.filename is not None:
        headers.append(("content-disposition", f'attachment; filename="{response.filename}"'))
    data = conn.send(h11.Response(status_code=response.status, headers=headers))
    data = (data or b"") + (conn.send(h11.Data(data=response.body)) or b"")
    data += conn.send(h11.EndOfMessage()) or b""
    await stream.send_all(data)


async def _pump(socket: _Socket, outbox: Outbox) -> None:
    """Send what the desk publishes, in order, until the outbox closes."""
    async for message in outbox.receive:
        await socket.send(TextMessage(data=message))
    # the desk dropped this page (it fell too far behind): say so and end
    await socket.send(CloseConnection(code=1008, reason="too slow"))


async def _read_messages(
    socket: _Socket,
    outbox: Outbox,
    handle: Callable[[object], Awaitable[str | None]],
    nursery: trio.Nursery,
) -> None:
    parts: list[str] = []
    size = 0
    while True:
        data = bytes(await socket.stream.receive_some(_RECEIVE))
        if not data:
            return
        socket.ws.receive_data(data)
        for event in socket.ws.events():
            if isinstance(event, CloseConnection):
                await socket.send(event.response())
                return
            if isinstance(event, Ping):
                await socket.send(event.response())
            elif isinstance(event, TextMessage):
                parts.append(event.data)
                size += len(event.data)
                if size > MAX_MESSAGE:
                    await socket.send(CloseConnection(code=1009, reason="message too big"))
                    return
                if event.message_finished:
                    text = "".join(parts)
                    parts.clear()
                    size = 0
                    nursery.start_soon(_answer, outbox, handle, text)


async def _answer(
    outbox: Outbox, handle: Callable[[object], Awaitable[str | None]], text: str
) -> None:
    """Run one request from the page and queue its answer (requests run side by side).

    The answer goes through the page's outbox, so it comes after the stanzas the request
    caused (the tap publishes those as they happen)."""
    try:
        message: object = json.loads(text)
    except ValueError:
        message = None
    reply = await handle(message)
    if reply is not None:
        outbox.put(reply)
