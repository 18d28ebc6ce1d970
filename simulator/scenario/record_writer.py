"""Writing a recorded session as a scenario: the pure half of ``serve --record``.

A list of :class:`Tapped` events (what users and the bot sent and received, with server
times) becomes a scenario in two passes: an analysis of each session (what its client did
by itself: announce presence, automatic receipts and acks), then a writer that turns user
actions into steps and deliveries into expectations, with captures for ids and
timestamps. Each step is the typed spec of its step class, made by the class's own
``record`` (the inverse of its ``plan``; :mod:`simulator.scenario.recorded`); the file is
those models dumped. No trio and no server here: :mod:`simulator.scenario.record` taps a
live server and calls :func:`record_scenario`. The rules are in that module's docstring.
"""

from __future__ import annotations

import datetime
import io
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal, TypeAlias

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from simulator import stanzas
from simulator.jid import SERVER, user_jid
from simulator.records import record
from simulator.scenario.document import STEP_TYPES, ScenarioFile
from simulator.scenario.expectation import Expectation
from simulator.scenario.match import CAPTURE
from simulator.scenario.model import BotSpec, OptionsSpec, StepSpec, StepWrapper, WorldFile
from simulator.scenario.recorded import Direction as Way
from simulator.scenario.recorded import literal, printable
from simulator.scenario.steps import (
    ExpectSpec,
    IqSpec,
    LoginSpec,
    LogoutSpec,
    PausedSpec,
    PresenceSpec,
    RawSpec,
    ReadSpec,
    ReceiptSpec,
    SendSpec,
    TypingSpec,
    UnorderedSpec,
    WaitSpec,
)
from simulator.wire.node import Node
from simulator.world import AccountSpec, World

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
Json: TypeAlias = "str | int | float | bool | list[Json] | dict[str, Json] | None"
"""A scenario file's data as YAML writes it."""

RESERVED: Final = frozenset({"bot", "server"})
DROPPED_ATTRS: Final = frozenset({"t", "offline", "notify"})
"""Attributes left out of patterns: times, the offline flag, push names."""
TIME_WINDOW: Final = 2 * 86_400.0
"""A number within this many seconds of the session is taken for one of its timestamps."""
FLOW_WIDTH: Final = 100
"""Steps whose one-line form is longer than this are written in block style."""
_DIGIT_RUN: Final = re.compile(r"(?<!\d)(\d{13}|\d{10})(?!\d)")
DEFAULT_WITHIN: Final = 5.0
FRESH_SUFFIX: Final = "-rec"
"""Added to the ids users make up in ``raw`` steps (see ``_Writer.sent_id``)."""
_WRAPPERS: Final[Mapping[str, type[StepWrapper]]] = {w.KEY: w for w in STEP_TYPES}
"""Step key -> the one-key model of ``steps`` that holds the spec."""
RECORDED_STEPS: Final[tuple[type[StepSpec], ...]] = (
    LoginSpec,
    LogoutSpec,
    SendSpec,
    ReceiptSpec,
    ReadSpec,
    TypingSpec,
    PausedSpec,
    PresenceSpec,
    IqSpec,
    RawSpec,
    WaitSpec,
    ExpectSpec,
    UnorderedSpec,
)
"""The step classes the recorder writes (each its own ``record``, or its plain fields)."""


@record
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


@record(kw_only=True)
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


@record
class Recording:
    """A recorded scenario: the file's text, its typed model, and what could not be
    recorded well."""

    text: str
    scenario: ScenarioFile
    warnings: tuple[str, ...]

    @property
    def steps(self) -> int:
        return len(self.scenario.steps)

    @property
    def document(self) -> dict[str, Json]:
        """The file's data (what its YAML holds): the model dumped as the file is."""
        return scenario_data(self.scenario)


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
    scenario = writer.scenario()
    return Recording(
        text=dump_scenario(scenario, schema=options.schema),
        scenario=scenario,
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
        if (iq := stanzas.iq.recognize(node)) is not None:
            _pair_iq(found, requests, index, event, iq)
        elif event.direction == "out" and event.jid != bot:
            message = stanzas.message.recognize(node)
            if message is not None and (message.participant or message.sender) == bot:
                found.delivered.add(message.id)
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
    iq: stanzas.iq.Iq,
) -> None:
    if iq.type in ("get", "set"):
        asker = "client" if event.direction == "in" else "server"
        requests[(event.jid, asker, iq.id)] = index
        if _is_ping(iq):
            found.noise.add(index)
    elif iq.type in ("result", "error"):
        asker = "client" if event.direction == "out" else "server"
        request = requests.pop((event.jid, asker, iq.id), None)
        if request is not None:
            found.answer_of[request] = index
            if request in found.noise:
                found.noise.add(index)


