"""The client reaches the HTTP side (media, registration) through its connector, in
process and over TCP alike; the client library never holds the server object."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
import trio

from simulator.client import HttpError, open_client
from simulator.client import events as ev
from simulator.client._http import http_request
from simulator.server import Server
from simulator.transport import Connector, Link, MemoryConnector, TcpConnector
from simulator.wire.tokens import Dialect
from tests.server.conftest import ALICE, BOB, PASSWORD

BOB_JID = f"{BOB}@s.whatsapp.net"


@dataclass
class CountingConnector:
    """An in-process connector that counts the HTTP connections it opens."""

    server: Server
    opened: list[str] = field(default_factory=list)

    async def connect(self, dialect: Dialect) -> Link:
        return await MemoryConnector(self.server).connect(dialect)

    async def open_http(self, url: str) -> trio.abc.Stream:
        self.opened.append(url)
        return await MemoryConnector(self.server).open_http(url)

    def now(self) -> int:
        return self.server.clock.now()


async def test_media_goes_through_the_clients_own_connector(server: Server) -> None:
    server.http.advertised_url = "http://media.invalid"  # no socket could reach this
    connector = CountingConnector(server)
    async with (
        open_client(connector, ALICE, PASSWORD) as alice,
        open_client(server, BOB, PASSWORD) as bob,
    ):
        sent = await alice.upload_media(BOB_JID, b"\x89PNG not really", "image")
        got = await bob.wait_for(ev.GetImage, timeout=5)
        assert await bob.download_media(got.url or "") == b"\x89PNG not really"
    assert connector.opened == [sent.url.replace("/d/", "/u/").rsplit("/", 1)[0]]


async def test_over_tcp_media_goes_over_tcp_to_the_urls_host(server: Server) -> None:
    host, port = await server.listen_tcp()
    await server.listen_http()
    async with (
        open_client((host, port), ALICE, PASSWORD) as alice,
        open_client(TcpConnector(host, port), BOB, PASSWORD) as bob,
    ):
        assert isinstance(alice.connector, TcpConnector)
        await alice.upload_media(BOB_JID, b"GIF89a\x02\x00\x03\x00", "image")
        got = await bob.wait_for(ev.GetImage, timeout=5)
        assert (got.media.get("width"), got.media.get("height")) == ("2", "3")
        assert await bob.download_media(got.url or "") == b"GIF89a\x02\x00\x03\x00"


async def test_https_is_refused_over_tcp_and_served_in_process(server: Server) -> None:
    url = "https://mmi.whatsapp.net/v2/exist?cc=49&in=1&id=x"
    with pytest.raises(HttpError) as refused:
        await http_request("GET", url)
    assert str(refused.value) == f"cannot reach {url!r}: only http:// URLs are supported (no TLS)"
    reply = await http_request("GET", url, via=MemoryConnector(server))
    assert reply.status == 200


async def test_the_client_holds_a_connector_never_the_server(server: Server) -> None:
    async with open_client(server, ALICE, PASSWORD) as alice:
        assert isinstance(alice.connector, MemoryConnector)
        assert isinstance(alice.connector, Connector)
        held = [name for name, value in vars(alice).items() if isinstance(value, Server)]
        assert held == []
