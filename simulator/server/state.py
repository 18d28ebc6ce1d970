"""Everything the fake service remembers: plain data and sync methods, no I/O, no clock.

The flows change it; the session layer reads it to route stanzas. Nothing here awaits,
sends or reads the time: callers pass ``now`` in. That keeps every rule testable without
trio and the whole state inspectable from tests and scenarios.

Pending stanzas (PROTOCOL.md §4.4): every message, receipt and notification addressed
to a user is recorded in that user's :class:`Mailbox` until the user acknowledges it,
whether or not it could be delivered live. A login replays the mailbox in order.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Literal, final

from simulator.jid import phone_of, user_jid

if TYPE_CHECKING:
    from simulator.wire.node import Node

__all__ = [
    "PRIVACY_CATEGORIES",
    "PRIVACY_VALUES",
    "Account",
    "BroadcastList",
    "EncryptionKeys",
    "Group",
    "Mailbox",
    "MediaFile",
    "PendingKind",
    "Picture",
    "State",
    "Status",
]

PendingKind = Literal["message", "receipt", "notification"]

DEFAULT_PUSH_NAME: Final = ""
YEAR: Final = 365 * 86_400
"""One account term (a free account's year), in seconds."""


def default_password(phone: str) -> str:
    """The password an account gets when nobody gave one: derived from the phone, so every
    run logs in the same way (worlds, ``simulator serve --account PHONE``)."""
    return base64.b64encode(hashlib.sha1(b"simulator:" + phone.encode()).digest()).decode()


def decode_password(password: str | bytes) -> bytes:
    """The raw password bytes from the base64 text users see (or raw bytes as they are)."""
    if isinstance(password, bytes):
        return password
    try:
        return base64.b64decode(password, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"password {password!r} is not valid base64") from exc


@dataclass(slots=True)
class Account:
    """One registered phone number."""

    phone: str
    password: bytes
    push_name: str = DEFAULT_PUSH_NAME
    kind: str = "free"
    status: str = "active"
    creation: int = 1_400_000_000
    paid_until: int | None = None
    """The end of a paid term (``notify_payment``); ``None`` for a free account, whose term
    renews every year on the anniversary of ``creation`` (see :meth:`expiration_at`)."""
    next_nonce: bytes | None = None
    """The nonce sent in the last ``success``: a fast re-login may use it (§2.8)."""
    identity: str | None = None
    """The device identity given at registration (§4.8)."""
    online: bool = False
    last_seen: int | None = None
    push_config: dict[str, str] = field(default_factory=dict)
    dirty: dict[str, int] = field(default_factory=dict)
    """Dirty categories (``groups``...) -> when they were marked; cleared by ``clean`` (§3.8)."""
    recovery_token: bytes | None = None
    """The token set with ``<pin xmlns="w:ch:p">`` (§3.8)."""

    @property
    def jid(self) -> str:
        return user_jid(self.phone)

    def expiration_at(self, now: int) -> int:
        """When the account's current term ends, as ``success``, ``<account>`` and the
        registration answers carry it: the paid term if one runs, else the first
        anniversary of ``creation`` after ``now`` (a free account's yearly term). Always
        later than ``now``, so a client never sees an account expired at login."""
        if self.paid_until is not None and self.paid_until > now:
            return self.paid_until
        if now < self.creation:
            return self.creation + YEAR
        years = (now - self.creation) // YEAR + 1
        return self.creation + years * YEAR

    @property
    def password_b64(self) -> str:
        return base64.b64encode(self.password).decode("ascii")


PendingKey = tuple[PendingKind, str, str]
"""(kind, stanza id, peer): peer is the ``from`` of the stored stanza (plus participant)."""


@final
class Mailbox:
    """The stanzas a user has not acknowledged yet, in the order they were addressed.

    Lookups by key and by (kind, id) are O(1), so a mailbox of ten thousand entries costs
    no more per stanza than an empty one.
    """

    __slots__ = ("_by_id", "_entries")

    def __init__(self) -> None:
        self._entries: dict[PendingKey, Node] = {}
        self._by_id: dict[tuple[PendingKind, str], list[PendingKey]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[tuple[PendingKey, Node]]:
        return iter(list(self._entries.items()))

    def add(self, key: PendingKey, stanza: Node) -> None:
        if key in self._entries:
            # Re-sent with the same id (a client retry): keep its place, refresh content.
            self._entries[key] = stanza
            return
        self._entries[key] = stanza
        self._by_id.setdefault((key[0], key[1]), []).append(key)

    def remove(self, key: PendingKey) -> bool:
        if self._entries.pop(key, None) is None:
            return False
        keys = self._by_id[(key[0], key[1])]
        keys.remove(key)
        if not keys:
            del self._by_id[(key[0], key[1])]
        return True

    def remove_by_id(self, kind: PendingKind, stanza_id: str, peer: str | None = None) -> bool:
        """Remove the oldest entry of this kind and id (with this peer, when it matches one).

        Clients acknowledge by (class, id) and not always with ``to`` (§3.11), so the peer
        is a preference, not a requirement.
        """
        keys = self._by_id.get((kind, stanza_id))
        if not keys:
            return False
        chosen = keys[0]
        if peer is not None:
            for key in keys:
                if key[2] == peer or key[2].startswith((peer + "/", peer + "#")):
                    chosen = key
                    break
        return self.remove(chosen)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def drop_oldest(self) -> PendingKey | None:
        """Forget the oldest entry (a full mailbox making room); returns its key."""
        if not self._entries:
            return None
        key = next(iter(self._entries))
        self.remove(key)
        return key

    def clear(self) -> None:
        self._entries.clear()
        self._by_id.clear()


@dataclass(slots=True)
class Group:
    """A group chat (groups v2, §3.5)."""

    jid: str
    subject: str
    creator: str
    creation: int
    subject_owner: str
    subject_time: int
    participants: dict[str, str | None] = field(default_factory=dict)
    """Member JID -> role (``"admin"`` or ``None``), in the order they joined."""

    @property
    def admins(self) -> list[str]:
        return [jid for jid, role in self.participants.items() if role == "admin"]

    @property
    def id(self) -> str:
        """The bare id ``<creator>-<creation>``, as GROUP payloads carry it (§3.5)."""
        return phone_of(self.jid)

    def is_admin(self, jid: str) -> bool:
        return self.participants.get(jid) == "admin"


@dataclass(slots=True)
class BroadcastList:
    """A broadcast list remembered from the messages sent to it (§3.6)."""

    id: str
    """The list JID, ``<digits>@broadcast``."""
    name: str
    recipients: list[str]


@dataclass(slots=True)
class Picture:
    """A profile or group picture (§3.2): both blobs and the id (upload time)."""

    id: str
    image: bytes
    preview: bytes


@dataclass(slots=True)
class Status:
    """A status message (§3.3): raw bytes as sent, and when it was set."""

    text: bytes
    t: int
    request_id: str = ""
    """The id of the iq that set it: yowsup 2.5.7 sends every status iq twice (§3.3)."""


@dataclass(slots=True)
class MediaFile:
    """An uploaded file kept by the media endpoint (§3.9, §4.7)."""

    hash: str
    """Base64 SHA-256, as the ``w:m`` iq and the media message carry it."""
    size: int
    mimetype: str
    type: str
    name: str
    url: str
    data: bytes
    width: int | None = None
    height: int | None = None


# ---- encryption keys


@dataclass(slots=True)
class EncryptionKeys:
    """The public key material one user uploaded (§3.12); the service never decrypts.

    Byte strings are kept exactly as uploaded and handed out the same way.
    """

    identity: bytes
    registration: bytes
    type: bytes
    signed_prekey: tuple[bytes, bytes, bytes]
    """The signed pre-key as uploaded: (id, public key, signature)."""
    prekeys: dict[int, tuple[bytes, bytes]] = field(default_factory=dict)
    """One-time pre-keys, id (big-endian) -> (id bytes, public key), oldest upload first."""
    low_notified: bool = False
    """The owner was told its stock is low, and no upload has refilled it since."""

    def add_prekeys(self, prekeys: list[tuple[bytes, bytes]]) -> None:
        """Add one-time pre-keys; an id already in stock gets the new key."""
        for key_id, value in prekeys:
            self.prekeys[int.from_bytes(key_id, "big")] = (key_id, value)

    def take_prekey(self) -> tuple[bytes, bytes] | None:
        """Remove and return the oldest one-time pre-key, or ``None`` if none is left."""
        if not self.prekeys:
            return None
        return self.prekeys.pop(next(iter(self.prekeys)))


PRIVACY_CATEGORIES: Final = ("last", "status", "profile")
PRIVACY_VALUES: Final = ("all", "contacts", "none")


@final
class State:
    """The whole world of the fake service."""

    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}
        self.mailboxes: dict[str, Mailbox] = {}
        # target jid -> subscriber jids; subscriptions live as long as the subscriber's
        # session (§3.14: clients re-subscribe after each login).
        self.watchers: dict[str, set[str]] = {}
        self.watching: dict[str, set[str]] = {}
        self.groups: dict[str, Group] = {}
        # (group jid, message id) -> its authors, so group receipts without a participant
        # (yowsup 2.0.53) still reach the author (§3.11). Ids are unique per sender only:
        # two members may send the same id (yowsup ids are the second plus a counter).
        self.group_message_authors: dict[tuple[str, str], set[str]] = {}
        # user -> the numbers in its synced address book (digits), in sync order (§3.7)
        self.contacts: dict[str, list[str]] = {}
        # user -> the JIDs it blocked (the complete list, as last set, §3.4)
        self.blocked: dict[str, list[str]] = {}
        # user -> category (last/status/profile) -> all/contacts/none (§3.4)
        self.privacy: dict[str, dict[str, str]] = {}
        # user or group JID -> its picture (§3.2)
        self.pictures: dict[str, Picture] = {}
        # user -> status (§3.3)
        self.statuses: dict[str, Status] = {}
        # owner -> list JID -> list (§3.6)
        self.broadcast_lists: dict[str, dict[str, BroadcastList]] = {}
        # base64 SHA-256 -> file (§3.9)
        self.media: dict[str, MediaFile] = {}
        # user -> the public keys it uploaded for end-to-end encryption (§3.12)
        self.encryption_keys: dict[str, EncryptionKeys] = {}
        # (requester, owner) -> when the requester took one of the owner's one-time keys
        self.key_fetches: dict[tuple[str, str], list[int]] = {}

    # ---------------------------------------------------------------- accounts

    def add_account(
        self,
        phone: str,
        password: str | bytes,
        *,
        push_name: str = DEFAULT_PUSH_NAME,
        **extra: object,
    ) -> Account:
        """Register a phone number. ``password`` is base64 text (as users see it) or raw bytes."""
        if not phone.isdigit():
            raise ValueError(f"phone number {phone!r} must be digits only (country code first)")
        account = Account(phone, decode_password(password), push_name)
        for key, value in extra.items():
            setattr(account, key, value)
        self.accounts[account.jid] = account
        return account

    def account(self, jid_or_phone: str) -> Account | None:
        return self.accounts.get(user_jid(jid_or_phone))

    def remove_account(self, jid: str) -> Account | None:
        self.mailboxes.pop(jid, None)
        self.encryption_keys.pop(jid, None)
        self.forget_key_fetches(jid)
        self.unsubscribe_all(jid)
        return self.accounts.pop(jid, None)

    def key_fetch_times(self, requester: str, owner: str) -> list[int]:
        """When ``requester`` took ``owner``'s one-time pre-keys (a list to change in place)."""
        return self.key_fetches.setdefault((requester, owner), [])

    def forget_key_fetches(self, owner: str) -> None:
        """``owner`` re-installed: its old fetches count no more."""
        for key in [k for k in self.key_fetches if k[1] == owner]:
            del self.key_fetches[key]

    # ---------------------------------------------------------------- pending stanzas

    def mailbox(self, jid: str) -> Mailbox:
        box = self.mailboxes.get(jid)
        if box is None:
            box = self.mailboxes[jid] = Mailbox()
        return box

    # ---------------------------------------------------------------- groups

    def group_members(self, gjid: str) -> list[str]:
        group = self.groups.get(gjid)
        return list(group.participants) if group is not None else []

    def groups_of(self, jid: str, *, admin: bool = False) -> list[Group]:
        """The groups ``jid`` is in (only those it administers, with ``admin``), oldest first."""
        return [
            g for g in self.groups.values() if (g.is_admin(jid) if admin else jid in g.participants)
        ]

    # ---------------------------------------------------------------- contacts and privacy

    def has_synced(self, owner: str, other: str) -> bool:
        """Whether ``other``'s number is in ``owner``'s synced address book."""
        return phone_of(other) in self.contacts.get(owner, ())

    def synced_by(self, jid: str) -> list[str]:
        """Every user who has ``jid``'s number in their address book, in a stable order."""
        number = phone_of(jid)
        return sorted(owner for owner, numbers in self.contacts.items() if number in numbers)

    def blocks(self, blocker: str, other: str) -> bool:
        """Whether ``blocker`` has blocked ``other`` (§3.4)."""
        return other in self.blocked.get(blocker, ())

    def privacy_setting(self, jid: str, category: str) -> str:
        return self.privacy.get(jid, {}).get(category, "all")

    def can_see(self, owner: str, viewer: str, category: str) -> bool:
        """Whether ``owner``'s ``last``/``status``/``profile`` is visible to ``viewer``.

        Blocking hides everything; ``contacts`` means the numbers ``owner`` synced
        (§3.4, §4.6).
        """
        if owner == viewer:
            return True
        if self.blocks(owner, viewer):
            return False
        setting = self.privacy_setting(owner, category)
        if setting == "all":
            return True
        if setting == "contacts":
            return self.has_synced(owner, viewer)
        return False

    # ---------------------------------------------------------------- presence

    def subscribe(self, subscriber: str, target: str) -> None:
        self.watchers.setdefault(target, set()).add(subscriber)
        self.watching.setdefault(subscriber, set()).add(target)

    def unsubscribe(self, subscriber: str, target: str) -> None:
        self.watchers.get(target, set()).discard(subscriber)
        self.watching.get(subscriber, set()).discard(target)

    def unsubscribe_all(self, subscriber: str) -> None:
        for target in self.watching.pop(subscriber, set()):
            self.watchers.get(target, set()).discard(subscriber)

    def subscribers(self, target: str) -> list[str]:
        """Who watches ``target``, in a stable order (transcripts must not depend on hashing)."""
        return sorted(self.watchers.get(target, ()))

    def set_online(self, jid: str, online: bool, now: int) -> None:
        account = self.accounts.get(jid)
        if account is None:
            return
        if account.online and not online:
            account.last_seen = now
        account.online = online