def _watch_user(session: _Session, index: int, direction: str, node: Node, name: str) -> None:
    """What a user's client did: the announce presence, automatic receipts and acks are
    what the client library sends (:mod:`simulator.stanzas`), compared node for node."""
    if direction == "out":
        if stanzas.message.recognize(node) is not None:
            session.expected_receipts.append(stanzas.receipt.delivery_for(node))
        elif stanzas.receipt.recognize(node) or stanzas.notification.recognize(node):
            session.ackables += 1
        return
    if stanzas.presence.recognize(node) is not None:
        first = not session.presence_seen and not session.sent_before_presence
        if first and node == stanzas.presence.available(name=name):
            session.announce_at = index
        session.presence_seen = True
    elif (
        stanzas.message.recognize(node)
        or stanzas.receipt.recognize(node)
        or stanzas.chatstate.recognize(node)
    ):
        session.sent_before_presence = True
    receipt = stanzas.receipt.recognize(node)
    if receipt is not None and receipt.type is None:
        if node in session.expected_receipts:
            session.expected_receipts.remove(node)
            session.auto_receipts.append(index)
        else:
            session.manual_delivery = True
    elif stanzas.ack.recognize(node) is not None:
        session.acks += 1


def _is_ping(iq: stanzas.iq.Iq) -> bool:
    return iq.xmlns == stanzas.iq.PING_XMLNS or (iq.xmlns == "w:p" and iq.child == "ping")


def _is_noise(node: Node) -> bool:
    """What the server sends that never becomes an expectation: acks, presences, ``ib``
    (the offline marker, dirty flags) and stream errors."""
    return bool(
        stanzas.ack.recognize(node)
        or stanzas.presence.recognize(node)
        or stanzas.ib.recognize(node)
        or stanzas.errors.recognize_stream_error(node)
    )


def _owner(direction: Way, jid: str, node: Node) -> str:
    """Whose id ``node``'s ``id`` is: the party that chose it (ids repeat between parties)."""
    if (message := stanzas.message.recognize(node)) is not None:
        return jid if direction == "in" else message.participant or message.sender or jid
    if (receipt := stanzas.receipt.recognize(node)) is not None:
        return receipt.participant or receipt.to or jid if direction == "in" else jid
    if (iq := stanzas.iq.recognize(node)) is not None:
        asks = iq.type in ("get", "set")
        if direction == "in":
            return jid if asks else SERVER
        return SERVER if asks else jid
    return jid if direction == "in" else SERVER


def _prefix(node: Node) -> str:
    """The prefix of the captures of ``node``'s id: ``m`` (messages and the receipts of
    messages), ``q`` (iqs), ``n`` (notifications), else ``i``."""
    if stanzas.message.recognize(node) or stanzas.receipt.recognize(node):
        return "m"
    if stanzas.iq.recognize(node):
        return "q"
    return "n" if stanzas.notification.recognize(node) else "i"


# ==================================================================== pass 2: writing


@record
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
        return f"{{{{{self.capture}}}}}" if self.capture else literal(self.literal)


