"""The recorded yowsup sessions in ``tests/vectors/*.json``, loaded as typed values.

File format: ``shared/protocol/vectors/README.md``. Frame 0 of each file is the raw
preamble, which picks the dialect; every other frame has its wire bytes, its node bytes
(``plain_hex`` when encrypted, else the wire bytes after the header) and its node. The
JSON gives attribute values as latin-1-decoded text; they are turned back into the
codec's ``str`` convention (UTF-8 with ``surrogateescape``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from simulator.wire.node import Node
from simulator.wire.tokens import Dialect

__all__ = ["VECTOR_DIR", "Session", "VectorFrame", "load_session", "node_from_json", "sessions"]

VECTOR_DIR = Path(__file__).parent / "vectors"


@dataclass(frozen=True, slots=True)
class VectorFrame:
    """One recorded frame (never the preamble)."""

    file: str
    index: int
    direction: Literal["c2s", "s2c"]
    dialect: Dialect
    wire: bytes
    """The exact bytes on the wire, header included."""
    encrypted: bool
    body: bytes
    """The node bytes: decrypted for encrypted frames, the payload for plain ones."""
    node: Node

    @property
    def id(self) -> str:
        return f"{self.file}#{self.index}-{self.direction}"


@dataclass(frozen=True, slots=True)
class Session:
    file: str
    dialect: Dialect
    preamble: bytes
    frames: tuple[VectorFrame, ...]
    meta: dict[str, Any]

    def stream(self, direction: Literal["c2s", "s2c"]) -> bytes:
        """Everything one side wrote, in order (the client's stream starts with the preamble)."""
        head = self.preamble if direction == "c2s" else b""
        return head + b"".join(f.wire for f in self.frames if f.direction == direction)


def node_from_json(obj: dict[str, Any]) -> Node:
    """A recorded node (``tag``, ``attrs``, ``children``, ``data`` as hex or null)."""
    attrs = {
        key: value.encode("latin-1").decode("utf-8", "surrogateescape")
        for key, value in obj["attrs"].items()
    }
    data = None if obj["data"] is None else bytes.fromhex(obj["data"])
    return Node(obj["tag"], attrs, [node_from_json(c) for c in obj["children"]], data)


def load_session(path: Path) -> Session:
    doc = json.loads(path.read_text("utf-8"))
    preamble = bytes.fromhex(doc["frames"][0]["hex"])
    dialect = Dialect.from_preamble(preamble)
    assert dialect is not None, f"{path.name}: unknown preamble {preamble.hex()}"
    frames = tuple(_frame(path.name, dialect, raw) for raw in doc["frames"][1:])
    return Session(path.name, dialect, preamble, frames, doc["meta"])


def _frame(file: str, dialect: Dialect, raw: dict[str, Any]) -> VectorFrame:
    wire = bytes.fromhex(raw["hex"])
    body = bytes.fromhex(raw["plain_hex"]) if raw["encrypted"] else wire[3:]
    return VectorFrame(
        file=file,
        index=raw["index"],
        direction=raw["direction"],
        dialect=dialect,
        wire=wire,
        encrypted=raw["encrypted"],
        body=body,
        node=node_from_json(raw["node"]),
    )


@cache
def sessions() -> tuple[Session, ...]:
    """Every recorded session, sorted by file name."""
    return tuple(load_session(p) for p in sorted(VECTOR_DIR.glob("*.json")))
