"""The recorder's half of the step classes: what a step's ``record`` is given.

``simulator serve --record`` turns what users sent and received into steps. Each step
class that can be recorded has a ``record`` classmethod (the inverse of its ``plan``):
given a stanza and a :class:`Recorder`, it returns its typed spec, or ``None`` when the
stanza is not exactly what the step sends (the recorder then tries another step, and
``raw`` or a ``node`` pattern in the end). The recorder (``record_writer.py``) decides
which stanzas become steps, keeps time and names the values a replay cannot repeat;
the steps decide what their fields are.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final, Literal, Protocol

from simulator.scenario.match import Literal as LiteralValue
from simulator.scenario.match import PatternError, compile_value

if TYPE_CHECKING:
    from simulator.wire.node import Node

__all__ = ["Direction", "Recorder", "literal", "printable"]

Direction = Literal["in", "out"]
"""``in``: a party sent the stanza to the server; ``out``: the server sent it to the party."""

_REGEX_SPECIAL: Final = re.compile(r"[.^$*+?{}\[\]\\|()]")


class Recorder(Protocol):
    """How the file being written names JIDs, ids and whole stanzas (it binds captures as
    it goes: the first step that meets a value the replay cannot repeat binds it)."""

    def peer(self, jid: str) -> str:
        """A destination in a typed step: ``bot``, a user's label, a capture or the JID."""
        ...

    def jid_pattern(self, jid: str) -> str:
        """A JID in a typed expectation: ``bot``, a label, a capture or the JID."""
        ...

    def received_id(self, node: Node, jid: str) -> str | None:
        """The id of ``node`` (received by ``jid``) in a pattern: its capture, bound here
        if new; None if it has no id."""
        ...

    def message_id(self, value: str, jid: str) -> str:
        """The id of a message ``jid`` sends in a ``send`` step: a new capture."""
        ...

    def sent_id(self, value: str, owner: str) -> str:
        """An id (chosen by ``owner``) in a stanza a user sends: its capture if bound, else
        the literal."""
        ...

    def template(self, node: Node, jid: str, *, drop_id: bool = False) -> str:
        """``node`` as user ``jid`` sends it, with the captures bound so far put back in."""
        ...

    def pattern(self, node: Node, direction: Direction, jid: str, *, drop_id: bool = False) -> str:
        """``node`` as a pattern: captures for what the replay cannot repeat, noise left out."""
        ...

    def sendable(self, text: str, what: str) -> str:
        """``text``, which a step sends as it is (a warning if it reads as a template)."""
        ...

    def push_name(self, jid: str) -> str:
        """The account's name as the world has it."""
        ...


def printable(data: bytes | None) -> str | None:
    """``data`` as text, if it is printable UTF-8."""
    if data is None:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if all(ch.isprintable() or ch in "\n\t\r" for ch in text) else None


def literal(text: str) -> str:
    """``text`` as a pattern value matching exactly it (a regex if it would read as one, or
    as a template)."""
    try:
        compiled = compile_value(text)
    except PatternError:
        compiled = None
    if isinstance(compiled, LiteralValue) and compiled.text == text:
        return text
    return "/^" + _REGEX_SPECIAL.sub(r"\\\g<0>", text) + r"\Z/"
