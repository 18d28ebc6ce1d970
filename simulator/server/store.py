"""The server's state on disk: one SQLite file (``simulator serve --state FILE``).

What is kept: accounts (passwords, next-login nonces, terms, settings), mailboxes (every
stanza not acknowledged yet, in order), groups and their roles, who sent which group
message, address books, block lists, privacy, pictures, statuses, broadcast lists, keys
and pre-key fetches, registration bookkeeping, upload slots, stored media and its
download paths. Not kept: sessions, presence subscriptions and server iqs waiting for an
answer (all of them end with the connections a restart drops anyway).

The file holds one row per entity (``kind`` + ``key`` -> a JSON encoding) and a ``meta``
table (schema version, how many times the file was opened, the id counter). A
:meth:`Store.commit` writes, in one transaction, the rows whose encoding changed since
the last commit, so the file always holds one consistent state: the one at the last
commit. The journal is SQLite's WAL with ``synchronous=FULL``: a commit that returned
is on disk, whatever kills the process afterwards.

When the server commits: see :mod:`simulator.server.server` (``Server.persist``): after
every handled stanza, before the login's ``success``, after every HTTP request and before
its answer, at a restart and at the end. Nothing a handler produced can reach a peer
before that commit: a handler queues stanzas with ``Session.push``, and the session's
writer task sends them only after the handler returned (it runs at the next checkpoint;
no handler awaits before the commit). This holds for every byte stream (TCP, and the
in-memory byte link). An in-process node link (``MemoryConnector(mode="nodes")``) hands a
pushed stanza to its peer at once, before the commit; its peer lives in the server's own
process, so no crash can separate what it received from what the file holds (both end).

Old files are migrated on open, step by step (:data:`MIGRATIONS`); a file newer than this
program, a file that is not SQLite, or one locked by another server is refused with one
sentence (:class:`StoreError`).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final, final

from simulator.server.state import (
    Account,
    BroadcastList,
    EncryptionKeys,
    Group,
    MediaFile,
    PendingCode,
    PendingKey,
    Picture,
    Registrar,
    State,
    Status,
    UploadSlot,
)
from simulator.wire.node import Node

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "Store", "StoreError"]

SCHEMA_VERSION: Final = 1
"""The layout this program writes. Files with an older one are migrated on open."""


class StoreError(Exception):
    """The state file cannot be used; the message is one sentence for the user."""


def _migrate_0_to_1(db: sqlite3.Connection) -> None:
    """Version 0 (the first drafts) kept rows in ``state(kind, key, value)`` and no meta
    counters: rename it to ``entity`` and start the counters."""
    db.execute("ALTER TABLE state RENAME TO entity")
    db.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('opened', '0'), ('counter', '0')")


MIGRATIONS: Final[dict[int, Callable[[sqlite3.Connection], None]]] = {0: _migrate_0_to_1}
"""Schema version N -> the step that makes it version N + 1 (run inside one transaction)."""


# ---------------------------------------------------------------- encoding


def _enc(value: object) -> Any:
    """A JSON-able form of ``value`` that :func:`_dec` turns back into an equal value."""
    if isinstance(value, bytes):
        return {"$b": base64.b64encode(value).decode("ascii")}
    if isinstance(value, Node):
        return {"$n": _node(value)}
    if isinstance(value, tuple):
        return {"$t": [_enc(v) for v in value]}
    if isinstance(value, set | frozenset):
        return {"$s": [_enc(v) for v in sorted(value)]}
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {"$d": {k: _enc(v) for k, v in value.items()}}
        return {"$p": [[_enc(k), _enc(v)] for k, v in value.items()]}
    if isinstance(value, list):
        return [_enc(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"cannot store {type(value).__name__}")


def _node(node: Node) -> list[Any]:
    payload: Any = [_node(c) for c in node.children] if node.data is None else _enc(node.data)
    return [node.tag, dict(node.attrs), payload]


def _unnode(raw: list[Any]) -> Node:
    tag, attrs, payload = raw
    if isinstance(payload, list):
        return Node(tag, attrs, [_unnode(c) for c in payload])
    return Node(tag, attrs, data=_dec(payload))


def _dec(raw: Any) -> Any:
    if isinstance(raw, list):
        return [_dec(v) for v in raw]
    if not isinstance(raw, dict):
        return raw
    ((tag, body),) = raw.items()
    if tag == "$b":
        return base64.b64decode(body)
    if tag == "$n":
        return _unnode(body)
    if tag == "$t":
        return tuple(_dec(v) for v in body)
    if tag == "$s":
        return {_dec(v) for v in body}
    if tag == "$d":
        return {k: _dec(v) for k, v in body.items()}
    if tag == "$p":
        return {_dec(k): _dec(v) for k, v in body}
    raise ValueError(f"unknown encoding {tag!r}")


def _fields(obj: Any) -> dict[str, object]:
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}


Rows = dict[tuple[str, str], str]


def _sep(*parts: str) -> str:
    return "\x00".join(parts)


MailboxMemo = dict[str, dict[PendingKey, tuple[Node, str]]]
"""User -> pending key -> the stanza last encoded under it (kept alive, so its identity
stays its own) and its JSON: a stanza already encoded is not encoded again (nodes are
immutable), so a commit costs little more than what changed."""


def snapshot(state: State, memo: MailboxMemo | None = None) -> Rows:
    """Every kept entity of ``state`` as ``(kind, key) -> JSON``."""
    rows: Rows = {}
    memo = {} if memo is None else memo

    def put(kind: str, key: str, value: object) -> None:
        rows[(kind, key)] = json.dumps(_enc(value), separators=(",", ":"))

    for jid, account in state.accounts.items():
        put("account", jid, {**_fields(account), "online": False})  # nobody is online in a file
    for jid in [jid for jid in memo if not len(state.mailboxes.get(jid, ()))]:
        del memo[jid]
    for jid, box in state.mailboxes.items():
        if not len(box):
            continue
        known, fresh = memo.get(jid, {}), {}
        for key, node in box:
            cached = known.get(key)
            if cached is None or cached[0] is not node:
                cached = (node, json.dumps(_enc([key, node]), separators=(",", ":")))
            fresh[key] = cached
        memo[jid] = fresh
        rows[("mailbox", jid)] = "[" + ",".join(text for _node, text in fresh.values()) + "]"
    for gjid, group in state.groups.items():
        put("group", gjid, _fields(group))
    for (gjid, msg_id), authors in state.group_message_authors.items():
        put("group_message", _sep(gjid, msg_id), authors)
    for jid, numbers in state.contacts.items():
        put("contacts", jid, numbers)
    for jid, blocked in state.blocked.items():
        put("blocked", jid, blocked)
    for jid, privacy in state.privacy.items():
        put("privacy", jid, privacy)
    for jid, picture in state.pictures.items():
        put("picture", jid, _fields(picture))
    for jid, status in state.statuses.items():
        put("status", jid, _fields(status))
    for owner, lists in state.broadcast_lists.items():
        put("broadcast", owner, {lid: _fields(bl) for lid, bl in lists.items()})
    for digest, media in state.media.items():
        put("media", digest, _fields(media))
    for path, digest in state.media_paths.items():
        put("media_path", path, digest)
    for jid, keys in state.encryption_keys.items():
        put("keys", jid, _fields(keys))
    for (requester, owner), times in state.key_fetches.items():
        put("key_fetch", _sep(requester, owner), times)
    for token, slot in state.uploads.items():
        put("upload", token, _fields(slot))
    pending = {k: _fields(v) for k, v in state.registrar.pending.items()}
    put("registrar", "", {**_fields(state.registrar), "pending": pending})
    return rows


def restore(rows: Iterator[tuple[str, str, str]]) -> State:
    """A :class:`State` from the rows :func:`snapshot` made (in any order)."""
    tables: dict[str, dict[Any, Any]] = {name: {} for name in _TABLES.values()}
    mailboxes: dict[str, list[tuple[PendingKey, Node]]] = {}
    registrar = Registrar()
    for kind, key, raw in rows:
        value = _dec(json.loads(raw))
        if kind == "registrar":
            value["pending"] = {k: PendingCode(**v) for k, v in value["pending"].items()}
            registrar = Registrar(**value)
            continue
        if kind == "mailbox":
            mailboxes[key] = [(tuple(k), node) for k, node in value]
            continue
        if kind not in _TABLES:
            raise ValueError(f"unknown kind of row {kind!r}")
        build = _BUILD.get(kind)
        index: object = tuple(key.split("\x00", 1)) if kind in _PAIRS else key
        tables[_TABLES[kind]][index] = build(value) if build is not None else value
    state = State()
    state.load(tables, mailboxes, registrar)
    return state


_TABLES: Final = {
    "account": "accounts",
    "group": "groups",
    "group_message": "group_message_authors",
    "contacts": "contacts",
    "blocked": "blocked",
    "privacy": "privacy",
    "picture": "pictures",
    "status": "statuses",
    "broadcast": "broadcast_lists",
    "media": "media",
    "media_path": "media_paths",
    "keys": "encryption_keys",
    "key_fetch": "key_fetches",
    "upload": "uploads",
}
"""Row kind -> the :class:`State` table it fills."""

_PAIRS: Final = frozenset({"group_message", "key_fetch"})
"""Kinds keyed by a pair (kept as ``first NUL second``)."""

_BUILD: Final[dict[str, Callable[[Any], Any]]] = {
    "account": lambda v: Account(**v),
    "group": lambda v: Group(**v),
    "picture": lambda v: Picture(**v),
    "status": lambda v: Status(**v),
    "broadcast": lambda v: {lid: BroadcastList(**bl) for lid, bl in v.items()},
    "media": lambda v: MediaFile(**v),
    "keys": lambda v: EncryptionKeys(**v),
    "upload": lambda v: UploadSlot(**v),
}


# ---------------------------------------------------------------- the file


@final
class Store:
    """One open state file. Use :meth:`open`; :meth:`close` when done."""

    def __init__(self, db: sqlite3.Connection, path: Path, state: State, opened: int) -> None:
        self._db = db
        self.path = path
        self.state = state
        """The state loaded from the file (an empty one for a new file)."""
        self.opened = opened
        """How many times the file was opened, this time included (1: a new file)."""
        self.counter = int(self._meta("counter") or 0)
        """The id counter's high-water mark at the last commit."""
        self._memo: MailboxMemo = {}
        self._rows: Rows = snapshot(state, self._memo)
        self.commits = 0

    @classmethod
    def open(cls, path: Path) -> Store:
        """Open (or create) ``path``, migrate it, load its state; :class:`StoreError` when
        it cannot be used."""
        try:
            db = sqlite3.connect(path, isolation_level=None, timeout=0.2)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the state file {path}: {exc}") from None
        try:
            return cls._load(db, path)
        except sqlite3.OperationalError as exc:
            db.close()
            if "locked" in str(exc) or "busy" in str(exc):
                raise StoreError(
                    f"the state file {path} is in use by another server (it is locked)"
                ) from None
            raise StoreError(f"cannot use the state file {path}: {exc}") from None
        except sqlite3.DatabaseError as exc:
            db.close()
            raise StoreError(
                f"the state file {path} is not a simulator state file ({exc})"
            ) from None
        except (ValueError, TypeError, KeyError) as exc:
            db.close()
            raise StoreError(f"the state file {path} is damaged: {exc}") from None

    @classmethod
    def _load(cls, db: sqlite3.Connection, path: Path) -> Store:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        # One server per file: hold the write lock for as long as the file is open.
        db.execute("PRAGMA locking_mode=EXCLUSIVE")
        db.execute("BEGIN IMMEDIATE")
        try:
            version = cls._version(db)
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"the state file {path} has schema version {version}, newer than this "
                    f"simulator's {SCHEMA_VERSION}: use a newer simulator or another file"
                )
            while version < SCHEMA_VERSION:
                MIGRATIONS[version](db)
                version += 1
                db.execute(
                    "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema', ?)", (str(version),)
                )
            opened = int(_one(db, "SELECT value FROM meta WHERE key = 'opened'") or 0) + 1
            db.execute(
                "INSERT OR REPLACE INTO meta(key, value) VALUES ('opened', ?)", (str(opened),)
            )
            rows = db.execute("SELECT kind, key, value FROM entity ORDER BY rowid").fetchall()
            state = restore(iter(rows))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return cls(db, path, state, opened)

    @staticmethod
    def _version(db: sqlite3.Connection) -> int:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not tables:  # a new file
            db.execute("CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            db.execute(
                "CREATE TABLE entity(kind TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
                " PRIMARY KEY (kind, key))"
            )
            db.execute(
                "INSERT INTO meta(key, value) VALUES ('schema', ?), ('opened', '0'),"
                " ('counter', '0')",
                (str(SCHEMA_VERSION),),
            )
            return SCHEMA_VERSION
        if "meta" not in tables:
            raise ValueError("it has no meta table")
        raw = _one(db, "SELECT value FROM meta WHERE key = 'schema'")
        if raw is None or not raw.isdigit():
            raise ValueError("it has no schema version")
        return int(raw)

    def _meta(self, key: str) -> str | None:
        return _one(self._db, "SELECT value FROM meta WHERE key = ?", key)

    def commit(self, state: State, counter: int) -> int:
        """Write what changed in ``state`` since the last commit (one transaction, on disk
        when this returns); returns how many rows changed."""
        rows = snapshot(state, self._memo)
        old = self._rows
        changed = [(k, v) for k, v in rows.items() if old.get(k) != v]
        gone = [k for k in old if k not in rows]
        if not changed and not gone and counter == self.counter:
            return 0
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(
                "INSERT OR REPLACE INTO entity(kind, key, value) VALUES (?, ?, ?)",
                [(kind, key, value) for (kind, key), value in changed],
            )
            db.executemany("DELETE FROM entity WHERE kind = ? AND key = ?", gone)
            if counter != self.counter:
                db.execute("UPDATE meta SET value = ? WHERE key = 'counter'", (str(counter),))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self._rows, self.counter = rows, counter
        self.commits += 1
        return len(changed) + len(gone)

    def close(self) -> None:
        self._db.close()


def _one(db: sqlite3.Connection, sql: str, *params: str) -> str | None:
    row = db.execute(sql, params).fetchone()
    return None if row is None else str(row[0])
