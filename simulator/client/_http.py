"""A small HTTP/1.1 client (h11 on trio) for the service's HTTP side: registration and media.

One request per connection, as the service answers with ``Connection: close``. The
connection comes from ``via``, the client's connector (``open_http(url)``: in-process
without sockets for a :class:`~simulator.transport.MemoryConnector`, TCP to the URL's
host and port otherwise); a :class:`~simulator.server.Server` given here stands for its
in-process connector. ``https://`` URLs are refused over TCP: the simulator speaks plain
HTTP (see ``simulator.server.http`` for putting TLS in front of it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

import trio

from simulator.errors import ClientError
from simulator.records import record
from simulator.transport.connectors import HttpOpener, http_opener, open_http_tcp

if TYPE_CHECKING:
    import h11

    from simulator.server.server import Server

__all__ = ["HttpError", "HttpReply", "http_request"]

MAX_REPLY: Final = 32 * 1024 * 1024
"""Bytes an answer may take (the largest media file is 16 MiB)."""


class HttpError(ClientError):
    """The HTTP side could not be reached, or broke the protocol, or answered an error status.

    ``status`` is the HTTP status when there was an answer (``None`` otherwise) and
    ``body`` its content.
    """

    def __init__(self, msg: str, *, status: int | None = None, body: bytes = b"") -> None:
        super().__init__(msg)
        self.status = status
        self.body = body


@record
class HttpReply:
    """An answer: status, headers (lower-cased names) and the whole body."""

    status: int
    headers: Mapping[str, str]
    body: bytes


async def http_request(
    method: str,
    url: str,
    *,
    via: HttpOpener | Server | None = None,
    headers: Mapping[str, str] | None = None,
    body: bytes = b"",
    timeout: float = 30,
) -> HttpReply:
    """Send one request and read the whole answer.

    Raises:
        HttpError: no connection, a malformed answer, or no answer within ``timeout``
            seconds (of trio time).
    """
    import h11  # on the first request: a client that never speaks HTTP does not pay for it

    parts = urlsplit(url)
    opener = http_opener(via)
    host = parts.hostname or "127.0.0.1"
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    all_headers = {"Host": parts.netloc or host, "Connection": "close"}
    if body or method == "POST":
        all_headers["Content-Length"] = str(len(body))
    all_headers.update(headers or {})
    conn = h11.Connection(h11.CLIENT)
    try:
        with trio.fail_after(timeout):
            try:
                stream = await (open_http_tcp(url) if opener is None else opener.open_http(url))
            except ValueError as exc:  # a URL this connection cannot reach (https over TCP)
                raise HttpError(f"cannot reach {url!r}: {exc}") from None
            async with stream:
                request = h11.Request(
                    method=method, target=target, headers=list(all_headers.items())
                )
                await stream.send_all(conn.send(request) or b"")
                if body:
                    await stream.send_all(conn.send(h11.Data(data=body)) or b"")
                await stream.send_all(conn.send(h11.EndOfMessage()) or b"")
                return await _read_reply(stream, conn)
    except trio.TooSlowError:
        raise HttpError(f"{method} {url}: no answer within {timeout} s") from None
    except (OSError, trio.BrokenResourceError, trio.ClosedResourceError) as exc:
        raise HttpError(f"{method} {url}: {exc}") from None
    except h11.ProtocolError as exc:
        raise HttpError(f"{method} {url}: malformed answer: {exc}") from None


async def _read_reply(stream: trio.abc.Stream, conn: h11.Connection) -> HttpReply:
    import h11

    response: h11.Response | None = None
    body = bytearray()
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            conn.receive_data(bytes(await stream.receive_some(64 * 1024)))
        elif isinstance(event, h11.Response):
            response = event
        elif isinstance(event, h11.Data):
            body += event.data
            if len(body) > MAX_REPLY:
                raise HttpError(f"answer larger than {MAX_REPLY} bytes")
        elif isinstance(event, h11.EndOfMessage):
            assert response is not None
            headers = {
                k.decode("latin-1").lower(): v.decode("latin-1") for k, v in response.headers
            }
            return HttpReply(response.status_code, headers, bytes(body))
        elif isinstance(event, h11.InformationalResponse):
            continue  # 100 Continue and the like: the real answer follows
        else:  # ConnectionClosed
            raise HttpError("the connection closed before the answer was complete")
