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
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import field
from typing import TYPE_CHECKING, Final, Literal, TypeVar, final

from simulator.jid import phone_of, user_jid
from simulator.records import record
from simulator.server.parse import parse_version

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
    "PendingCode",
    "PendingKind",
    "Picture",
    "Registrar",
    "State",
    "Status",
    "UploadSlot",
]

T = TypeVar("T")

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


@record(frozen=False)
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
        self._by_id: dict[str, list[PendingKey]] = {}
        """Stanza id -> the keys kept with that id, oldest first, of every kind (by the id
        alone: a string keeps its hash, a ``(kind, id)`` pair would be made and hashed
        again for every stanza kept and every acknowledgement)."""

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[tuple[PendingKey, Node]]:
        return iter(list(self._entries.items()))

    def add(self, key: PendingKey, stanza: Node) -> None:
        self.keep(key, stanza, None)

    def keep(self, key: PendingKey, stanza: Node, limit: int | None) -> PendingKey | None:
        """Add ``stanza`` under ``key``; a mailbox holding ``limit`` entries first forgets
        its oldest (returned). A key already kept (a client retry, re-sent with the same
        id) keeps its place and gets the new content."""
        entries = self._entries
        size = len(entries)
        entries[key] = stanza  # a key already kept keeps its place in the dict
        if len(entries) == size:
            return None
        dropped = None
        if limit is not None and size >= limit and size:
            dropped = self.drop_oldest()  # the oldest before this one (size > 0)
        keys = self._by_id.get(key[1])
        if keys is None:
            self._by_id[key[1]] = [key]
        else:
            keys.append(key)
        return dropped

    def remove(self, key: PendingKey) -> bool:
        if self._entries.pop(key, None) is None:
            return False
        keys = self._by_id[key[1]]
        keys.remove(key)
        if not keys:
            del self._by_id[key[1]]
        return True

    def remove_by_id(self, kind: PendingKind, stanza_id: str, peer: str | None = None) -> bool:
        """Remove the oldest entry of this kind and id (with this peer, when it matches one:
        the peer itself, or the peer with a participant or a type, ``peer/...``,
        ``peer#...``).

        Clients acknowledge by (class, id) and not always with ``to`` (§3.11), so the peer
        is a preference, not a requirement.
        """
        keys = self._by_id.get(stanza_id)
        if keys is None:
            return False
        first = keys[0]
        if first[0] == kind and (peer is None or _is_peer(first[2], peer)):
            index = 0  # the oldest is the common answer
        else:
            index = _pick(keys, kind, peer)
            if index < 0:
                return False
        del self._entries[keys[index]]
        if len(keys) == 1:
            del self._by_id[stanza_id]
        else:
            del keys[index]
        return True

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


def _is_peer(kept: str, peer: str) -> bool:
    """Whether a kept stanza's peer (``from[/participant][#type]``) is ``peer``'s."""
    return kept.startswith(peer) and (len(kept) == len(peer) or kept[len(peer)] in "/#")


def _pick(keys: list[PendingKey], kind: PendingKind, peer: str | None) -> int:
    """Which of ``keys`` (one id's, oldest first) an acknowledgement of ``kind`` from
    ``peer`` removes: the oldest of that kind with that peer, else the oldest of that
    kind; -1 if none is of that kind."""
    oldest = -1
    for at, key in enumerate(keys):
        if key[0] != kind:
            continue
        if peer is None or _is_peer(key[2], peer):
            return at
        if oldest < 0:
            oldest = at
    return oldest


@record(frozen=False)
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


@record(frozen=False)
class BroadcastList:
    """A broadcast list remembered from the messages sent to it (§3.6)."""

    id: str
    """The list JID, ``<digits>@broadcast``."""
    name: str
    recipients: list[str]


@record(frozen=False)
class Picture:
    """A profile or group picture (§3.2): both blobs and the id (upload time)."""

    id: str
    image: bytes
    preview: bytes


@record(frozen=False)
class Status:
    """A status message (§3.3): raw bytes as sent, and when it was set."""

    text: bytes
    t: int
    request_id: str = ""
    """The id of the iq that set it: yowsup 2.5.7 sends every status iq twice (§3.3)."""


@record(frozen=False)
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


@record
class UploadSlot:
    """An upload the ``w:m`` iq allowed: who, what type, and the announced hash and size."""

    token: str
    owner: str
    type: str
    hash: str
    size: int


