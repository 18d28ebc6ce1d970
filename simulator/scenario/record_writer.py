"""Writing a recorded session as a scenario: the pure half of ``serve --record``.

A list of :class:`Tapped` events (what users and the bot sent and received, with server
times) becomes a scenario document in two passes: an analysis of each session (what its
client did by itself: announce presence, automatic receipts and acks), then a writer
that turns user actions into steps and deliveries into expectations, with captures for
ids and timestamps. No trio and no server here: :mod:`simulator.scenario.record` taps a
live server and calls :func:`record_scenario`. The rules are in that module's docstring.
"""

from __future__ import annotations

import datetime
import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from simulator.jid import SERVER, user_jid
from simulator.scenario.durations import format_duration
from simulator.scenario.match import CAPTURE, PatternError, compile_value
from simulator.scenario.match import Literal as LiteralValue
from simulator.wire.node import Node
from simulator.world import AccountSpec

__all__ = [
    "DEFAULT_WITHIN",
    "Direction",
    "RecordOptions",
    "Recording",
    "Tapped",
    "dump_scenario",
    "iso_time",
    "record_scenario",
]

Direction = Literal["in", "out", "login", "logout"]

RESERVED: Final = frozenset({"bot", "server"})
DROPPED_ATTRS: Final = frozenset({"t", "offline", "notify"})
"""Attributes left out of patterns: times, the offline flag, push names."""
SERVER_NOISE: Final = frozenset({"ack", "presence", "ib", "stream:error"})
"""Tags of stanzas the server sends that never become expectations."""
TIME_WINDOW: Final = 2 * 86_400.0
"""A number within this many seconds of the session is taken for one of its timestamps."""
FLOW_WIDTH: Final = 100
"""Steps whose one-line form is longer than this are written in block style."""
_DIGIT_RUN: Final = re.compile(r"(?<!\d)(\d{13}|\d{10})(?!\d)")
_REGEX_SPECIAL: Final = re.compile(r"[.^$*+?{}\[\]\\|()]")
_PREFIX: Final = {"message": "m", "receipt": "m", "iq": "q", "notification": "n"}
DEFAULT_WITHIN: Final = 5.0
FRESH_SUFFIX: Final = "-rec"
"""Added to the ids users make up in ``raw`` steps (see ``_Writer._send_id``)."""


@dataclass(frozen=True, slots=True)
class Tapped:
    """One event of a live session.

    ``in``: ``jid`` sent ``node`` to the server; ``out``: the server queued ``node`` for
    ``jid``; ``login`` / ``logout`` (``node`` None): a session of ``jid`` began / ended.
    """

    direction: Direction
    jid: str
    node: Node | None
    at: float
    """Server time (Unix seconds, fractional)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordOptions:
    """How a recording is written."""

    name: str = "a recorded session"
    description: str = ""
    schema: str | None = "scenario.schema.json"
    """The ``$schema`` of the ``yaml-language-server`` comment line (None: no line)."""
    min_wait: float = 1.0
    """A pause of at least this many seconds before a user acts becomes a ``wait``."""
    within: float = DEFAULT_WITHIN
    """The scenario's default ``within`` (an expectation that took longer gets its own)."""
    seed: int = 0
    """The server's seed (written to ``options.seed`` if not 0)."""
    world: str | None = None
    """A world file to refer to (its path from the scenario's directory) instead of
    writing the accounts inline: it keeps what the accounts alone do not (groups,
    contacts, pictures...)."""


@dataclass(frozen=True, slots=True)
class Recording:
    """A recorded scenario: the file's text, its data, and what could not be recorded well."""

    text: str
    document: dict[str, Any]
    steps: int
    warnings: tuple[str, ...]


def record_scenario(
    events: Sequence[Tapped],
    accounts: Sequence[AccountSpec],
    bot: str,
    options: RecordOptions | None = None,
) -> Recording:
    """The scenario of a recorded session (see the module docstring for the rules).

    Args:
        events: what a :class:`LiveRecorder` saw, in order.
        accounts: the world (every account the server knew).
        bot: the bot's phone or JID.
        options: name, description, thresholds.

    Raises:
        ValueError: the bot is not one of ``accounts``.
    """
    options = options or RecordOptions()
    writer = _Writer(events, accounts, user_jid(bot), options)
    document = writer.document()
    return Recording(
        text=dump_scenario(document, schema=options.schema),
        document=document,
        steps=len(document["steps"]),
        warnings=tuple(writer.warnings),
    )