class _Writer:
    """Turns events into steps; holds the names, captures and clock of the file. It is the
    :class:`~simulator.scenario.recorded.Recorder` the step classes' ``record`` ask."""

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
        self.steps: list[StepSpec] = []
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

    # ---------------------------------------------------------------- the scenario

    def scenario(self) -> ScenarioFile:
        for index, event in enumerate(self.events):
            self._event(index, event)
        if not self.bot_seen:
            self.autostart = False
            self.warnings.append("the bot never logged in while recording")
        steps = self.steps
        if not steps:
            self.warnings.append("nothing was recorded: no client logged in")
            steps = [WaitSpec(duration=0.0)]
        bot = BotSpec(account=self._bot_ref())
        if not self.autostart:
            bot = BotSpec(account=self._bot_ref(), autostart=False)
        options: dict[str, float | int | datetime.datetime] = {}
        if self.events:
            options["start"] = _moment(self.window[0])
        if self.options.within != DEFAULT_WITHIN:
            options["within"] = self.options.within
        if self.options.seed:
            options["seed"] = self.options.seed
        world: World | WorldFile = (
            WorldFile(file=self.options.world)
            if self.options.world is not None
            else World(accounts=[_account(a) for a in self.accounts.values()])
        )
        head: dict[str, str | World | WorldFile | BotSpec | OptionsSpec | list[StepWrapper]]
        head = {"name": self.options.name}
        if self.options.description:
            head["description"] = self.options.description
        head |= {"world": world, "bot": bot}
        if options:
            head["options"] = OptionsSpec.model_validate(options)
        head["steps"] = [_WRAPPERS[step.KEY].model_validate({step.KEY: step}) for step in steps]
        return ScenarioFile.model_validate(head)

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
            self._action(at, LoginSpec.record("bot"))
            return
        login = LoginSpec.record(
            self.labels[jid],
            announce=session.announce_at is not None,
            auto_receipt=session.auto_receipt,
            auto_ack=session.auto_ack,
        )
        self._action(at, login)

    def _end_session(self, jid: str, at: float) -> None:
        del self.active[jid]
        self._action(at, LogoutSpec(user="bot" if jid == self.bot else self.labels[jid]))

    # ---------------------------------------------------------------- steps and time

    def _action(self, at: float, step: StepSpec) -> None:
        """A step that acts (a user sends, logs in...): after a ``wait`` if there was a pause."""
        if self.last_at is not None:
            pause = math.floor((at - self.last_at) * 10 + 1e-6) / 10
            if pause >= self.options.min_wait:
                self.steps.append(WaitSpec(duration=pause))
        self.steps.append(step)
        self.last_at = at

    def _within(self, took: float) -> float | None:
        """The ``within`` of what came ``took`` seconds after the step before, if the
        default is too short for it."""
        if took > self.options.within / 2:
            return math.ceil(took) + self.options.within
        return None

    def _since_last(self, at: float) -> float:
        return at - self.last_at if self.last_at is not None else 0.0

    # ---------------------------------------------------------------- what users send

    def _user_sent(self, index: int, event: Tapped, node: Node) -> None:
        if stanzas.ack.recognize(node) is not None:
            return
        label, jid = self.labels[event.jid], event.jid
        step: StepSpec | None
        if stanzas.iq.recognize(node) is not None:
            step = self._iq_step(index, event, node, label)
        else:
            step = (
                SendSpec.record(self, label, jid, node)
                or ReceiptSpec.record(self, label, node)
                or ReadSpec.record(self, label, node)
                or TypingSpec.record(self, label, node)
                or PausedSpec.record(self, label, node)
                or PresenceSpec.record(self, label, jid, node)
            )
        self._action(event.at, step or RawSpec.record(self, label, jid, node))

    def _iq_step(self, index: int, event: Tapped, node: Node, label: str) -> IqSpec | None:
        answer_index = self.analysis.answer_of.get(index)
        if answer_index is None:
            return None
        answer = self.events[answer_index]
        assert answer.node is not None
        step = IqSpec.record(
            self, label, event.jid, node, answer.node, self._within(answer.at - event.at)
        )
        if step is not None:
            self.skip.add(answer_index)
        return step

    # ---------------------------------------------------------------- what parties receive

    def _received(self, event: Tapped, node: Node, party: str) -> None:
        if _is_noise(node):
            return
        within = self._within(self._since_last(event.at))
        expect = ExpectSpec.record(self, party, node, "out", event.jid, within=within)
        self.steps.append(expect)
        self.last_at = event.at

    # ---------------------------------------------------------------- what the bot sends

    def _bot_sent(self, event: Tapped, node: Node) -> None:
        within = self._within(self._since_last(event.at))
        iq = stanzas.iq.recognize(node)
        if iq is not None and iq.type in ("get", "set"):
            self.steps.append(
                ExpectSpec.record(self, "server", node, "in", self.bot, within=within)
            )
        elif (message := stanzas.message.recognize(node)) is not None and (
            message.id not in self.analysis.delivered
        ):
            item = Expectation.record(self, "server", node, "in", self.bot, within=within)
            self.steps.append(UnorderedSpec(expect=[item]))
        else:
            return
        self.last_at = event.at

    # ---------------------------------------------------------------- the Recorder

    def peer(self, jid: str) -> str:
        if jid == self.bot:
            return "bot"
        if jid in self.labels:
            return self.labels[jid]
        if jid == SERVER:
            return "server"
        return self._send_value(jid)

    def jid_pattern(self, jid: str) -> str:
        if jid == self.bot:
            return "bot"
        if jid in self.labels:
            return self.labels[jid]
        if self._volatile(jid):
            return self._bind_value(jid, "g" if jid.endswith("@g.us") else "v")
        return literal(jid)

    def received_id(self, node: Node, jid: str) -> str | None:
        value = node.get("id")
        if value is None:
            return None
        return self._bind_id(value, _owner("out", jid, node), _prefix(node))

    def message_id(self, value: str, jid: str) -> str:
        key = (value, jid)
        if key not in self.ids:
            self.ids[key] = _Ref(self._capture("m"), value)
        return self.ids[key].sent

    def sent_id(self, value: str, owner: str) -> str:
        return self._send_id(value, owner)

    def template(self, node: Node, jid: str, *, drop_id: bool = False) -> str:
        owner = _owner("in", jid, node)
        return self._template(node, owner, drop_id=drop_id, fresh=owner == jid)

    def pattern(self, node: Node, direction: Way, jid: str, *, drop_id: bool = False) -> str:
        return self._pattern(node, direction, jid, drop_id=drop_id)

    def sendable(self, text: str, what: str) -> str:
        self._check_sendable(text, what)
        return text

    def push_name(self, jid: str) -> str:
        return self.accounts[jid].name

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

    def _pattern(self, node: Node, direction: Way, jid: str, *, drop_id: bool = False) -> str:
        """``node`` as a pattern: captures for what the replay cannot repeat, noise left out."""
        owner = _owner(direction, jid, node)
        prefix = _prefix(node)

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
                    attrs[key] = literal(value)
            children = [build(child, False) for child in part.children]
            text = printable(part.data) if part.data else None
            data = literal(text) if text is not None and not children else None
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


