"""Strict parsing of what peers send: numbers, sizes, ids, JIDs. One place, one error.

Every value a flow reads from a stanza (or an HTTP request) and turns into a number or
trusts as an id goes through these helpers, never through ``str.isdigit()`` and
``int()`` ad hoc: ``"²".isdigit()`` is true and ``int("²")`` raises, ``"٣"`` and
``"１"`` are digits to Python but not to the protocol, and ``int()`` of a 5,000-digit
string raises too. Here a number is ASCII digits only, of bounded length, in a range.

Whatever does not parse raises :class:`BadValue`, a :class:`~simulator.errors.StanzaError`
``400 bad-request`` (PROTOCOL.md §4.2), so the router answers the peer with the protocol's
own error; ``detail`` says exactly what was wrong, for logs and tests.
"""

from __future__ import annotations

import re
from typing import Final

from simulator.errors import StanzaError
from simulator.jid import USER_SERVER

__all__ = [
    "MAX_ID_LENGTH",
    "BadValue",
    "int_or",
    "parse_id",
    "parse_int",
    "parse_size",
    "parse_user_jid",
    "parse_version",
]

MAX_ID_LENGTH: Final = 128
"""Longest stanza id accepted (real clients use at most ~30 characters, §3.0)."""

_MAX_DIGITS: Final = 19
"""More digits than any count, size or timestamp of the protocol needs (< 2**63)."""

_DIGITS: Final = re.compile(rf"[0-9]{{1,{_MAX_DIGITS}}}")
_SIGNED: Final = re.compile(rf"-?[0-9]{{1,{_MAX_DIGITS}}}")
_PHONE: Final = re.compile(r"[0-9]{5,20}")
_VERSION: Final = re.compile(r"[0-9]{1,6}(?:\.[0-9]{1,6}){0,5}")


class BadValue(StanzaError):
    """A value from a peer does not parse: ``400 bad-request`` on the wire."""

    def __init__(self, detail: str) -> None:
        super().__init__(400, "bad-request")
        self.detail = detail

    def __str__(self) -> str:
        return f"400 bad-request: {self.detail}"


def parse_int(
    text: str | None,
    name: str,
    *,
    minimum: int = 0,
    maximum: int = 2**63 - 1,
    default: int | None = None,
) -> int:
    """A decimal integer of ASCII digits (a leading ``-`` only if ``minimum < 0``) in
    ``[minimum, maximum]``; ``default`` when the value is absent (``None``)."""
    if text is None:
        if default is None:
            raise BadValue(f"{name} is missing")
        return default
    pattern = _SIGNED if minimum < 0 else _DIGITS
    if pattern.fullmatch(text) is None:
        raise BadValue(f"{name}={_show(text)} is not a decimal number")
    value = int(text)
    if not minimum <= value <= maximum:
        raise BadValue(f"{name}={_show(text)} is out of range {minimum}..{maximum}")
    return value


def parse_size(text: str | None, name: str, *, maximum: int) -> int:
    """A byte count: ASCII digits, at most ``maximum``."""
    return parse_int(text, name, minimum=0, maximum=maximum)


def parse_id(text: str | None, name: str = "id", *, max_length: int = MAX_ID_LENGTH) -> str:
    """A non-empty id of at most ``max_length`` printable characters."""
    if not text:
        raise BadValue(f"{name} is missing")
    if len(text) > max_length:
        raise BadValue(f"{name} is longer than {max_length} characters")
    if not text.isprintable():
        raise BadValue(f"{name}={_show(text)} has control characters")
    return text


def parse_user_jid(text: str | None, name: str = "jid") -> str:
    """A user JID (``<5-20 ASCII digits>@s.whatsapp.net``) or a bare phone number."""
    if not text:
        raise BadValue(f"{name} is missing")
    phone, at, server = text.partition("@")
    if _PHONE.fullmatch(phone) is None or (at and server != USER_SERVER):
        raise BadValue(f"{name}={_show(text)} is not a user JID")
    return f"{phone}@{USER_SERVER}"


def int_or(text: str | None, default: int) -> int:
    """A number the server itself keeps (a config prop, a stored id): ASCII digits, or
    ``default`` when it is missing or not a number. Never raises."""
    if text is None or _DIGITS.fullmatch(text) is None:
        return default
    return int(text)


def parse_version(text: str) -> tuple[int, ...] | None:
    """``2.12.53`` -> ``(2, 12, 53)``: ASCII digits, at most six parts; ``None`` if not."""
    if _VERSION.fullmatch(text) is None:
        return None
    return tuple(int(part) for part in text.split("."))


def _show(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")