# ==================================================================== pass 1: analysis


@dataclass(eq=False)
class _Session:
    """One login of one account, and what its client did by itself."""

    jid: str
    announce_at: int | None = None
    presence_seen: bool = False
    sent_before_presence: bool = False
    expected_receipts: list[Node] = field(default_factory=list)
    """The automatic receipts the client library would have sent and has not (yet)."""
    auto_receipts: list[int] = field(default_factory=list)
    manual_delivery: bool = False
    ackables: int = 0
    acks: int = 0

    @property
    def auto_receipt(self) -> bool:
        return not self.manual_delivery and not self.expected_receipts

    @property
    def auto_ack(self) -> bool:
        return self.acks > 0 or self.ackables == 0


@dataclass
class _Analysis:
    session_of: list[_Session | None]
    answer_of: dict[int, int] = field(default_factory=dict)
    """Index of an iq request -> index of its answer."""
    noise: set[int] = field(default_factory=set)
    delivered: set[str] = field(default_factory=set)
    """Ids of the bot's messages that some user received."""


def _analyse(events: Sequence[Tapped], bot: str, names: dict[str, str]) -> _Analysis:
    found = _Analysis([None] * len(events))
    current: dict[str, _Session] = {}
    sessions: list[_Session] = []
    requests: dict[tuple[str, str, str], int] = {}
    for index, event in enumerate(events):
        if event.direction == "logout":
            current.pop(event.jid, None)
            continue
        if event.direction == "login" or event.jid not in current:
            current[event.jid] = _Session(event.jid)
            sessions.append(current[event.jid])
        session = current[event.jid]
        found.session_of[index] = session
        node = event.node
        if node is None:
            continue
        if node.tag == "iq":
            _pair_iq(found, requests, index, event, node)
        elif node.tag == "message" and event.direction == "out" and event.jid != bot:
            _note_delivery(found, node, bot)
        if event.jid != bot:
            _watch_user(session, index, event.direction, node, names.get(event.jid, ""))
    for session in sessions:
        if session.announce_at is not None:
            found.noise.add(session.announce_at)
        if session.auto_receipt:
            found.noise.update(session.auto_receipts)
    return found


def _pair_iq(
    found: _Analysis,
    requests: dict[tuple[str, str, str], int],
    index: int,
    event: Tapped,
    node: Node,
) -> None:
    kind, iq_id = node.get("type"), node.get("id", "")
    if kind in ("get", "set"):
        asker = "client" if event.direction == "in" else "server"
        requests[(event.jid, asker, iq_id)] = index
        if _is_ping(node):
            found.noise.add(index)
    elif kind in ("result", "error"):
        asker = "client" if event.direction == "out" else "server"
        request = requests.pop((event.jid, asker, iq_id), None)
        if request is not None:
            found.answer_of[request] = index
            if request in found.noise:
                found.noise.add(index)


def _watch_user(session: _Session, index: int, direction: str, node: Node, name: str) -> None:
    if direction == "out":
        if node.tag == "message":
            session.expected_receipts.append(_auto_receipt(node))
        elif node.tag in ("receipt", "notification"):
            session.ackables += 1
        return
    if node.tag == "presence":
        first = not session.presence_seen and not session.sent_before_presence
        if first and node == _announce(name):
            session.announce_at = index
        session.presence_seen = True
    elif node.tag in ("message", "receipt", "chatstate"):
        session.sent_before_presence = True
    if node.tag == "receipt" and node.get("type") is None:
        if node in session.expected_receipts:
            session.expected_receipts.remove(node)
            session.auto_receipts.append(index)
        else:
            session.manual_delivery = True
    elif node.tag == "ack":
        session.acks += 1


