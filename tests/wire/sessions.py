"""The recorded yowsup sessions in ``tests/vectors``, as the session tests need them.

Format: ``shared/protocol/vectors/README.md``. Each file is one real session; frame 0
is the raw preamble. ``tests/golden.py`` (the codec's view: frames and node bytes) turns
the JSON nodes into ``Node``; this adds the login view: meta accessors, directions, MAC
sequence numbers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simulator.wire.tokens import Dialect
from tests.golden import node_from_json

if TYPE_CHECKING:
    from simulator.wire.node import Node

__all__ = ["HANDSHAKE_TAGS", "SESSIONS", "RecordedFrame", "Session", "session_ids"]

VECTORS = Path(__file__).parent.parent / "vectors"

HANDSHAKE_TAGS = frozenset(
    {"stream:start", "stream:features", "auth", "challenge", "response", "success", "failure"}
)


@dataclass(frozen=True)
class RecordedFrame:
    index: int
    c2s: bool
    raw: bytes
    """Exact bytes on the wire, header included."""
    encrypted: bool
    node: Node | None
    """``None`` only for the preamble."""
    plain: bytes | None
    mac_seq: int | None


@dataclass(frozen=True)
class Session:
    name: str
    meta: dict[str, Any]
    frames: tuple[RecordedFrame, ...]

    @property
    def dialect(self) -> Dialect:
        dialect = Dialect.from_preamble(self.frames[0].raw)
        assert dialect is not None
        return dialect

    @property
    def password(self) -> bytes:
        return bytes.fromhex(self.meta["password_hex"])

    @property
    def challenge_nonce(self) -> bytes:
        return bytes.fromhex(self.meta["challenge_nonce_hex"])

    @property
    def success_nonce(self) -> bytes:
        return bytes.fromhex(self.meta["success_nonce_hex"])

    @property
    def auth(self) -> dict[str, Any]:
        """The blob record (empty for the failed login: the client's password is unknown)."""
        auth: dict[str, Any] = self.meta["auth"]
        return auth

    @property
    def fast(self) -> bool:
        return bool(self.auth.get("where") == "auth")

    @property
    def failed(self) -> bool:
        return any(f.node is not None and f.node.tag == "failure" for f in self.frames)

    @property
    def keys(self) -> tuple[bytes, ...]:
        return tuple(bytes.fromhex(k) for k in self.auth["keys_hex"])

    @property
    def c2s(self) -> tuple[RecordedFrame, ...]:
        return tuple(f for f in self.frames if f.c2s)

    @property
    def s2c(self) -> tuple[RecordedFrame, ...]:
        return tuple(f for f in self.frames if not f.c2s)

    def c2s_bytes(self) -> bytes:
        return b"".join(f.raw for f in self.c2s)

    def s2c_bytes(self) -> bytes:
        return b"".join(f.raw for f in self.s2c)

    def nodes(self, *, c2s: bool) -> list[Node]:
        return [f.node for f in self.frames if f.c2s is c2s and f.node is not None]

    def tagged(self, tag: str) -> Node:
        """The first recorded node with this tag."""
        for frame in self.frames:
            if frame.node is not None and frame.node.tag == tag:
                return frame.node
        raise LookupError(f"{self.name} has no <{tag}>")

    def stanzas(self, *, c2s: bool) -> list[Node]:
        """The recorded nodes of one direction that are not login nodes."""
        return [n for n in self.nodes(c2s=c2s) if n.tag not in HANDSHAKE_TAGS]


def _frame(doc: dict[str, Any]) -> RecordedFrame:
    return RecordedFrame(
        index=doc["index"],
        c2s=doc["direction"] == "c2s",
        raw=bytes.fromhex(doc["hex"]),
        encrypted=doc["encrypted"],
        node=node_from_json(doc["node"]) if doc["node"] is not None else None,
        plain=bytes.fromhex(doc["plain_hex"]) if "plain_hex" in doc else None,
        mac_seq=doc.get("mac_seq"),
    )


@cache
def _load(path: Path) -> Session:
    doc = json.loads(path.read_text("utf-8"))
    return Session(path.stem, doc["meta"], tuple(_frame(f) for f in doc["frames"]))


SESSIONS: tuple[Session, ...] = tuple(_load(p) for p in sorted(VECTORS.glob("*.json")))


def session_ids(session: Session) -> str:
    return session.name
