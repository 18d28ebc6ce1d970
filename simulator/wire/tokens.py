"""The two token dictionaries and the dialects that use them (PROTOCOL.md §1.2, §1.4.2, §5).

The 4-byte preamble a client opens with (``WA 1 5`` or ``WA 1 6``) picks the dialect for
the whole connection in both directions: the dictionary and the string forms allowed.

The dictionaries are protocol data, shipped as JSON next to this module (copied from
``shared/protocol``): ``tokens-2.0.53.json`` for 1.5 and ``tokens-2.5.7.json`` for 1.6.
"""

from __future__ import annotations

import enum
import json
from dataclasses import field
from functools import cache
from importlib import resources
from typing import Final

from simulator.records import record

__all__ = ["Dialect", "TokenTable", "token_table"]

PRIMARY_FIRST: Final = 3
"""Primary indices 0-2 are placeholders (null, stream start, stream end), never tokens."""


class Dialect(enum.Enum):
    """A wire dialect: its dictionary and which string forms its clients understand."""

    V15 = "1.5"
    """``WA 1 5``: yowsup 2.0.53 / 2.4.102, Chat-API 2015. Never packed-hex (``FB``)."""
    V16 = "1.6"
    """``WA 1 6``: yowsup 2.5.x, Chat-API 2016. Packed strings, two-byte secondary escape."""

    @property
    def preamble(self) -> bytes:
        """The four bytes a client of this dialect opens the connection with."""
        return b"WA\x01\x05" if self is Dialect.V15 else b"WA\x01\x06"

    @classmethod
    def from_preamble(cls, preamble: bytes) -> Dialect | None:
        """The dialect a 4-byte preamble announces, or ``None`` for anything else."""
        for dialect in cls:
            if dialect.preamble == preamble:
                return dialect
        return None


@record
class TokenTable:
    """One dictionary: ``primary[i]`` is the byte ``i``; ``secondary[i]`` is ``EC i``
    (or, 1.6 only, ``ED i-256``)."""

    primary: tuple[str, ...]
    secondary: tuple[str, ...]
    primary_index: dict[str, int] = field(repr=False)
    secondary_index: dict[str, int] = field(repr=False)


_FILES: Final = {Dialect.V15: "tokens-2.0.53.json", Dialect.V16: "tokens-2.5.7.json"}


@cache
def token_table(dialect: Dialect) -> TokenTable:
    """The token dictionary of a dialect (loaded once from the package data)."""
    raw = resources.files("simulator.wire").joinpath("data", _FILES[dialect]).read_text("utf-8")
    doc = json.loads(raw)
    primary = tuple(doc["primary"])
    secondary = tuple(doc["secondary"])
    # The reverse maps are built from the real entries only (§5): the "" placeholders at
    # primary 0..2 must never be used to encode the empty string.
    primary_index = {s: i for i, s in enumerate(primary) if i >= PRIMARY_FIRST}
    secondary_index = {s: i for i, s in enumerate(secondary) if s}
    return TokenTable(primary, secondary, primary_index, secondary_index)