def _note_delivery(found: _Analysis, message: Node, bot: str) -> None:
    if (message.get("participant") or message.get("from")) == bot:
        found.delivered.add(message.get("id", ""))


def _announce(name: str) -> Node:
    """The presence the client library sends right after login (``announce``)."""
    return Node("presence", {"type": "available", "name": name} if name else {"type": "available"})


def _auto_receipt(message: Node) -> Node:
    """The delivery receipt the client library sends for ``message`` by itself."""
    attrs = {"to": message.get("from", ""), "id": message.get("id", "")}
    if message.get("participant"):
        attrs["participant"] = message.get("participant", "")
    return Node("receipt", attrs)


def _is_ping(node: Node) -> bool:
    xmlns = node.get("xmlns")
    return xmlns == "urn:xmpp:ping" or (xmlns == "w:p" and node.child("ping") is not None)


def _owner(direction: str, jid: str, node: Node) -> str:
    """Whose id ``node``'s ``id`` is: the party that chose it (ids repeat between parties)."""
    tag = node.tag
    if tag == "message":
        return jid if direction == "in" else node.get("participant") or node.get("from") or jid
    if tag == "receipt":
        return node.get("participant") or node.get("to") or jid if direction == "in" else jid
    if tag == "iq":
        asks = node.get("type") in ("get", "set")
        if direction == "in":
            return jid if asks else SERVER
        return SERVER if asks else jid
    return jid if direction == "in" else SERVER


def _text(data: bytes | None) -> str | None:
    """``data`` as text, if it is printable UTF-8."""
    if data is None:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if all(ch.isprintable() or ch in "\n\t\r" for ch in text) else None


# ==================================================================== pass 2: writing


@dataclass(frozen=True, slots=True)
class _Ref:
    """How the file writes an id: a capture, or (when none is bound) a literal."""

    capture: str | None
    literal: str

    @property
    def sent(self) -> str:
        """In a stanza a user sends."""
        return f"{{{{{self.capture}}}}}" if self.capture else self.literal

    @property
    def pattern(self) -> str:
        """In a pattern."""
        return f"{{{{{self.capture}}}}}" if self.capture else _literal(self.literal)


