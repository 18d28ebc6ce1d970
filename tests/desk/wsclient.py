"""A small WebSocket client (wsproto on trio) that speaks the desk's JSON protocol."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import trio
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    CloseConnection,
    RejectConnection,
    Request,
    TextMessage,
)

Message = dict[str, Any]


class DeskSocket:
    """One page's connection: every message received is kept in ``seen``."""

    def __init__(self, stream: trio.SocketStream, ws: WSConnection) -> None:
        self.stream = stream
        self.ws = ws
        self.seen: list[Message] = []
        self._queue: list[Message] = []
        self._refs = itertools.count(1)
        self.closed: CloseConnection | None = None
        self._parts: list[str] = []

    async def send(self, message: object) -> None:
        text = message if isinstance(message, str) else json.dumps(message)
        await self.stream.send_all(self.ws.send(TextMessage(data=text)))

    async def receive(self) -> Message:
        while not self._queue:
            data = await self.stream.receive_some(65536)
            if not data:
                raise EOFError("the desk closed the connection")
            self.ws.receive_data(data)
            self.feed(list(self.ws.events()))
        return self._queue.pop(0)

    def feed(self, events: list[Any]) -> None:
        for event in events:
            if isinstance(event, TextMessage):
                self._parts.append(event.data)
                if event.message_finished:
                    message = json.loads("".join(self._parts))
                    self._parts.clear()
                    self.seen.append(message)
                    self._queue.append(message)
            elif isinstance(event, CloseConnection):
                self.closed = event
                raise EOFError(f"closed: {event.code} {event.reason}")

    async def until(self, predicate: Callable[[Message], bool]) -> Message:
        """The first message (from now) that ``predicate`` accepts."""
        while True:
            message = await self.receive()
            if predicate(message):
                return message

    async def request(self, op: str, **args: Any) -> Message:
        """Send a request; its ``result`` message (other messages are kept in ``seen``)."""
        ref = next(self._refs)
        await self.send({"op": op, "ref": ref, **args})
        return await self.until(lambda m: m["type"] == "result" and m["ref"] == ref)

    async def stanza(self, predicate: Callable[[Message], bool]) -> Message:
        """The first stanza message, already seen or to come, that ``predicate`` accepts."""
        for message in self.seen:
            if message["type"] == "stanza" and predicate(message):
                return message
        return await self.until(lambda m: m["type"] == "stanza" and predicate(m))


@asynccontextmanager
async def desk_socket(
    host: str, port: int, target: str = "/ws", origin: str | None = None
) -> AsyncIterator[DeskSocket]:
    stream = await trio.open_tcp_stream(host, port)
    async with stream:
        ws = WSConnection(ConnectionType.CLIENT)
        extra = [(b"origin", origin.encode())] if origin is not None else []
        request = Request(host=f"{host}:{port}", target=target, extra_headers=extra)
        await stream.send_all(ws.send(request))
        while True:
            data = await stream.receive_some(65536)
            if not data:
                raise EOFError("no handshake answer")
            ws.receive_data(data)
            events = list(ws.events())
            if any(isinstance(e, RejectConnection) for e in events):
                raise ConnectionRefusedError(target)
            if any(isinstance(e, AcceptConnection) for e in events):
                break
        socket = DeskSocket(stream, ws)
        socket.feed([e for e in events if not isinstance(e, AcceptConnection)])
        yield socket