# ---- registration (§4.8)


@record(frozen=False)
class PendingCode:
    """A verification code that went out by "SMS" and waits for ``/v2/register``."""

    code: str
    identity: str
    method: str
    sent_at: int


_UA_VERSION: Final = re.compile(r"WhatsApp/([0-9]+(?:\.[0-9]+)*)")
_DAY: Final = 86_400


@record(frozen=False)
class Registrar:
    """Registration bookkeeping, and the knobs that decide each failure.

    The rules that read it are in :mod:`simulator.server.flows.account`; what changes it
    are the methods below (named after what happens), so it changes in one place.
    """

    retry_after: int = 65
    """Seconds before the same number may get another code (the docs' ``retry_after``)."""
    code_lifetime: int = 3600
    """Seconds a code stays valid; after that ``/v2/register`` answers ``stale``."""
    max_guesses: int = 5
    """Wrong codes before the number is locked (``too_many_guesses``)."""
    guess_lockout: int = 3600
    """Seconds the lock lasts."""
    codes_per_day: int = 10
    """Codes one number may get in 24 hours before ``too_many``."""
    min_version: tuple[int, ...] | None = None
    """Client builds older than this (``User-Agent: WhatsApp/2.12.53 ...``) get ``old_version``."""
    blocked: set[str] = field(default_factory=set)
    """Numbers (digits) the service has banned: ``blocked`` everywhere."""
    no_routes: set[str] = field(default_factory=set)
    """Country codes without an SMS route: ``no_routes``."""
    pending: dict[str, PendingCode] = field(default_factory=dict)
    sent: dict[str, list[int]] = field(default_factory=dict)
    """Number -> when codes went out (the last 24 hours)."""
    wrong: dict[str, int] = field(default_factory=dict)
    locked_until: dict[str, int] = field(default_factory=dict)

    def code_for(self, phone: str) -> str | None:
        """The code last "sent" to ``phone`` (what the SMS said), or ``None``."""
        pending = self.pending.get(phone)
        return pending.code if pending is not None else None

    def too_old(self, user_agent: str) -> bool:
        if self.min_version is None:
            return False
        match = _UA_VERSION.search(user_agent)
        version = parse_version(match.group(1)) if match is not None else None
        return version is None or version < self.min_version

    def lock_left(self, phone: str, now: int) -> int:
        return max(0, self.locked_until.get(phone, 0) - now)

    def codes_sent_today(self, phone: str, now: int) -> list[int]:
        """When codes went to ``phone`` in the last 24 hours (older ones are forgotten)."""
        sent = [t for t in self.sent.get(phone, ()) if now - t < _DAY]
        self.sent[phone] = sent
        return list(sent)

    def send_code(self, phone: str, code: str, identity: str, method: str, now: int) -> None:
        """A new code went out: it replaces any older one."""
        self.pending[phone] = PendingCode(code, identity, method, now)
        self.sent.setdefault(phone, []).append(now)

    def expire_code(self, phone: str) -> None:
        """The pending code is too old: it is forgotten."""
        del self.pending[phone]

    def wrong_guess(self, phone: str, now: int) -> bool:
        """A wrong code was tried; True when that locked the number (and dropped the code)."""
        self.wrong[phone] = self.wrong.get(phone, 0) + 1
        if self.wrong[phone] < self.max_guesses:
            return False
        self.wrong.pop(phone)
        self.pending.pop(phone)
        self.locked_until[phone] = now + self.guess_lockout
        return True

    def accept_code(self, phone: str) -> None:
        """The right code arrived: it is used up, wrong guesses are forgiven."""
        del self.pending[phone]
        self.wrong.pop(phone, None)


# ---- encryption keys