class _Writer:
    """Turns events into steps; holds the names, captures and clock of the file."""

    def __init__(
        self,
        events: Sequence[Tapped],
        accounts: Sequence[AccountSpec],
        bot: str,
        options: RecordOptions,
    ) -> None:
        self.events = list(events)
        self.options = options
        self.bot = bot
        self.accounts = {user_jid(a.phone): a for a in accounts}
        if bot not in self.accounts:
            raise ValueError(f"the bot {bot} is not an account of the world")
        self.labels, self.builtins = _labels(accounts, bot)
        self.taken = set(self.labels.values()) | {a.name.casefold() for a in accounts} | RESERVED
        self.counters: dict[str, int] = {}
        self.ids: dict[tuple[str, str], _Ref] = {}
        """(id, the party that chose it) -> how the file writes it."""
        self.values: dict[str, str] = {}
        """Other values the replay cannot repeat (group JIDs, URLs...) -> capture names."""
        self.steps: list[dict[str, Any]] = []
        self.warnings: list[str] = []
        times = [event.at for event in self.events]
        self.window = (min(times, default=0.0), max(times, default=0.0))
        self.analysis = _analyse(
            self.events, bot, {jid: a.name for jid, a in self.accounts.items()}
        )
        self.skip: set[int] = set()
        self.active: dict[str, _Session] = {}
        self.last_at: float | None = None
        self.bot_seen = False
        self.autostart = True
        self.unknown: set[str] = set()

    # ---------------------------------------------------------------- the document

    def document(self) -> dict[str, Any]:
        for index, event in enumerate(self.events):
            self._event(index, event)
        if not self.bot_seen:
            self.autostart = False
            self.warnings.append("the bot never logged in while recording")
        steps = self.steps
        if not steps:
            self.warnings.append("nothing was recorded: no client logged in")
            steps = [{"wait": "0s"}]
        bot: dict[str, Any] = {"account": self._bot_ref()}
        if not self.autostart:
            bot["autostart"] = False
        options: dict[str, Any] = {"start": iso_time(self.window[0])} if self.events else {}
        if self.options.within != DEFAULT_WITHIN:
            options["within"] = format_duration(self.options.within)
        if self.options.seed:
            options["seed"] = self.options.seed
        document: dict[str, Any] = {"name": self.options.name}
        if self.options.description:
            document["description"] = self.options.description
        if self.options.world is not None:
            document["world"] = self.options.world
        else:
            document["world"] = {"accounts": [_account(a) for a in self.accounts.values()]}
        document["bot"] = bot
        if options:
            document["options"] = options
        document["steps"] = steps
        return document

    def _bot_ref(self) -> str:
        account = self.accounts[self.bot]
        name = account.name.casefold()
        unique = sum(1 for a in self.accounts.values() if a.name.casefold() == name) == 1
        if name and unique and not name.isdigit() and name != "server":
            return name
        return account.phone

    # ---------------------------------------------------------------- events

    def _event(self, index: int, event: Tapped) -> None:
        if event.jid not in self.accounts:
            if event.jid not in self.unknown:
                self.unknown.add(event.jid)
                self.warnings.append(f"{event.jid} is not an account of the world: left out")
            return
        if event.direction == "logout":
            if event.jid in self.active:
                self._end_session(event.jid, event.at)
            return
        session = self.analysis.session_of[index]
        assert session is not None
        if self.active.get(event.jid) is not session:
            if event.jid in self.active:
                self._end_session(event.jid, event.at)
            self._start_session(event.jid, session, event.at)
        node = event.node
        if node is None or index in self.analysis.noise or index in self.skip:
            return
        if event.jid == self.bot:
            if event.direction == "in":
                self._bot_sent(event, node)
            else:
                self._received(event, node, "bot")
        elif event.direction == "in":
            self._user_sent(index, event, node)
        else:
            self._received(event, node, self.labels[event.jid])

    def _start_session(self, jid: str, session: _Session, at: float) -> None:
        self.active[jid] = session
        if jid == self.bot:
            first = not self.bot_seen
            self.bot_seen = True
            if first and not self.steps:
                self.last_at = at  # the bot starts by itself, before the first step
                return
            if first:
                self.autostart = False
            self._action(at, {"login": "bot"})
            return
        login: dict[str, Any] = {}
        if session.announce_at is None:
            login["announce"] = False
        if not session.auto_receipt:
            login["auto_receipt"] = False
        if not session.auto_ack:
            login["auto_ack"] = False
        label = self.labels[jid]
        self._action(at, {"login": {"user": label, **login} if login else label})

    def _end_session(self, jid: str, at: float) -> None:
        del self.active[jid]
        self._action(at, {"logout": "bot" if jid == self.bot else self.labels[jid]})

    # ---------------------------------------------------------------- steps and time

    def _action(self, at: float, step: dict[str, Any]) -> None:
        """A step that acts (a user sends, logs in...): after a ``wait`` if there was a pause."""
        if self.last_at is not None:
            pause = math.floor((at - self.last_at) * 10 + 1e-6) / 10
            if pause >= self.options.min_wait:
                self.steps.append({"wait": format_duration(pause)})
        self.steps.append(step)
        self.last_at = at

    def _within(self, at: float) -> str | None:
        took = at - self.last_at if self.last_at is not None else 0.0
        if took > self.options.within / 2:
            return format_duration(math.ceil(took) + self.options.within)
        return None

    def _expect(self, at: float, expectation: dict[str, Any]) -> None:
        within = self._within(at)
        if within is not None:
            expectation["within"] = within
        self.steps.append({"expect": expectation})
        self.last_at = at

    # ---------------------------------------------------------------- what users send

    def _user_sent(self, index: int, event: Tapped, node: Node) -> None:
        label = self.labels[event.jid]
        step: dict[str, Any] | None = None
        if node.tag == "ack":
            return
        if node.tag == "iq":
            step = self._iq_step(index, event, node, label)
        elif node.tag == "message":
            step = self._send(event.jid, label, node)
        elif node.tag == "receipt":
            step = self._receipt(label, node)
        elif node.tag == "chatstate":
            step = self._chatstate(label, node)
        elif node.tag == "presence":
            step = self._presence(event.jid, label, node)
        if step is None:
            owner = _owner("in", event.jid, node)
            raw = self._template(node, owner, fresh=owner == event.jid)
            step = {"raw": {"from": label, "node": raw}}
        self._action(event.at, step)

    def _iq_step(self, index: int, event: Tapped, node: Node, label: str) -> dict[str, Any] | None:
        answer_index = self.analysis.answer_of.get(index)
        if node.get("type") not in ("get", "set") or answer_index is None:
            return None
        answer = self.events[answer_index]
        assert answer.node is not None
        self.skip.add(answer_index)
        request = self._template(node, event.jid, drop_id=True)
        step: dict[str, Any] = {"from": label, "node": request}
        step["result"] = self._pattern(answer.node, "out", event.jid, drop_id=True)
        took = answer.at - event.at
        if took > self.options.within / 2:
            step["within"] = format_duration(math.ceil(took) + self.options.within)
        return {"iq": step}

    def _send(self, jid: str, label: str, node: Node) -> dict[str, Any] | None:
        body = node.child("body")
        text = _text(body.data) if body is not None else None
        msg_id = node.get("id")
        if (
            body is None
            or text is None
            or msg_id is None
            or node.get("to") is None
            or node != Node("message", {"to": node["to"], "type": "text", "id": msg_id}, [body])
            or body.attrs
        ):
            return None
        self._check_sendable(text, f"{label}'s message {text!r}")
        key = (msg_id, jid)
        if key not in self.ids:
            self.ids[key] = _Ref(self._capture("m"), msg_id)
        id_text = self.ids[key].sent
        return {"send": {"from": label, "to": self._peer(node["to"]), "text": text, "id": id_text}}

    def _receipt(self, label: str, node: Node) -> dict[str, Any] | None:
        to, first = node.get("to"), node.get("id")
        rtype = node.get("type", "delivery")
        if to is None or first is None or rtype not in ("delivery", "read", "played"):
            return None
        listed = node.child("list")
        ids = [first, *(item.get("id", "") for item in listed.children)] if listed else [first]
        attrs = {"to": to, "id": first}
        if rtype != "delivery":
            attrs["type"] = rtype
        participant = node.get("participant")
        if participant is not None:
            attrs["participant"] = participant
        items = [Node("item", {"id": i}) for i in ids[1:]]
        if node != Node("receipt", attrs, [Node("list", children=items)] if items else []):
            return None
        owner = participant or to
        refs = [self._send_id(i, owner) for i in ids]
        spec: dict[str, Any] = {"from": label, "to": self._peer(to), "id": refs[0]}
        if len(refs) > 1:
            spec["id"] = refs
        if participant is not None:
            spec["participant"] = self._peer(participant)
        if rtype == "read":
            return {"read": spec}
        if rtype == "played":
            spec["type"] = "played"
        return {"receipt": spec}

    def _chatstate(self, label: str, node: Node) -> dict[str, Any] | None:
        to = node.get("to")
        if to is None or len(node.children) != 1:
            return None
        state = node.children[0].tag
        if state not in ("composing", "paused") or node != Node(
            "chatstate", {"to": to}, [Node(state)]
        ):
            return None
        return {
            "typing" if state == "composing" else "paused": {"from": label, "to": self._peer(to)}
        }

    def _presence(self, jid: str, label: str, node: Node) -> dict[str, Any] | None:
        ptype = node.get("type")
        if ptype not in ("available", "unavailable", "subscribe", "unsubscribe"):
            return None
        spec: dict[str, Any] = {"from": label, "type": ptype}
        attrs = {"type": ptype}
        to = node.get("to")
        if ptype in ("subscribe", "unsubscribe") and to is not None:
            spec["to"] = self._peer(to)
            attrs["to"] = to
        # What the presence step sends: the account's name by default for `available`.
        default = self.accounts[jid].name if ptype == "available" else ""
        name = node.get("name")
        if (name or None) != (default or None):
            spec["name"] = name or ""
        sent = spec.get("name", default)
        if sent:
            attrs["name"] = sent
        return {"presence": spec} if node == Node("presence", attrs) else None

    # ---------------------------------------------------------------- what parties receive

    def _received(self, event: Tapped, node: Node, party: str) -> None:
        if node.tag in SERVER_NOISE:
            return
        kind = self._typed(event.jid, node) or {"node": self._pattern(node, "out", event.jid)}
        self._expect(event.at, {"to": party, **kind})

    def _typed(self, jid: str, node: Node) -> dict[str, Any] | None:
        """The typed form of an expectation for ``node`` (received by ``jid``), if it has one."""
        owner = _owner("out", jid, node)
        sender = node.get("from")
        if sender is None:
            return None
        spec: dict[str, Any]
        if node.tag == "message":
            body = node.child("body")
            text = _text(body.data) if body is not None else None
            if text is None or node.child("media") is not None:
                return None
            spec = {"from": self._jid_pattern(sender), **self._capture_id(node, owner)}
            self._participant(node, spec)
            spec["body"] = _literal(text)
            return {"message": spec}
        if node.tag == "receipt" and not node.children:
            spec = {"from": self._jid_pattern(sender), **self._capture_id(node, owner)}
            spec["type"] = _literal(node.get("type", "delivery"))
            self._participant(node, spec)
            return {"receipt": spec}
        if node.tag == "chatstate" and len(node.children) == 1:
            state = node.children[0].tag
            if state not in ("composing", "paused"):
                return None
            spec = {"from": self._jid_pattern(sender), "state": state}
            self._participant(node, spec)
            return {"chatstate": spec}
        return None

    def _participant(self, node: Node, spec: dict[str, Any]) -> None:
        participant = node.get("participant")
        if participant is not None:
            spec["participant"] = self._jid_pattern(participant)

    def _capture_id(self, node: Node, owner: str) -> dict[str, str]:
        """``{"id": <its capture>}``, or nothing if ``node`` has no id."""
        value = node.get("id")
        if value is None:
            return {}
        return {"id": self._bind_id(value, owner, _PREFIX.get(node.tag, "i"))}

    # ---------------------------------------------------------------- what the bot sends

    def _bot_sent(self, event: Tapped, node: Node) -> None:
        if node.tag == "iq" and node.get("type") in ("get", "set"):
            self._expect(event.at, {"to": "server", "node": self._pattern(node, "in", self.bot)})
        elif node.tag == "message" and node.get("id", "") not in self.analysis.delivered:
            pattern = self._pattern(node, "in", self.bot)
            item: dict[str, Any] = {"to": "server", "node": pattern}
            within = self._within(event.at)
            if within is not None:
                item["within"] = within
            self.steps.append({"unordered": [item]})
            self.last_at = event.at

    # ---------------------------------------------------------------- names and captures

    def _capture(self, prefix: str) -> str:
        while True:
            self.counters[prefix] = self.counters.get(prefix, 0) + 1
            name = f"{prefix}{self.counters[prefix]}"
            if name not in self.taken:
                self.taken.add(name)
                return name

    def _bind_id(self, value: str, owner: str, prefix: str) -> str:
        """An id in a pattern: its capture (binding it here if it is new)."""
        key = (value, owner)
        if key not in self.ids:
            self.ids[key] = _Ref(self._capture(prefix), value)
        return self.ids[key].pattern

    def _bind_value(self, value: str, prefix: str) -> str:
        """Another value the replay cannot repeat, in a pattern: its capture."""
        if value not in self.values:
            self.values[value] = self._capture(prefix)
        return f"{{{{{self.values[value]}}}}}"

    def _send_id(self, value: str, owner: str, *, fresh: bool = False) -> str:
        """An id in a stanza a user sends: its capture if bound, else a literal.

        A ``fresh`` id (one the user makes up, in a ``raw`` step) gets a suffix, so it
        cannot collide with the ids the replay's client makes (``<time>-<counter>``).
        """
        key = (value, owner)
        if key not in self.ids:
            self.ids[key] = _Ref(None, f"{value}{FRESH_SUFFIX}" if fresh else value)
        return self.ids[key].sent

    def _send_value(self, value: str) -> str:
        name = self.values.get(value)
        return value if name is None else f"{{{{{name}}}}}"

    def _peer(self, jid: str) -> str:
        """A destination in a typed step: ``bot``, a user's label, a capture or the JID."""
        if jid == self.bot:
            return "bot"
        if jid in self.labels:
            return self.labels[jid]
        if jid == SERVER:
            return "server"
        return self._send_value(jid)

    def _jid_pattern(self, jid: str) -> str:
        """A JID in a typed expectation: ``bot``, a label, a capture or the JID."""
        if jid == self.bot:
            return "bot"
        if jid in self.labels:
            return self.labels[jid]
        if self._volatile(jid):
            return self._bind_value(jid, "g" if jid.endswith("@g.us") else "v")
        return _literal(jid)

    def _is_timestamp(self, value: str) -> bool:
        if not value.isdigit():
            return False
        return self._in_window(value)

    def _in_window(self, digits: str) -> bool:
        seconds = int(digits) / (1000 if len(digits) == 13 else 1)
        return self.window[0] - TIME_WINDOW <= seconds <= self.window[1] + TIME_WINDOW

    def _volatile(self, value: str) -> bool:
        """Whether ``value`` holds a timestamp of the session (a group JID, a message id...)."""
        return any(self._in_window(run) for run in _DIGIT_RUN.findall(value))

    def _check_sendable(self, text: str, what: str) -> None:
        if "{{" in text:
            self.warnings.append(
                f"{what} holds '{{{{', which a scenario cannot send literally: edit that step"
            )

    # ---------------------------------------------------------------- nodes

    def _pattern(self, node: Node, direction: str, jid: str, *, drop_id: bool = False) -> str:
        """``node`` as a pattern: captures for what the replay cannot repeat, noise left out."""
        owner = _owner(direction, jid, node)
        prefix = _PREFIX.get(node.tag, "i")

        def build(part: Node, top: bool) -> Node:
            attrs: dict[str, str] = {}
            for key, value in part.attrs.items():
                if key in DROPPED_ATTRS or (key == "id" and top and drop_id):
                    continue
                if key == "id" and (top or part.tag == "item"):
                    attrs[key] = self._bind_id(value, owner, prefix)
                elif key == "id":
                    attrs[key] = self._bind_value(value, "i")
                elif value == self.bot or value in self.labels:
                    label = "bot" if value == self.bot else self.labels[value]
                    attrs[key] = f"{{{{{label}}}}}" if label in self.builtins else value
                elif self._is_timestamp(value):
                    continue
                elif key == "url":
                    attrs[key] = self._bind_value(value, "u")
                elif self._volatile(value):
                    attrs[key] = self._bind_value(value, "g" if value.endswith("@g.us") else "v")
                else:
                    attrs[key] = _literal(value)
            children = [build(child, False) for child in part.children]
            text = _text(part.data) if part.data else None
            data = _literal(text) if text is not None and not children else None
            return Node(part.tag, attrs, children, data)

        return build(node, True).to_text()

    def _template(
        self, node: Node, owner: str, *, drop_id: bool = False, fresh: bool = False
    ) -> str:
        """``node`` as a user sends it, with the captures bound so far put back in
        (``fresh``: its id is one the user makes up)."""

        def build(part: Node, top: bool) -> Node:
            attrs: dict[str, str] = {}
            for key, value in part.attrs.items():
                if key == "id" and top and drop_id:
                    continue
                if key == "id" and (top or part.tag == "item"):
                    attrs[key] = self._send_id(value, owner, fresh=fresh and top)
                else:
                    attrs[key] = self._send_value(value)
                self._check_sendable(value, f"the attribute {key}={value!r}")
            children = [build(child, False) for child in part.children]
            if part.data and b"{{" in part.data:
                self._check_sendable(part.text or "", f"the data of <{part.tag}>")
            return Node(part.tag, attrs, children, None if children else part.data)

        return build(node, True).to_text()


