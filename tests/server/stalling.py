"""A byte stream that can be made to stop in the middle of a write, for link fault tests."""

from __future__ import annotations

from dataclasses import dataclass, field

import trio
import trio.testing

from simulator.server import Server
from simulator.transport.link import StreamLink
from simulator.wire.connection import Connection
from simulator.wire.events import Role
from simulator.wire.tokens import Dialect


class WrappedStream(trio.abc.Stream):
    """A byte stream passing everything to ``inner``: subclasses change what they watch."""

    def __init__(self, inner: trio.abc.Stream) -> None:
        self.inner = inner

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self.inner.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self.inner.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        return await self.inner.receive_some(max_bytes)

    async def aclose(self) -> None:
        await self.inner.aclose()


class StallingStream(WrappedStream):
    """A byte stream whose next ``send_all``, once armed, writes half its data and then
    blocks until cancelled; counts what is written after that."""

    def __init__(self, inner: trio.abc.Stream) -> None:
        super().__init__(inner)
        self.armed = False
        self.stalled = False
        self.stalled_event = trio.Event()
        self.written_after_stall = 0

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        if self.stalled:
            self.written_after_stall += len(data)
        if self.armed:
            self.armed, self.stalled = False, True
            await self.inner.send_all(bytes(data[: len(data) // 2]))
            self.stalled_event.set()
            await trio.sleep_forever()
        await self.inner.send_all(data)


@dataclass
class StallingConnector:
    """Connect to an in-process server over the full wire through a :class:`StallingStream`."""

    server: Server
    streams: list[StallingStream] = field(default_factory=list)

    async def connect(self, dialect: Dialect) -> StreamLink:
        client_end, server_end = trio.testing.memory_stream_pair()
        self.server._nursery.start_soon(self.server.handle_stream, server_end, "stalling")
        stream = StallingStream(client_end)
        self.streams.append(stream)
        return StreamLink(stream, Connection(Role.CLIENT, dialect=dialect), peer="server")

    def now(self) -> int:
        return self.server.clock.now()
