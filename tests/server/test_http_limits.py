"""Slow and oversized HTTP requests are bounded and never keep a real request out.

The request is routed on its head: what can be refused from the head alone is refused
before any body is read, and a body is refused (413) the moment it passes its route's
limit, never read whole first.
"""

from __future__ import annotations

import pytest
import trio
import trio.testing

from simulator.server import Server, ServerConfig, open_server
from simulator.server.flows.media import UploadSlot
from tests.server.test_limits import ACCOUNTS, closed_by_server, open_fds, settle

EXIST = b"GET /v2/exist?cc=1 HTTP/1.0\r\n\r\n"


async def exchange(stream: trio.abc.Stream, request: bytes) -> bytes:
    """Send ``request``, read the answer until the server closes."""
    await stream.send_all(request)
    return await read_all(stream)


async def read_all(stream: trio.abc.Stream) -> bytes:
    data = b""
    with trio.fail_after(10):
        while chunk := await stream.receive_some():
            data += chunk
    return data


async def test_half_sent_requests_cannot_take_every_slot() -> None:
    config = ServerConfig(http_max_connections=8)
    async with open_server(accounts=ACCOUNTS, config=config) as server:
        address = await server.listen_http()
        baseline = open_fds()
        slow: list[trio.SocketStream] = []
        for _ in range(30):
            stream = await trio.open_tcp_stream(*address)
            await stream.send_all(b"POST /v2/code HTTP/1.1\r\nHost: x\r\nContent-Le")
            slow.append(stream)
        await closed_by_server(slow, 30 - 8)  # the oldest heads made room for the newer
        assert server.http.active == 8

        real = await trio.open_tcp_stream(*address)
        assert (await exchange(real, EXIST)).startswith(b"HTTP/1.1 200 OK\r\n")
        assert server.http.active <= 8

        await real.aclose()
        for stream in slow:
            await stream.aclose()
        await settle(lambda: server.http.active == 0)
        assert open_fds() == baseline


async def test_when_every_slot_is_past_its_head_a_new_connection_gets_503() -> None:
    config = ServerConfig(http_max_connections=2)
    async with open_server(accounts=ACCOUNTS, config=config) as server:
        busy = []
        for _ in range(2):  # heads complete, bodies unfinished: these are not dropped
            stream = await server.connect_http()
            await stream.send_all(
                b"POST /v2/code HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\nab"
            )
            busy.append(stream)
        await trio.testing.wait_all_tasks_blocked()
        third = await server.connect_http()
        assert (await exchange(third, EXIST)).startswith(b"HTTP/1.1 503 ")
        await busy[0].send_all(b"cc=1&x=1")  # finish one: answered normally
        assert (await read_all(busy[0])).startswith(b"HTTP/1.1 ")
        assert (await exchange(await server.connect_http(), EXIST)).startswith(b"HTTP/1.1 200 ")


@pytest.mark.parametrize(
    ("head", "status"),
    [
        # Over the upload limit, at an unknown path: refused on the head alone.
        (b"POST /u/x HTTP/1.1\r\nHost: x\r\nContent-Length: 30000000\r\n\r\n", b"413"),
        # An unknown upload token: its own 404, the body is never read.
        (b"POST /u/nope HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n", b"404"),
        # A registration form bigger than any form.
        (b"POST /v2/code HTTP/1.1\r\nHost: x\r\nContent-Length: 70000\r\n\r\n", b"413"),
        # More than the upload slot announced (plus the form around it).
        (b"POST /u/tok HTTP/1.1\r\nHost: x\r\nContent-Length: 67000\r\n\r\n", b"413"),
        # A head over the head limit.
        (b"GET /v2/exist HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n", b"431"),
        # A wrong method: 405 before the body.
        (b"PUT /v2/code HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n", b"405"),
    ],
)
async def test_a_body_that_cannot_be_served_is_refused_before_it_is_read(
    head: bytes, status: bytes
) -> None:
    config = ServerConfig(http_max_form=64 * 1024)
    async with open_server(accounts=ACCOUNTS, config=config) as server:
        server.state.open_upload(UploadSlot("tok", "a@s.whatsapp.net", "image", "h", 1000), 64)
        stream = await server.connect_http()
        # Only the head is sent: the answer comes without a byte of the body.
        assert (await exchange(stream, head)).startswith(b"HTTP/1.1 " + status + b" ")


async def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit(server: Server) -> None:
    limit = server.config.http_max_form
    stream = await server.connect_http()
    await stream.send_all(
        b"POST /v2/code HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"a" * 4096
    for _ in range(limit // len(chunk) + 1):  # one chunk past the limit, and no end
        await stream.send_all(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    assert (await read_all(stream)).startswith(b"HTTP/1.1 413 ")
    await trio.testing.wait_all_tasks_blocked()
    assert server.http.active == 0
