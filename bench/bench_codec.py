"""Throughput of one typical message frame through ``Connection``, next to the crypto limit.

Every sealed frame costs at least one RC4 pass and one HMAC-SHA1 over its bytes
(PROTOCOL.md §2.6); nothing in pure Python can beat that. So each path is printed next
to baselines measured in the same run over the same bytes:

* send: ``client.send(node)`` (encode + seal + frame header) after a real login;
* receive: ``server.receive_data(frame)`` + ``server.next_event()`` (MAC check +
  decrypt + decode) after a real login;
* baselines: RC4 alone (``cryptography``), HMAC-SHA1 alone (``hmac``), and RC4 + HMAC,
  written directly against the primitives, plus the codec alone for the breakdown.

The last column is time per frame divided by the RC4 + HMAC time: how far each path is
from the limit. Run: ``.venv/bin/python bench/bench_codec.py [FRAMES]``. No assertions:
the numbers are the result.
"""

from __future__ import annotations

import hashlib
import hmac
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cryptography.hazmat.decrepit.ciphers.algorithms import ARC4
from cryptography.hazmat.primitives.ciphers import Cipher

from simulator.wire.codec import decode, encode
from simulator.wire.connection import Connection
from simulator.wire.events import (
    Authenticate,
    Challenged,
    Login,
    LoginRequested,
    LoginVerified,
    NodeReceived,
    Response,
    Role,
    Success,
)
from simulator.wire.node import Node
from simulator.wire.tokens import Dialect

if TYPE_CHECKING:
    from collections.abc import Callable

FRAMES = 20_000
REPEATS = 5
PASSWORD = bytes(range(1, 21))
NONCE = bytes(range(0xA0, 0xB4))
KEY = bytes(range(20))

MESSAGE = Node(
    "message",
    {"to": "4915550001111@s.whatsapp.net", "type": "text", "id": "1450000000-17"},
    [Node("body", data="Hello from the benchmark: one short chat line.")],
)


@dataclass(frozen=True)
class Row:
    name: str
    seconds_per_frame: float
    bytes_per_frame: int

    @property
    def frames_per_second(self) -> float:
        return 1 / self.seconds_per_frame

    @property
    def mb_per_second(self) -> float:
        return self.bytes_per_frame / self.seconds_per_frame / 1e6


def logged_in_pair(dialect: Dialect) -> tuple[Connection, Connection]:
    """A client and a server connection after a full login (§2.1)."""
    client, server = Connection(Role.CLIENT, dialect=dialect), Connection(Role.SERVER)
    login = Login(user="491234567890", password=PASSWORD, resource="S40-2.16.12", timestamp=0)
    server.receive_data(client.send(login))
    while (event := server.next_event()) is not None:
        if isinstance(event, LoginRequested):
            client.receive_data(server.send(Authenticate(password=PASSWORD, nonce=NONCE)))
    while (event := client.next_event()) is not None:
        if isinstance(event, Challenged):
            server.receive_data(client.send(Response()))
    verified = server.next_event()
    assert isinstance(verified, LoginVerified)
    client.receive_data(server.send(Success(attrs={"t": "0"}, nonce=NONCE)))
    assert client.next_event() is not None
    return client, server


def best_of(run: Callable[[], float]) -> float:
    """The fastest of ``REPEATS`` runs, in seconds per frame."""
    return min(run() for _ in range(REPEATS))


def time_send(dialect: Dialect, frames: int) -> float:
    client, _ = logged_in_pair(dialect)
    send = client.send
    start = time.perf_counter()
    for _ in range(frames):
        send(MESSAGE)
    return (time.perf_counter() - start) / frames


def time_receive(dialect: Dialect, frames: int) -> float:
    client, server = logged_in_pair(dialect)
    wire = [client.send(MESSAGE) for _ in range(frames)]
    receive_data, next_event = server.receive_data, server.next_event
    start = time.perf_counter()
    for frame in wire:
        receive_data(frame)
        event = next_event()
    elapsed = time.perf_counter() - start
    assert isinstance(event, NodeReceived)
    return elapsed / frames


def time_rc4(data: bytes, frames: int) -> float:
    update = Cipher(ARC4(KEY), mode=None).encryptor().update
    start = time.perf_counter()
    for _ in range(frames):
        update(data)
    return (time.perf_counter() - start) / frames


def time_hmac(data: bytes, frames: int) -> float:
    keyed = hmac.new(KEY, digestmod=hashlib.sha1)
    start = time.perf_counter()
    for seq in range(frames):
        mac = keyed.copy()
        mac.update(data)
        mac.update(seq.to_bytes(4, "big"))
        mac.digest()
    return (time.perf_counter() - start) / frames


def time_rc4_hmac(data: bytes, frames: int) -> float:
    update = Cipher(ARC4(KEY), mode=None).encryptor().update
    keyed = hmac.new(KEY, digestmod=hashlib.sha1)
    start = time.perf_counter()
    for seq in range(frames):
        ciphertext = update(data)
        mac = keyed.copy()
        mac.update(ciphertext)
        mac.update(seq.to_bytes(4, "big"))
        mac.digest()
    return (time.perf_counter() - start) / frames


def time_encode(dialect: Dialect, frames: int) -> float:
    pack = dialect is Dialect.V16
    start = time.perf_counter()
    for _ in range(frames):
        encode(MESSAGE, dialect, pack=pack)
    return (time.perf_counter() - start) / frames


def time_decode(data: bytes, dialect: Dialect, frames: int) -> float:
    start = time.perf_counter()
    for _ in range(frames):
        decode(data, dialect)
    return (time.perf_counter() - start) / frames


def measure(dialect: Dialect, frames: int = FRAMES) -> list[Row]:
    """The table for one dialect: both paths, then the baselines over the same bytes."""
    payload = encode(MESSAGE, dialect, pack=dialect is Dialect.V16)
    size = 3 + len(payload) + 4  # header + node + MAC: the frame on the wire
    return [
        Row("send: encode + seal", best_of(lambda: time_send(dialect, frames)), size),
        Row("receive: open + decode", best_of(lambda: time_receive(dialect, frames)), size),
        Row("  codec encode alone", best_of(lambda: time_encode(dialect, frames)), size),
        Row("  codec decode alone", best_of(lambda: time_decode(payload, dialect, frames)), size),
        Row("  RC4 alone", best_of(lambda: time_rc4(payload, frames)), size),
        Row("  HMAC-SHA1 alone", best_of(lambda: time_hmac(payload, frames)), size),
        Row("  RC4 + HMAC (the limit)", best_of(lambda: time_rc4_hmac(payload, frames)), size),
    ]


def render(dialect: Dialect, frames: int, rows: list[Row]) -> str:
    limit = rows[-1].seconds_per_frame
    lines = [
        f"dialect {dialect.value}, {rows[0].bytes_per_frame}-byte frames, "
        f"best of {REPEATS} x {frames} frames",
        f"{'':26} {'frames/s':>10} {'MB/s':>7} {'us/frame':>9} {'x limit':>8}",
    ]
    for row in rows:
        lines.append(
            f"{row.name:26} {row.frames_per_second:>10,.0f} {row.mb_per_second:>7.1f} "
            f"{row.seconds_per_frame * 1e6:>9.2f} {row.seconds_per_frame / limit:>8.1f}"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    frames = int(argv[1]) if len(argv) > 1 else FRAMES
    for dialect in Dialect:
        print(render(dialect, frames, measure(dialect, frames)))
        print()


if __name__ == "__main__":
    main(sys.argv)