def _labels(accounts: Sequence[AccountSpec], bot: str) -> tuple[dict[str, str], set[str]]:
    """JID -> how steps name the account (``bot``, its name in lower case, or its phone),
    and the labels that are captures from the start (``{{alice}}``)."""
    names = [a.name.casefold() for a in accounts]
    labels: dict[str, str] = {}
    for account, name in zip(accounts, names, strict=True):
        jid = user_jid(account.phone)
        if jid == bot:
            labels[jid] = "bot"
        elif name and names.count(name) == 1 and name not in RESERVED and not name.isdigit():
            labels[jid] = name
        else:
            labels[jid] = account.phone
    builtins = {label for label in labels.values() if CAPTURE.fullmatch(f"{{{{{label}}}}}")}
    return labels, builtins


def _literal(text: str) -> str:
    """``text`` as a pattern value matching exactly it (a regex if it would read as one, or
    as a template)."""
    try:
        compiled = compile_value(text)
    except PatternError:
        compiled = None
    if isinstance(compiled, LiteralValue) and compiled.text == text:
        return text
    return "/^" + _REGEX_SPECIAL.sub(r"\\\g<0>", text) + r"\Z/"


def _account(account: AccountSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"phone": account.phone}
    if account.name:
        out["name"] = account.name
    out["password"] = account.effective_password
    if account.kind != "free":
        out["kind"] = account.kind
    if account.status != "active":
        out["status"] = account.status
    return out