def _account(account: AccountSpec) -> AccountSpec:
    """An account as the file writes it: name, kind and status only where they are not
    the defaults, the password always (the replay must log in with it)."""
    fields = {"phone": account.phone}
    if account.name:
        fields["name"] = account.name
    fields["password"] = account.effective_password
    if account.kind != "free":
        fields["kind"] = account.kind
    if account.status != "active":
        fields["status"] = account.status
    return AccountSpec.model_validate(fields)


def _moment(at: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(math.floor(at), tz=datetime.UTC)


def iso_time(at: float) -> str:
    return _moment(at).strftime("%Y-%m-%dT%H:%M:%SZ")


# ==================================================================== YAML


def scenario_data(scenario: ScenarioFile) -> dict[str, Json]:
    """What the file of ``scenario`` holds: the fields given, by their YAML names, in the
    models' order, durations as users write them, a model holding only its short field as
    that value (``- wait: 2s``)."""
    data: dict[str, Json] = scenario.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return data


def dump_scenario(scenario: ScenarioFile, *, schema: str | None = None) -> str:
    """The scenario as YAML: short steps on one line, long ones in block style."""
    root = CommentedMap()
    for key, value in scenario_data(scenario).items():
        if key == "world" and isinstance(value, dict):
            world = CommentedMap((k, _items_flow(v)) for k, v in value.items())
            world.fa.set_block_style()
            root[key] = world
        elif key == "steps" and isinstance(value, list):
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


def _dump(data: object) -> str:
    out = io.StringIO()
    _yaml().dump(data, out)
    return out.getvalue()


def _items_flow(value: Json) -> object:
    """A list of the world (accounts...) with each item on one line."""
    if isinstance(value, list):
        return _block_seq([_flow(item) for item in value])
    return _block(value)


def _flow(value: Json) -> object:
    if isinstance(value, dict):
        mapping = CommentedMap((k, _flow(v)) for k, v in value.items())
        mapping.fa.set_flow_style()
        return mapping
    if isinstance(value, list):
        seq = CommentedSeq(_flow(v) for v in value)
        seq.fa.set_flow_style()
        return seq
    return value


def _block_seq(items: list[object]) -> object:
    seq = CommentedSeq(items)
    seq.fa.set_block_style()
    return seq


def _block(value: Json) -> object:
    if isinstance(value, dict):
        mapping = CommentedMap((k, _block(v)) for k, v in value.items())
        mapping.fa.set_block_style()
        return mapping
    if isinstance(value, list):
        return _block_seq([_block(v) for v in value])
    return value


def _step(step: Json) -> object:
    """A step on one line if it fits, else its mapping in block style (parts on one line)."""
    assert isinstance(step, dict), "a step is a mapping with one key"
    ((key, value),) = step.items()
    flat = CommentedMap([(key, _flow(value))])
    if not isinstance(value, dict | list) or len(_dump([flat]).rstrip("\n")) <= FLOW_WIDTH:
        return flat
    if isinstance(value, list):
        inner = _block_seq([_fits(item) for item in value])
    else:
        inner = CommentedMap((k, _flow(v)) for k, v in value.items())
        inner.fa.set_block_style()
    return CommentedMap([(key, inner)])


def _fits(value: Json) -> object:
    flat = _flow(value)
    if not isinstance(value, dict) or len(_dump([flat]).rstrip("\n")) <= FLOW_WIDTH:
        return flat
    mapping = CommentedMap((k, _flow(v)) for k, v in value.items())
    mapping.fa.set_block_style()
    return mapping
