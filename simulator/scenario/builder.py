"""Checking one step: names, captures, patterns and files, each problem at its line.

:class:`Directory` is the world as steps name it (accounts, groups, lists); a
:class:`Builder` is handed to every step's ``plan(b)`` (``simulator.scenario.steps``) and
reports what is wrong there, through the state the builders of one file share
(:class:`Shared`: who is logged in, which captures are bound, which accounts are
registered, which groups steps made).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final

from simulator.jid import SERVER, user_jid
from simulator.scenario import plan
from simulator.scenario.match import (
    CAPTURE,
    Literal,
    Pattern,
    PatternError,
    Regex,
    Template,
    check_node_template,
    compile_node,
    compile_template,
    compile_value,
    node_names,
    parse_node_text,
)
from simulator.yamlfile import Problem, format_loc, locate

if TYPE_CHECKING:
    from simulator.scenario.expectation import Expectation
    from simulator.wire.node import Node
    from simulator.world import World

__all__ = ["NAMED_GROUP", "RESERVED", "Builder", "Directory", "Shared"]

RESERVED: Final = frozenset({"bot", "server"})
NAMED_GROUP: Final = re.compile(r"\(\?P(?:<|&lt;)([A-Za-z_][A-Za-z0-9_]*)(?:>|&gt;)")
"""A named group in a regular expression: it binds a capture."""


@dataclass
class Shared:
    """What every builder of one file shares."""

    path: Path
    data: object
    """The file as YAML read it (for lines and step paths)."""
    lines: list[str]
    directory: Directory
    bot: plan.BotPlan | None
    options: plan.Options
    problems: list[Problem] = field(default_factory=list)
    bound: set[str] = field(default_factory=set)
    logged_in: set[str] = field(default_factory=set)
    bot_running: bool = False
    bot_may_have_stopped: bool = False
    """A fault step or a restart may have ended the bot's session here: ``login: bot``
    starts it unless it runs, ``logout: bot`` stops it if it runs."""
    lenient: bool = False
    """A login or logout could not be checked: stop checking who is logged in."""
    chats: set[str] = field(default_factory=set)
    """Groups created by steps (``create_group: {as: lunch}``): their names, lower case."""
    registered: set[str] = field(default_factory=set)
    """Labels of the accounts on the service at this step."""
    fault_names: set[str] = field(default_factory=set)
    """Names fault steps gave their faults (``as: NAME``) so far."""


def handle(name: str) -> str:
    """The name as a capture name: ``Alice Smith`` -> ``alice_smith``, ``José`` -> ``jose``
    (lower case, accents dropped, every run of other characters one ``_``); ``""`` if
    nothing is left. Steps and templates (``{{alice_smith}}``) may use it for any name."""
    plain = unicodedata.normalize("NFKD", name.casefold()).encode("ascii", "ignore").decode()
    out = re.sub(r"[^a-z0-9_]+", "_", plain).strip("_")
    if out and out[0].isdigit():
        out = "_" + out
    return out


class Directory:
    """The world's accounts, groups and broadcast lists as steps name them.

    An account is named by its ``name`` in any case (``Alice`` -> ``alice``), its phone or
    its JID; the bot's account is also ``bot``. Groups and broadcast lists of the world are
    named by their ``name``. Names that are capture names are bound from the start to the
    JIDs (``{{alice}}``, ``{{bot}}``, ``{{team}}``), as is ``{{server}}``.
    """

    def __init__(self, world: World, bot_ref: str | None) -> None:
        self.problems: list[tuple[str, tuple[int | str, ...]]] = []
        self._by_name: dict[str, plan.Party] = {}
        self._ambiguous: set[str] = set()
        bot_phone = self._bot_phone(world, bot_ref)
        parties = []
        self.unregistered: set[str] = set()
        """Labels of the accounts that are not on the service until a scenario registers them."""
        for index, account in enumerate(world.accounts):
            name = account.name.casefold()
            is_bot = account.phone == bot_phone
            if name in RESERVED and not (is_bot and name == "bot"):
                self.problems.append(
                    (
                        f"the name {account.name!r} is reserved; rename the account",
                        ("world", "accounts", index, "name"),
                    )
                )
                name = ""
            label = "bot" if is_bot else (name or account.phone)
            party = plan.Party(
                label=label,
                phone=account.phone,
                jid=user_jid(account.phone),
                password=account.effective_password,
                name=account.name,
            )
            parties.append(party)
            if not account.registered:
                self.unregistered.add(label)
            for alias in {label, name, handle(name)} - {""}:
                if alias in self._by_name and self._by_name[alias] is not party:
                    self._ambiguous.add(alias)
                self._by_name.setdefault(alias, party)
        self.parties = tuple(parties)
        self.groups: dict[str, str] = world.group_jids()
        """Group name (lower case) -> JID."""
        self.lists: dict[str, str] = world.list_jids()
        """Broadcast list name (lower case) -> its id."""
        self.builtins: dict[str, str] = {"server": SERVER}
        for alias, party in self._by_name.items():
            if alias not in self._ambiguous and CAPTURE.fullmatch(f"{{{{{alias}}}}}"):
                self.builtins[alias] = party.jid
        for alias, jid in {**self.lists, **self.groups}.items():
            if alias not in self._by_name and CAPTURE.fullmatch(f"{{{{{alias}}}}}"):
                self.builtins[alias] = jid

    @staticmethod
    def _bot_phone(world: World, ref: str | None) -> str | None:
        if ref is None:
            return None
        for account in world.accounts:
            if ref in (account.phone, user_jid(account.phone)) or (
                account.name and account.name.casefold() == ref.casefold()
            ):
                return account.phone
        return None

    def find(self, ref: str) -> plan.Party | None:
        """The account named ``ref`` (name in any case, phone or JID), if exactly one."""
        key = ref.casefold()
        if key in self._by_name and key not in self._ambiguous:
            return self._by_name[key]
        for party in self.parties:
            if ref in (party.phone, party.jid):
                return party
        return None

    def find_chat(self, ref: str) -> str | None:
        """The JID of the group or broadcast list named ``ref``."""
        key = ref.casefold()
        return self.groups.get(key) or self.lists.get(key)

    def is_ambiguous(self, ref: str) -> bool:
        return ref.casefold() in self._ambiguous

    def known(self) -> str:
        names = [p.label for p in self.parties]
        known = "accounts: " + (", ".join(names) if names else "none")
        if self.groups:
            known += "; groups: " + ", ".join(self.groups)
        if self.lists:
            known += "; lists: " + ", ".join(self.lists)
        return known


class Builder:
    """Checks the names, captures and patterns of one step and reports problems at their line.

    ``at(*keys)`` gives a builder for a part of the step (problems are located there).
    """

    def __init__(self, shared: Shared, prefix: tuple[int | str, ...], where: plan.Where) -> None:
        self._s = shared
        self._prefix = prefix
        self.where = where

    def at(self, *rel: int | str) -> Builder:
        """A builder for a part of this step (``b.at("expect", 2)``)."""
        prefix = self._prefix + rel
        where = self.where
        if any(isinstance(part, int) for part in rel):  # a nested item: its own line and path
            line, kept = locate(self._s.data, prefix)
            where = plan.Where(
                path=where.path, line=line, step=format_loc(kept), source=where.source
            )
        return Builder(self._s, prefix, where)

    @property
    def options(self) -> plan.Options:
        return self._s.options

    def fault_names(self) -> set[str]:
        """The names fault steps gave their faults so far (``as: NAME``)."""
        return self._s.fault_names

    def problem(self, message: str, *rel: int | str) -> None:
        """Report a problem at this step (or at a key under it)."""
        line, kept = locate(self._s.data, self._prefix + rel)
        self._s.problems.append(Problem(str(self._s.path), line, format_loc(kept), message))

    # ---------------------------------------------------------------- names

    def _unknown(self, ref: str, *rel: int | str) -> None:
        if self._s.directory.is_ambiguous(ref):
            self.problem(f"several accounts are named {ref!r}: name them by phone", *rel)
        else:
            self.problem(f"unknown user {ref!r} ({self._s.directory.known()})", *rel)

    def is_bot(self, ref: str) -> bool:
        bot = self._s.bot
        return ref.casefold() == "bot" or (
            bot is not None and self._s.directory.find(ref) == bot.party
        )

    def lookup(self, ref: str) -> plan.Party | None:
        """The account named ``ref`` (the bot's included), or None; reports nothing."""
        if ref.casefold() == "bot":
            return self._s.bot.party if self._s.bot is not None else None
        return self._s.directory.find(ref)

    def session_ended(self, ref: str, *rel: int | str) -> plan.Party | None:
        """The service ends ``ref``'s session here: a user counts as logged out, the bot as
        stopped (``- login: ...`` starts them again)."""
        if self.is_bot(ref):
            party = self.account("bot", *rel)
            if party is not None and not self._s.bot_running and not self._s.lenient:
                self.problem("the bot is not running here", *rel)
            self._s.bot_running = False
            self._s.bot_may_have_stopped = False
            return party
        party = self.user(ref, *rel, acting=False)
        if party is not None:
            self.logged_in(party, False, *rel)
        return party

    def account(self, ref: str, *rel: int | str) -> plan.Party | None:
        """Any account of the world, the bot's included."""
        if ref.casefold() == "bot":
            if self._s.bot is None:
                self.problem("there is no bot in this scenario", *rel)
                return None
            return self._s.bot.party
        party = self._s.directory.find(ref)
        if party is None:
            self._unknown(ref, *rel)
        return party

    def user(self, ref: str, *rel: int | str, acting: bool = True) -> plan.Party | None:
        """A user that steps act as (not the bot); ``acting``: it must be logged in here."""
        if self.is_bot(ref):
            self.problem(
                "the bot is the account under test: steps act as users, not as the bot", *rel
            )
            return None
        party = self.account(ref, *rel)
        if party is None:
            return None
        if acting and party.label not in self._s.logged_in and not self._s.lenient:
            self.problem(
                f"{party.label} is not logged in at this step:"
                f" add `- login: {party.label}` before it",
                *rel,
            )
        return party

    def logged_in(self, party: plan.Party, state: bool, *rel: int | str) -> None:
        """Record a login (True) or logout (False) of ``party`` here."""
        now = party.label in self._s.logged_in
        if now == state and not self._s.lenient:
            self.problem(f"{party.label} is {'already' if state else 'not'} logged in here", *rel)
        if state:
            self._s.logged_in.add(party.label)
        else:
            self._s.logged_in.discard(party.label)

    def bot_may_have_stopped(self) -> None:
        """A step here may end the bot's session (a fault, a restart): whether the bot
        runs after it is known only when the run gets there."""
        if self._s.bot is not None and self._s.bot_running:
            self._s.bot_may_have_stopped = True

    def start_bot(self, *rel: int | str) -> plan.Step | None:
        if self._s.bot is None:
            self.problem("there is no bot in this scenario", *rel)
            return None
        unknown = self._s.bot_may_have_stopped
        if self._s.bot_running and not unknown and not self._s.lenient:
            self.problem(
                "the bot is already running here"
                " (it starts by itself unless bot.autostart is false)",
                *rel,
            )
        self._s.bot_running = True
        self._s.bot_may_have_stopped = False
        return plan.StartBot(where=self.where, unless_running=unknown)

    def stop_bot(self, *rel: int | str) -> plan.Step | None:
        if self._s.bot is None:
            self.problem("there is no bot in this scenario", *rel)
            return None
        unknown = self._s.bot_may_have_stopped
        if not self._s.bot_running and not self._s.lenient:
            self.problem("the bot is not running here", *rel)
        self._s.bot_running = False
        self._s.bot_may_have_stopped = False
        return plan.StopBot(where=self.where, if_running=unknown)

    def party(self, ref: str, *rel: int | str) -> str | None:
        """Who receives, in an expectation: a user's label, ``bot`` or ``server``."""
        key = ref.casefold()
        if key == "server" or self.is_bot(ref):
            if self._s.bot is None:
                self.problem("there is no bot in this scenario", *rel)
                return None
            return "server" if key == "server" else "bot"
        party = self.account(ref, *rel)
        return party.label if party is not None else None

    def peer(self, ref: str, *rel: int | str) -> str:
        """A destination in a sent stanza, as text for a node template."""
        if ref.casefold() == "server":
            return SERVER
        party = self._s.directory.find(ref) if ref.casefold() != "bot" else self.account(ref, *rel)
        if party is not None:
            return party.jid
        chat = self._chat(ref)
        if chat is not None:
            return chat
        if ref.isdigit():
            return user_jid(ref)
        if "@" in ref or "{{" in ref:
            return self.text(ref, *rel)
        self._unknown(ref, *rel)
        return ref

    def _chat(self, ref: str) -> str | None:
        """A group or list of the world (its JID) or made by a step (``{{name}}``)."""
        found = self._s.directory.find_chat(ref)
        if found is not None:
            return found
        if ref.casefold() in self._s.chats:
            return f"{{{{{ref.casefold()}}}}}"
        return None

    def group(self, ref: str, *rel: int | str) -> str:
        """A group in a sent stanza: its name, a ``{{capture}}`` or a group JID."""
        chat = self._chat(ref)
        if chat is not None and not chat.endswith("@broadcast"):
            return chat
        if "{{" in ref or ref.endswith("@g.us"):
            return self.text(ref, *rel)
        known = ", ".join([*self._s.directory.groups, *sorted(self._s.chats)]) or "none"
        self.problem(f"unknown group {ref!r} (groups: {known})", *rel)
        return ref

    def define_chat(self, name: str, *rel: int | str) -> str | None:
        """A step makes a group called ``name``: later steps may name it; ``{{name}}`` binds."""
        key = name.casefold()
        taken = (
            key in RESERVED
            or self._s.directory.find(name) is not None
            or self._s.directory.find_chat(name) is not None
            or key in self._s.chats
        )
        if taken:
            self.problem(f"the name {name!r} is taken: choose another", *rel)
            return None
        if not CAPTURE.fullmatch(f"{{{{{key}}}}}"):
            self.problem(f"a group name is letters, digits and _, not {name!r}", *rel)
            return None
        self._s.chats.add(key)
        self.bind({key})
        return key

    def check_registered(self, party: plan.Party, *rel: int | str) -> None:
        """``party`` must be on the service here (registered in the world or by a step)."""
        if party.label not in self._s.registered and not self._s.lenient:
            self.problem(
                f"{party.label} is not registered at this step (registered: false):"
                " register it with code_request and code_register first",
                *rel,
            )

    def registered(self, party: plan.Party) -> None:
        """From the next step on, ``party`` is registered."""
        self._s.registered.add(party.label)

    def file(self, name: str, *rel: int | str) -> Path | None:
        """A file named by a step, relative to the scenario file; it must exist."""
        path = self._s.path.parent / name
        if not path.is_file():
            self.problem(f"no such file: {path}", *rel)
            return None
        return path

    def attrs(
        self, fields: Iterable[tuple[str, str | None, str]]
    ) -> tuple[tuple[str, Literal | Template | Regex], ...]:
        """(attribute, value as written, kind) -> pattern attributes; kind ``jid`` resolves
        names, anything else is a value. Fields written as None are left out."""
        out: list[tuple[str, Literal | Template | Regex]] = []
        for attr, written, kind in fields:
            if written is None:
                continue
            out.append(
                (
                    attr,
                    self.jid_value(written, attr) if kind == "jid" else self.value(written, attr),
                )
            )
        return tuple(out)

    def jid_value(self, ref: str, *rel: int | str) -> Literal | Template | Regex:
        """A JID in a pattern: a name, phone or JID, or a ``{{capture}}`` / ``/regex/``."""
        if ref.startswith("/") or "{{" in ref or "@" in ref:
            return self.value(ref, *rel)
        if ref.casefold() == "server":
            return Literal(SERVER)
        party = self._s.directory.find(ref) if ref.casefold() != "bot" else self.account(ref, *rel)
        if party is not None:
            return Literal(party.jid)
        chat = self._chat(ref)
        if chat is not None:
            return self.value(chat, *rel)
        if ref.isdigit():
            return Literal(user_jid(ref))
        self._unknown(ref, *rel)
        return Literal(ref)

    # ---------------------------------------------------------------- values, captures, nodes

    def value(self, text: str, *rel: int | str, regex: bool = True) -> Literal | Template | Regex:
        """A value in a pattern: literal, template with captures, or ``/regex/``."""
        try:
            return compile_value(text, regex=regex)
        except PatternError as exc:
            self.problem(str(exc), *rel)
            return Literal(text)

    def _require_bound(self, names: Iterable[str], *rel: int | str) -> None:
        for name in sorted(set(names) - self._s.bound):
            self.problem(
                f"{{{{{name}}}}} is used before any step binds it (an expectation binds a capture"
                " the first time it matches)",
                *rel,
            )

    def text(self, text: str, *rel: int | str) -> str:
        """Text sent by a step: its captures must be bound by earlier steps."""
        try:
            template = compile_template(text)
        except PatternError as exc:
            self.problem(str(exc), *rel)
            return text
        self._require_bound(template.names(), *rel)
        return text

    def node(self, text: str, *rel: int | str) -> Node | None:
        """A node a step sends, in the tx/rx notation, with bound captures only."""
        try:
            node = parse_node_text(text)
            check_node_template(node)
        except PatternError as exc:
            self.problem(str(exc), *rel)
            return None
        self._require_bound(node_names(node), *rel)
        return node

    def pattern(self, text: str, *rel: int | str, exact: bool = False) -> Pattern | None:
        """A node pattern (expectations, iq results): captures bind on first use."""
        try:
            return compile_node(text, exact=exact)
        except PatternError as exc:
            self.problem(str(exc), *rel)
            # Whatever it meant to bind counts as bound: one mistake, one report.
            self.bind(CAPTURE.findall(text) + NAMED_GROUP.findall(text))
            return None

    def bind(self, names: Iterable[str]) -> None:
        """From the next step on, these captures are bound."""
        self._s.bound.update(names)

    @property
    def bound(self) -> frozenset[str]:
        """The captures bound before this step."""
        return frozenset(self._s.bound)

    def expectation(self, spec: Expectation) -> plan.Expectation | None:
        """The plan of an expectation mapping (``to``, one kind, ``within``...)."""
        before = len(self._s.problems)
        party = self.party(spec.to, "to")
        key, matcher = spec.kind()
        if spec.exact and key != "node":
            self.problem("exact applies to node patterns only", "exact")
        pattern = matcher.pattern(self.at(key), exact=spec.exact)
        if party is None or pattern is None or len(self._s.problems) > before:
            return None
        return plan.Expectation(
            where=self.where,
            party=party,
            pattern=pattern,
            within=spec.within,
            optional=spec.optional,
            label=f"a <{pattern.tag}>",
        )