@record(frozen=False)
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
        # registration bookkeeping and knobs (§4.8)
        self.registrar = Registrar()
        # upload token -> the slot a ``w:m`` iq handed out (§3.9)
        self.uploads: dict[str, UploadSlot] = {}
        # download path -> media hash (an index over ``media``, §4.7)
        self.media_paths: dict[str, str] = {}
        # (user, iq id) of each server-originated iq (a ping, §3.1) -> its answer, None
        # until it came
        self.server_iqs: dict[tuple[str, str], Node | None] = {}

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

    def key_fetches_since(self, requester: str, owner: str, since: int) -> list[int]:
        """When ``requester`` took ``owner``'s one-time pre-keys after ``since`` (older
        fetches are forgotten: they no longer count against any limit)."""
        times = self.key_fetches.setdefault((requester, owner), [])
        times[:] = [t for t in times if t > since]
        return list(times)

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

    def is_member(self, gjid: str, jid: str) -> bool:
        """Whether ``jid`` is a participant of group ``gjid`` (no copy of the member list:
        asked for every group receipt)."""
        group = self.groups.get(gjid)
        return group is not None and jid in group.participants

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

    def blocked_between(self, one: str, other: str) -> bool:
        """Whether either of the two has blocked the other (§3.4)."""
        blocked = self.blocked
        return other in blocked.get(one, ()) or one in blocked.get(other, ())

    def not_blocking(self, jids: Iterable[str], other: str) -> list[str]:
        """``jids`` without ``other`` and without those who blocked ``other`` (§3.4), in
        order: who of a group gets what ``other`` sends to it."""
        blocked = self.blocked
        if not blocked:
            return [jid for jid in jids if jid != other]
        return [jid for jid in jids if jid != other and other not in blocked.get(jid, ())]

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

    # ================================================================ changes
    #
    # Every change of the world goes through one of the methods below, each named after
    # what happens; flows never assign into the containers above (a test checks it). A
    # journal, persistence or fault injection hooks in here, once.

    # ---------------------------------------------------------------- a state file

    def load(
        self,
        tables: Mapping[str, Mapping[object, object]],
        mailboxes: Mapping[str, Iterable[tuple[PendingKey, Node]]],
        registrar: Registrar,
    ) -> None:
        """A state file was read (``simulator.server.store``): its tables replace these
        (each named as the attribute it fills), and the mailboxes get their entries in
        order."""
        for name, table in tables.items():
            setattr(self, name, dict(table))
        for jid, entries in mailboxes.items():
            box = self.mailbox(jid)
            for key, stanza in entries:
                box.add(key, stanza)
        self.registrar = registrar

    # ---------------------------------------------------------------- accounts

    def issue_password(
        self, phone: str, password: bytes, identity: str, now: int
    ) -> tuple[Account, bool]:
        """Registration succeeded (§4.8): the account (created now if new, True then) gets
        a new password and the device identity."""
        account = self.account(phone)
        created = account is None
        if account is None:
            account = self.add_account(phone, password, creation=now)
        account.password = password
        account.identity = identity
        return account, created

    def set_next_nonce(self, jid: str, nonce: bytes) -> None:
        """The nonce a ``success`` carried: the next fast re-login may use it (§2.8)."""
        account = self.accounts.get(jid)
        if account is not None:
            account.next_nonce = nonce

    # A session may still be closing after its account was removed: the account setters
    # below then change nothing.

    def set_push_name(self, jid: str, name: str) -> None:
        if (account := self.accounts.get(jid)) is not None:
            account.push_name = name

    def set_push_config(self, jid: str, config: Mapping[str, str]) -> None:
        if (account := self.accounts.get(jid)) is not None:
            account.push_config = dict(config)

    def set_recovery_token(self, jid: str, token: bytes) -> None:
        if (account := self.accounts.get(jid)) is not None:
            account.recovery_token = token

    def mark_dirty(self, jid: str, category: str, now: int) -> None:
        if (account := self.accounts.get(jid)) is not None:
            account.dirty[category] = now

    def clean_dirty(self, jid: str, categories: Iterable[str]) -> None:
        if (account := self.accounts.get(jid)) is None:
            return
        for category in categories:
            account.dirty.pop(category, None)

    def set_account_status(self, jid: str, status: str) -> None:
        """The account's standing changed (``active``, ``expired``: §2.9)."""
        if (account := self.accounts.get(jid)) is not None:
            account.status = status

    def pay(self, jid: str, days: int, now: int) -> Account:
        """A payment: the account is paid and active for ``days`` more days from its
        current expiration (which is never earlier than now)."""
        account = self.accounts[jid]
        account.kind = "paid"
        account.status = "active"
        account.paid_until = account.expiration_at(now) + days * _DAY
        return account

    def take_over_terms(self, new: str, old: str) -> None:
        """``new`` gets ``old``'s kind, status, creation and paid term (number change)."""
        to, source = self.accounts.get(new), self.accounts[old]
        if to is None:
            return
        to.kind, to.status = source.kind, source.status
        to.creation, to.paid_until = source.creation, source.paid_until

    def move_account(self, old: str, new: str) -> list[Group]:
        """Give ``old``'s groups, address book, block list, settings, picture, status and
        broadcast lists to ``new`` (§3.8 number change); ``old`` itself stays until
        :meth:`remove_account`. Returns the groups ``old`` was in, in order."""
        moved: list[Group] = []
        for group in self.groups.values():
            if old not in group.participants:
                continue
            members: dict[str, str | None] = {}
            for jid, role in group.participants.items():
                jid = new if jid == old else jid
                members[jid] = members.get(jid) or role  # an admin stays an admin
            group.participants = members
            if group.creator == old:
                group.creator = new
            if group.subject_owner == old:
                group.subject_owner = new
            moved.append(group)
        self.contacts[new] = _merged(self.contacts.pop(old, []), self.contacts.get(new, []))
        self.blocked[new] = _merged(self.blocked.pop(old, []), self.blocked.get(new, []))
        for blocked in self.blocked.values():
            blocked[:] = _merged([], [new if jid == old else jid for jid in blocked])
        _move(self.privacy, old, new)
        _move(self.pictures, old, new)
        _move(self.statuses, old, new)
        _move(self.broadcast_lists, old, new)
        return moved

    # ---------------------------------------------------------------- pending stanzas

    def keep_pending(
        self, jid: str, key: PendingKey, stanza: Node, limit: int
    ) -> PendingKey | None:
        """Keep ``stanza`` in ``jid``'s mailbox until acked; a full mailbox forgets its
        oldest entry to make room (returned)."""
        box = self.mailboxes.get(jid)
        if box is None:
            box = self.mailbox(jid)
        return box.keep(key, stanza, limit)

    def acknowledge(
        self, jid: str, kind: PendingKind, stanza_id: str, peer: str | None = None
    ) -> bool:
        """``jid`` acknowledged a stanza: it is no longer pending (see :class:`Mailbox`)."""
        box = self.mailboxes.get(jid)
        return box is not None and box.remove_by_id(kind, stanza_id, peer=peer)

    # ---------------------------------------------------------------- groups

    def add_group(
        self, gjid: str, subject: str, creator: str, now: int, members: Mapping[str, str | None]
    ) -> Group:
        group = Group(gjid, subject, creator, now, creator, now, dict(members))
        self.groups[gjid] = group
        return group

    def set_subject(self, gjid: str, subject: str, owner: str, now: int) -> None:
        group = self.groups[gjid]
        group.subject, group.subject_owner, group.subject_time = subject, owner, now

    def add_participants(self, gjid: str, jids: Iterable[str]) -> None:
        self.groups[gjid].participants.update(dict.fromkeys(jids))

    def remove_participants(self, gjid: str, jids: Iterable[str]) -> None:
        participants = self.groups[gjid].participants
        for jid in jids:
            del participants[jid]

    def set_role(self, gjid: str, jids: Iterable[str], role: str | None) -> None:
        participants = self.groups[gjid].participants
        for jid in jids:
            participants[jid] = role

    def delete_group(self, gjid: str) -> None:
        """The last participant left: the group and its picture are gone."""
        del self.groups[gjid]
        self.pictures.pop(gjid, None)

    def record_group_message(self, gjid: str, msg_id: str, author: str) -> None:
        """``author`` sent ``msg_id`` to the group (ids are unique per sender only)."""
        self.group_message_authors.setdefault((gjid, msg_id), set()).add(author)

    # ---------------------------------------------------------------- contacts and privacy

    def set_address_book(self, jid: str, numbers: Iterable[str]) -> None:
        """``jid``'s synced address book is now ``numbers`` (digits, in sync order)."""
        self.contacts[jid] = list(numbers)

    def set_blocked(self, jid: str, blocked: Iterable[str]) -> None:
        """``jid``'s block list is now exactly ``blocked``, in order (§3.4)."""
        self.blocked[jid] = list(blocked)

    def set_privacy(self, jid: str, changes: Mapping[str, str]) -> None:
        self.privacy.setdefault(jid, {}).update(changes)

    # ---------------------------------------------------------------- profile

    def set_picture(self, target: str, picture: Picture) -> None:
        self.pictures[target] = picture

    def delete_picture(self, target: str) -> bool:
        """True if there was a picture to delete."""
        return self.pictures.pop(target, None) is not None

    def set_status(self, jid: str, status: Status) -> None:
        self.statuses[jid] = status

    # ---------------------------------------------------------------- broadcast lists

    def broadcast_lists_of(self, owner: str) -> Mapping[str, BroadcastList]:
        return self.broadcast_lists.get(owner, {})

    def remember_broadcast_list(
        self, owner: str, list_id: str, recipients: list[str], name: str = ""
    ) -> None:
        """Store ``owner``'s list ``list_id`` with these recipients (new or refreshed; a
        refreshed list keeps its name)."""
        lists = self.broadcast_lists.setdefault(owner, {})
        known = lists.get(list_id)
        if known is None:
            lists[list_id] = BroadcastList(list_id, name, list(recipients))
        else:
            known.recipients = list(recipients)

    def delete_broadcast_lists(self, owner: str, list_ids: Iterable[str]) -> None:
        lists = self.broadcast_lists.get(owner, {})
        for list_id in list_ids:
            lists.pop(list_id, None)

    # ---------------------------------------------------------------- encryption keys

    def upload_keys(
        self,
        jid: str,
        identity: bytes,
        registration: bytes,
        key_type: bytes,
        signed: tuple[bytes, bytes, bytes],
        prekeys: list[tuple[bytes, bytes]],
        *,
        low: int,
    ) -> None:
        """Store uploaded keys (§3.12): a new identity starts over (and its old fetches no
        longer count); a stock refilled to ``low`` or more may be reported low again."""
        keys = self.encryption_keys.get(jid)
        if keys is None or keys.identity != identity:
            keys = EncryptionKeys(identity, registration, key_type, signed)
            self.encryption_keys[jid] = keys
            self.forget_key_fetches(jid)
        else:
            keys.identity, keys.registration, keys.type = identity, registration, key_type
            keys.signed_prekey = signed
        keys.add_prekeys(prekeys)
        if len(keys.prekeys) >= low:
            keys.low_notified = False

    def take_prekey(self, requester: str, owner: str, now: int) -> tuple[bytes, bytes] | None:
        """``requester`` uses up ``owner``'s oldest one-time pre-key (``None``: none left)."""
        prekey = self.encryption_keys[owner].take_prekey()
        if prekey is not None:
            self.key_fetches.setdefault((requester, owner), []).append(now)
        return prekey

    def prekeys_running_low(self, owner: str, low: int) -> int | None:
        """How many one-time pre-keys ``owner`` has left, if fewer than ``low`` and the owner
        was not told yet (it counts as told from now on); else ``None``."""
        keys = self.encryption_keys[owner]
        if len(keys.prekeys) >= low or keys.low_notified:
            return None
        keys.low_notified = True
        return len(keys.prekeys)

    # ---------------------------------------------------------------- server-originated iqs

    def expect_answer(self, jid: str, iq_id: str) -> None:
        """The server sent ``jid`` the iq ``iq_id`` and waits for its answer."""
        self.server_iqs[(jid, iq_id)] = None

    def record_answer(self, jid: str, answer: Node) -> bool:
        """``jid`` answered a server-originated iq; True if one was waiting for it."""
        key = (jid, answer.get("id", ""))
        if key not in self.server_iqs or self.server_iqs[key] is not None:
            return False
        self.server_iqs[key] = answer
        return True

    def take_answer(self, jid: str, iq_id: str) -> Node | None:
        """The answer that came (forgotten here), or ``None`` if none did."""
        return self.server_iqs.pop((jid, iq_id), None)

    # ---------------------------------------------------------------- media (§3.9, §4.7)

    def open_upload(self, slot: UploadSlot, per_user: int) -> None:
        """Hand out an upload slot; an owner keeps at most ``per_user`` (oldest go first)."""
        mine = [t for t, known in self.uploads.items() if known.owner == slot.owner]
        for old in mine[: max(0, len(mine) - per_user + 1)]:
            del self.uploads[old]
        self.uploads[slot.token] = slot

    def close_upload(self, token: str) -> None:
        """The slot was used: it cannot be used again."""
        del self.uploads[token]

    def store_upload(self, stored: MediaFile, path: str) -> None:
        """A file was uploaded: keep it, downloadable at ``path``."""
        self.media[stored.hash] = stored
        self.media_paths[path] = stored.hash


def _merged(first: list[str], second: list[str]) -> list[str]:
    """``second`` then what ``first`` adds, without repeats, in order."""
    return list(dict.fromkeys([*second, *first]))


def _move(table: dict[str, T], old: str, new: str) -> None:
    value = table.pop(old, None)
    if value is not None and new not in table:
        table[new] = value