def iso_time(at: float) -> str:
    moment = datetime.datetime.fromtimestamp(math.floor(at), tz=datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# ==================================================================== YAML


def dump_scenario(document: dict[str, Any], *, schema: str | None = None) -> str:
    """The scenario as YAML: short steps on one line, long ones in block style."""
    root = CommentedMap()
    for key, value in document.items():
        if key == "world" and isinstance(value, dict):
            root[key] = _block({"accounts": [_flow(a) for a in value["accounts"]]})
        elif key == "steps":
            root[key] = CommentedSeq([_step(step) for step in value])
        else:
            root[key] = _block(value)
    head = f"# yaml-language-server: $schema={schema}\n" if schema else ""
    return head + _dump(root)


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _dump(data: Any) -> str:
    out = io.StringIO()
    _yaml().dump(data, out)
    return out.getvalue()


def _flow(value: Any) -> Any:
    if isinstance(value, dict):
        mapping = CommentedMap((k, _flow(v)) for k, v in value.items())
        mapping.fa.set_flow_style()
        return mapping
    if isinstance(value, list):
        seq = CommentedSeq(_flow(v) for v in value)
        seq.fa.set_flow_style()
        return seq
    return value


def _block(value: Any) -> Any:
    if isinstance(value, dict):
        mapping = CommentedMap(
            (k, v if isinstance(v, CommentedMap | CommentedSeq) else _block(v))
            for k, v in value.items()
        )
        mapping.fa.set_block_style()
        return mapping
    if isinstance(value, list):
        seq = CommentedSeq(
            v if isinstance(v, CommentedMap | CommentedSeq) else _block(v) for v in value
        )
        seq.fa.set_block_style()
        return seq
    return value


def _step(step: dict[str, Any]) -> CommentedMap:
    """A step on one line if it fits, else its mapping in block style (parts on one line)."""
    ((key, value),) = step.items()
    flat = CommentedMap([(key, _flow(value))])
    if not isinstance(value, dict | list) or len(_dump([flat]).rstrip("\n")) <= FLOW_WIDTH:
        return flat
    if isinstance(value, list):
        inner: Any = CommentedSeq(_fits(item) for item in value)
        inner.fa.set_block_style()
    else:
        inner = CommentedMap((k, _flow(v)) for k, v in value.items())
        inner.fa.set_block_style()
    return CommentedMap([(key, inner)])


def _fits(value: Any) -> Any:
    flat = _flow(value)
    if not isinstance(value, dict) or len(_dump([flat]).rstrip("\n")) <= FLOW_WIDTH:
        return flat
    mapping = CommentedMap((k, _flow(v)) for k, v in value.items())
    mapping.fa.set_block_style()
    return mapping
