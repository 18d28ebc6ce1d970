"""JIDs as the service spells them (PROTOCOL.md §0).

User ``<digits>@s.whatsapp.net``, group ``<creator>-<creation>@g.us``, broadcast list
``<id>@broadcast``, the server ``s.whatsapp.net`` and the group service ``g.us``.
"""

from __future__ import annotations

import functools
import re
from typing import Final

__all__ = [
    "GROUP_SERVER",
    "SERVER",
    "USER_SERVER",
    "is_broadcast",
    "is_group",
    "is_jid",
    "normalize_number",
    "phone_of",
    "user_jid",
]

SERVER: Final = "s.whatsapp.net"
USER_SERVER: Final = "s.whatsapp.net"
GROUP_SERVER: Final = "g.us"
BROADCAST_SERVER: Final = "broadcast"

_JID: Final = re.compile(
    r"[0-9]+@s\.whatsapp\.net"  # a user
    r"|[0-9]+-[0-9]+@g\.us"  # a group
    r"|[0-9A-Za-z]+@broadcast"  # a broadcast list (or status@broadcast)
    r"|s\.whatsapp\.net|g\.us|c\.us|broadcast"  # the services
)
_NUMBER_NOISE = re.compile(r"[\s+\-().]")
_WELL_FORMED = re.compile(r"[0-9]{5,15}")


def user_jid(phone_or_jid: str) -> str:
    """``491234567890`` or ``491234567890@s.whatsapp.net`` -> the user JID."""
    if "@" in phone_or_jid:
        return phone_or_jid
    return f"{phone_or_jid}@{USER_SERVER}"


def group_jid(group_id: str) -> str:
    """A bare group id (``<creator>-<creation>``) or a group JID -> the group JID."""
    if "@" in group_id:
        return group_id
    return f"{group_id}@{GROUP_SERVER}"


def phone_of(jid: str) -> str:
    """The part before ``@`` (the phone number of a user JID)."""
    return jid.split("@", 1)[0]


_AT_GROUP_SERVER: Final = "@" + GROUP_SERVER


def is_group(jid: str) -> bool:
    """Clients treat a JID as a group iff it contains ``-`` (§0) or ends in ``@g.us``."""
    if jid.endswith(_AT_GROUP_SERVER):
        return True
    at = jid.find("@")  # asked for every message and receipt: no split, no slice
    return at >= 0 and jid.find("-", 0, at) >= 0


def is_broadcast(jid: str) -> bool:
    return jid == "broadcast" or jid.endswith("@" + BROADCAST_SERVER)


@functools.lru_cache(maxsize=4096)  # asked for every addressed stanza; few distinct JIDs
def is_jid(text: str) -> bool:
    """Whether ``text`` is an address the service knows how to route to (§0): a user,
    group or broadcast-list JID, or one of the services (``s.whatsapp.net``, ``g.us``, the
    ``c.us`` of a change of number, ``broadcast``). A file path, a bare number, a name
    or an empty string is not."""
    return _JID.fullmatch(text) is not None


def normalize_number(raw: str) -> str | None:
    """Digits of a phone number as typed (``+34 123-456 789``), or ``None`` if malformed.

    PROTOCOL.md §3.7: drop ``+``, spaces, ``-``, ``(``, ``)``; a well-formed number has
    5 to 15 digits.
    """
    digits = _NUMBER_NOISE.sub("", raw)
    return digits if _WELL_FORMED.fullmatch(digits) else None
