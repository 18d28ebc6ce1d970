"""Who takes part in an exploration: the world's accounts, groups and lists, and the bot.

The explorer writes scenarios, so it needs only names: accounts by their name in lower
case (how scenario steps name them), groups and broadcast lists by their ``name``. The
world comes from a world file (``--world``) or is the default one below; the explorer
adds accounts of its own to it (:data:`NEW_USERS`: two that exist, one that registers
during the run).
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from simulator.errors import ScenarioError
from simulator.yamlfile import load_yaml

__all__ = ["DEFAULT_WORLD", "NEW_USERS", "Cast", "GroupModel", "load_world"]

DEFAULT_WORLD: Final[dict[str, Any]] = {
    "accounts": [
        {"phone": "491110000001", "name": "Alice"},
        {"phone": "491110000002", "name": "Bob"},
        {"phone": "491110000003", "name": "Carol"},
        {"phone": "491119999999", "name": "Mybot"},
    ],
    "contacts": {"alice": ["bob", "carol", "mybot"], "bob": ["alice", "mybot"]},
    "groups": [{"name": "team", "creator": "alice", "participants": ["bob", "mybot"]}],
    "broadcast_lists": [{"name": "news", "owner": "alice", "recipients": ["bob", "mybot"]}],
}
"""The world explored when none is given: three users, the bot, a group and a list."""

NEW_USERS: Final[tuple[dict[str, Any], ...]] = (
    {"phone": "491110000071", "name": "Nia"},
    {"phone": "491110000072", "name": "Omar"},
    {"phone": "491110000073", "name": "Nora", "registered": False},
)
"""Accounts the explorer adds to every world: users the world's own data never mention
(Nia, Omar), and one who registers during the run before her first login (Nora)."""


@dataclass
class GroupModel:
    """What the generator believes of a group (kept in step with the steps it writes)."""

    name: str
    admins: set[str]
    members: set[str]


@dataclass
class Cast:
    """The names a generated run may use."""

    world: dict[str, Any]
    """The inline world of the generated scenarios (the world plus :data:`NEW_USERS`)."""
    bot: str
    users: tuple[str, ...]
    """Registered users other than the bot."""
    unregistered: tuple[str, ...] = ()
    """Users who must register (``code_request`` / ``code_register``) before logging in."""
    groups: dict[str, GroupModel] = field(default_factory=dict)
    lists: dict[str, str] = field(default_factory=dict)
    """Broadcast list name -> its owner."""
    phones: dict[str, str] = field(default_factory=dict)
    """Every account's name -> its phone."""

    def jid(self, name: str) -> str:
        return f"{self.phones[name]}@s.whatsapp.net"

    def name_of(self, jid: str | None) -> str | None:
        """The account name of a user JID (None for groups, the server and strangers)."""
        if jid is None:
            return None
        phone = jid.split("@", 1)[0]
        for name, known in self.phones.items():
            if known == phone:
                return name
        return None


def load_world(path: Path | None, *, bot: str | None, relative_to: Path | None = None) -> Cast:
    """The cast of a world file (or of :data:`DEFAULT_WORLD`) with the bot account ``bot``.

    ``relative_to`` is the directory the scenarios will be written in: file paths of the
    world (pictures) are rewritten to stay right from there.

    Raises:
        ScenarioError: the file cannot be read, or the bot is not one of its accounts.
    """
    if path is None:
        world = copy.deepcopy(DEFAULT_WORLD)
        where = "the default world"
    else:
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ScenarioError(f"{path}: cannot read the world file: {exc}") from None
        loaded = load_yaml(text, str(path))
        if not isinstance(loaded, dict) or not isinstance(loaded.get("accounts"), list):
            raise ScenarioError(f"{path}: a world file is a mapping with a list of accounts")
        world = loaded
        where = str(path)
        _rebase_pictures(world, path.parent, relative_to)
    accounts = [a for a in world["accounts"] if isinstance(a, dict)]
    names: dict[str, str] = {}
    for account in accounts:
        name = str(account.get("name") or account["phone"]).lower()
        names[name] = str(account["phone"])
    taken = set(names.values())
    for extra in NEW_USERS:
        if extra["phone"] not in taken and extra["name"].lower() not in names:
            accounts.append(dict(extra))
            names[extra["name"].lower()] = extra["phone"]
    world["accounts"] = accounts
    bot_name = _resolve(bot or "mybot", names)
    if bot_name is None:
        known = ", ".join(sorted(names))
        raise ScenarioError(
            f"{where} has no account {bot or 'mybot'!r} for the bot (its accounts: {known});"
            " name it with --account"
        )
    unregistered = {
        str(a.get("name") or a["phone"]).lower() for a in accounts if a.get("registered") is False
    }
    users = tuple(n for n in names if n != bot_name and n not in unregistered)
    cast = Cast(
        world=world,
        bot=bot_name,
        users=users,
        unregistered=tuple(sorted(unregistered - {bot_name})),
        phones=names,
    )
    for group in world.get("groups") or ():
        creator = _resolve(str(group["creator"]), names) or str(group["creator"])
        members = {_resolve(str(p), names) or str(p) for p in group.get("participants") or ()}
        admins = {_resolve(str(p), names) or str(p) for p in group.get("admins") or (creator,)}
        cast.groups[str(group["name"])] = GroupModel(
            name=str(group["name"]), admins=admins, members=members | admins | {creator}
        )
    for blist in world.get("broadcast_lists") or ():
        cast.lists[str(blist["name"])] = _resolve(str(blist["owner"]), names) or ""
    return cast


def _resolve(name: str, names: dict[str, str]) -> str | None:
    lowered = name.lower().split("@", 1)[0].lstrip("+")
    if lowered in names:
        return lowered
    for known, phone in names.items():
        if phone == lowered:
            return known
    return None


def _rebase_pictures(world: dict[str, Any], base: Path, relative_to: Path | None) -> None:
    pictures = world.get("pictures")
    if not isinstance(pictures, dict):
        return
    for key, value in pictures.items():
        if isinstance(value, str):
            target = (base / value).resolve()
            pictures[key] = (
                os.path.relpath(target, relative_to.resolve())
                if relative_to is not None
                else str(target)
            )
