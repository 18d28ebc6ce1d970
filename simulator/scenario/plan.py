"""The run plan: what the runner executes, built by the loader from the file models.

The runner never sees YAML. A :class:`Scenario` holds the world, the bot and a tuple of
steps; each step is a small frozen record (data only) with a :class:`Where` (file, line,
step path, the step's YAML) and a ``describe()`` for transcripts; the runtime
(``Runtime.run_step`` in ``runner.py``) dispatches on its type in one place. :data:`Step`
is their union. Several file step types share a plan step:
``send``, ``receipt``, ``read``, ``typing``, ``presence`` and ``raw`` are all a
:class:`Transmit` of a node template; the group, contact, privacy and profile steps are a
:class:`SendIq`; what needs the client library (an upload, block = read the list, set it)
is a :class:`UserAction`, and the service's own doings (hooks, registration over HTTP,
faults) a :class:`ServerAction`. These two carry what to do as data too (a
:data:`ClientOp` or a :data:`ServiceOp`: which operation, on whom, with what), which
``actions.py`` carries out, one ``match`` each, given the :class:`Context` (what of the
run an action may use).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NoReturn, Protocol, TypeAlias

from simulator.records import record
from simulator.scenario.durations import format_duration
from simulator.scenario.match import Pattern, render_pattern

if TYPE_CHECKING:
    from simulator.client import Client
    from simulator.server import Server
    from simulator.server.fault_spec import FaultSpec
    from simulator.server.faults import Fault
    from simulator.wire.node import Node
    from simulator.world import World

__all__ = [
    "AskWebPairing",
    "BotFunction",
    "BotPlan",
    "ClearFaults",
    "ClientOp",
    "CommandBot",
    "Context",
    "EndSession",
    "Expect",
    "ExpectNone",
    "Expectation",
    "ExpireAccount",
    "InProcessBot",
    "Login",
    "Logout",
    "MarkDirty",
    "NotifyContacts",
    "NotifyFeatures",
    "Options",
    "Party",
    "Pay",
    "RegisterCode",
    "ReleaseFault",
    "RequestCode",
    "Restart",
    "Ring",
    "Scenario",
    "SendIq",
    "ServerAction",
    "ServerDeliver",
    "ServerPing",
    "ServerPush",
    "ServiceOp",
    "SetBlocked",
    "SetFault",
    "SetPicture",
    "StartBot",
    "Step",
    "StopBot",
    "SuspendAccount",
    "Transmit",
    "Unordered",
    "Upload",
    "UserAction",
    "Wait",
    "Where",
]

BotFunction: TypeAlias = "Callable[[Client], Awaitable[None]]"
"""An in-process bot: ``async def bot(client: Client) -> None``, given a logged-in client,
or ``async def bot(connect) -> None`` (the parameter's name tells them apart), given a
function opening a new logged-in client each time, for a bot that logs in again by itself
(typed as the first: cast such a function to ``BotFunction`` to pass it as an override)."""


@record(kw_only=True)
class Where:
    """Where a step is written: for failure reports and problems."""

    path: str
    line: int | None
    step: str
    """The step path, ``steps[3]`` or ``steps[3].unordered[1]``."""
    source: str = ""
    """The step's YAML as written."""

    def __str__(self) -> str:
        line = f":{self.line}" if self.line is not None else ""
        return f"{self.path}{line}: at {self.step}"


@record(kw_only=True)
class Party:
    """An account of the world as a scenario names it."""

    label: str
    """How steps refer to it: ``alice`` (its name, lower case), ``bot``, or its phone."""
    phone: str
    jid: str
    password: str
    name: str = ""


@record(kw_only=True)
class Options:
    """Scenario-wide settings (the ``options:`` key)."""

    within: float = 5.0
    strict: frozenset[str] = frozenset({"message"})
    seed: int = 0
    epoch: float = 1_420_070_400.0


# -------------------------------------------------------------------- the bot


@record(kw_only=True)
class InProcessBot:
    """A bot callable run in the scenario's trio run, on its virtual clock."""

    target: str
    """How it was named (``bots.echo:run``), for reports."""
    function: BotFunction = field(compare=False)


@record(kw_only=True)
class CommandBot:
    """An external program that logs in over TCP, on the real clock.

    It gets ``SIM_HOST``, ``SIM_PORT``, ``SIM_PHONE``, ``SIM_PASSWORD`` and ``SIM_JID`` in
    its environment, runs in ``cwd``, and is terminated when the scenario ends.
    """

    argv: tuple[str, ...]
    cwd: Path | None = None
    env: Mapping[str, str] = field(default_factory=dict)


@record(kw_only=True)
class BotPlan:
    """The account under test and how to run it (``runner=None``: given at run time)."""

    party: Party
    runner: InProcessBot | CommandBot | None
    autostart: bool = True
    announce: bool = True
    auto_receipt: bool = True
    auto_ack: bool = True
    login_timeout: float = 10.0
    where: Where | None = None


@dataclass(frozen=True, kw_only=True)
class Scenario:
    """A loaded scenario, ready to run (see :func:`~simulator.scenario.load_scenario`)."""

    name: str
    description: str = ""
    path: Path | None = None
    line: int | None = None
    world: World
    parties: tuple[Party, ...]
    bot: BotPlan | None
    steps: tuple[Step, ...]
    options: Options = field(default_factory=Options)
    builtins: Mapping[str, str] = field(default_factory=dict)
    """Captures bound from the start: every party's label -> its JID, ``server``."""

    def party(self, jid: str) -> Party | None:
        for party in self.parties:
            if party.jid == jid:
                return party
        return None


# -------------------------------------------------------------------- steps


class Context(Protocol):
    """What of the run a :class:`UserAction` or :class:`ServerAction` may use."""

    @property
    def server(self) -> Server: ...

    @property
    def passwords(self) -> dict[str, str]:
        """Label -> the password registration issued (``code_register``) for the run."""
        ...

    def render_text(self, text: str) -> str:
        """``text`` with its captures filled in."""
        ...

    def bind(self, bound: Mapping[str, str]) -> None:
        """Bind these captures from now on."""
        ...

    def fail(self, summary: str) -> NoReturn:
        """Fail the step."""
        ...

    def note(self, text: str) -> None:
        """A line of the transcript."""
        ...

    @property
    def named_faults(self) -> dict[str, Fault]:
        """Name -> the fault a ``fault`` step set ``as`` it."""
        ...

    def fault_set(self, fault: Fault, name: str | None) -> None:
        """A fault step set ``fault`` (``as: name``): noted, and kept under its name."""
        ...


@record(kw_only=True)
class Login:
    where: Where
    party: Party
    passive: bool = False
    announce: bool = True
    auto_receipt: bool = True
    auto_ack: bool = True

    def describe(self) -> str:
        return f"login {self.party.label}"


@record(kw_only=True)
class Logout:
    where: Where
    party: Party

    def describe(self) -> str:
        return f"logout {self.party.label}"


@record(kw_only=True)
class StartBot:
    where: Where
    unless_running: bool = False
    """A fault or a restart before may have ended the bot's session: start it only if
    it does not run (connected, or logging in again by itself)."""

    def describe(self) -> str:
        return (
            "login bot (start it unless it runs)" if self.unless_running else "login bot (start it)"
        )


@record(kw_only=True)
class StopBot:
    where: Where
    if_running: bool = False
    """A fault or a restart before may have ended the bot's session: stop it if it runs."""

    def describe(self) -> str:
        return "logout bot (stop it if it runs)" if self.if_running else "logout bot (stop it)"


@record(kw_only=True)
class Transmit:
    """A user sends a stanza (a node template: ``{{captures}}`` are filled in at run time).

    ``new_id``: if the node has no ``id``, the client makes one (its usual
    ``<t>-<counter>``). ``bind_id``: that capture is bound to the id, if not bound yet
    (``id: "{{m1}}"`` in a send).
    """

    where: Where
    party: Party
    node: Node
    summary: str
    new_id: bool = False
    bind_id: str | None = None

    def describe(self) -> str:
        return self.summary


@record(kw_only=True)
class SendIq:
    """A user sends an iq and checks the answer against ``result``."""

    where: Where
    party: Party
    node: Node
    result: Pattern
    within: float | None = None
    summary: str = ""
    """What the iq does, for transcripts (default ``iq from <user>``)."""
    bind_group: str | None = None
    """Bind this capture to the JID of the group the answer names (``create_group``)."""

    def describe(self) -> str:
        return self.summary or f"iq from {self.party.label}"


# -------------------------------------------------------------------- what a user does
# Templates (``str`` holding ``{{captures}}``) are filled in when the action runs.


@record(kw_only=True)
class SetBlocked:
    """Block (or unblock) users one by one, as ``Client.block`` does (read the list, set it)."""

    targets: tuple[str, ...]
    """JID templates."""
    block: bool


@record(kw_only=True)
class SetPicture:
    """Set (``image``) or delete (None) the profile picture of ``to`` (the user or a group)."""

    to: str
    """A JID template."""
    image: bytes | None = field(repr=False)


@record(kw_only=True)
class Upload:
    """Upload a file over the HTTP side and send it, as ``Client.upload_media`` does."""

    to: str
    """A JID template."""
    data: bytes = field(repr=False)
    kind: str
    filename: str
    caption: str | None = None
    """A text template."""
    mimetype: str | None = None
    bind_id: str | None = None
    """Bind this capture to the id of the message sent."""


ClientOp: TypeAlias = SetBlocked | SetPicture | Upload
"""What a :class:`UserAction` does with the user's client."""


# -------------------------------------------------------------------- what the service does


@record(kw_only=True)
class NotifyContacts:
    """Tell everyone who synced ``jid`` that it registered, left or changed."""

    jid: str
    change: Literal["add", "remove", "update"]


@record(kw_only=True)
class Ring:
    """An incoming call offer from ``caller`` (``callee`` must be connected)."""

    caller: Party
    callee: Party


@record(kw_only=True)
class Pay:
    """A payment: ``party`` is paid for ``delta`` more days (by ``author``, if given)."""

    party: Party
    author: str | None
    delta: int
    sku: str


@record(kw_only=True)
class MarkDirty:
    """Dirty flags for a connected party."""

    party: Party
    categories: tuple[str, ...]


@record(kw_only=True)
class AskWebPairing:
    """WhatsApp Web asks ``jid`` to pair."""

    jid: str
    sync: bytes
    code: bytes
    name: bytes


@record(kw_only=True)
class NotifyFeatures:
    """``sender``'s capabilities changed, told to ``jid``."""

    jid: str
    sender: str
    encrypt: str


@record(kw_only=True)
class EndSession:
    """The service ends a connected party's session: a stream error (``disconnect``, with
    ``reason``), another login taking it (``conflict``), or a dropped connection (``kill``)."""

    party: Party
    how: Literal["disconnect", "conflict", "kill"]
    reason: str = "system-shutdown"


@record(kw_only=True)
class RequestCode:
    """Ask for a registration code (``/v2/code``); the answer is checked as a node."""

    cc: str
    number: str
    identity: str
    method: str


@record(kw_only=True)
class RegisterCode:
    """Submit a code (``/v2/register``): ``code`` (a template), or the one last sent; the
    password it issues is ``party``'s from then on."""

    party: Party
    cc: str
    number: str
    identity: str
    code: str | None


@record(kw_only=True)
class SetFault:
    """Set a fault on the server (kept as ``name``, if given)."""

    spec: FaultSpec
    name: str | None


@record(kw_only=True)
class ExpireAccount:
    """The account's subscription runs out."""

    party: Party


@record(kw_only=True)
class SuspendAccount:
    """The account is banned (for ``for_`` seconds, or until its fault is cleared)."""

    party: Party
    for_: float | None
    name: str | None


@record(kw_only=True)
class ReleaseFault:
    """What the named ``hold`` fault keeps goes on."""

    name: str


@record(kw_only=True)
class ClearFaults:
    """The named fault ends (``all``: every fault)."""

    name: str


ServiceOp: TypeAlias = (
    NotifyContacts
    | Ring
    | Pay
    | MarkDirty
    | AskWebPairing
    | NotifyFeatures
    | EndSession
    | RequestCode
    | RegisterCode
    | SetFault
    | ExpireAccount
    | SuspendAccount
    | ReleaseFault
    | ClearFaults
)
"""What a :class:`ServerAction` does."""


@record(kw_only=True)
class UserAction:
    """A user does something through its client library (two iqs, an upload...) and the
    service's answer must match ``result`` (an action with no answer of its own answered
    a plain ``<iq type="result"/>``)."""

    where: Where
    party: Party
    summary: str
    action: ClientOp
    result: Pattern | None = None
    within: float | None = None

    def describe(self) -> str:
        return self.summary


@record(kw_only=True)
class ServerAction:
    """The service does something (a hook of a flow, a registration request, a fault...);
    an answer it returns must match ``result``."""

    where: Where
    summary: str
    action: ServiceOp
    result: Pattern | None = None
    answer_note: str = "the answer"
    party: str | None = None
    """Whose answer it is, for reports."""

    def describe(self) -> str:
        return self.summary


@record(kw_only=True)
class ServerPing:
    """The server pings a connected party and waits for the answer."""

    where: Where
    party: Party
    within: float | None = None

    def describe(self) -> str:
        return f"server pings {self.party.label}"


@record(kw_only=True)
class ServerDeliver:
    """The server delivers a stanza, kept until acknowledged (messages, receipts,
    notifications): live if the party is connected, else at its next login."""

    where: Where
    party: Party
    node: Node

    def describe(self) -> str:
        return f"server delivers <{self.node.tag}> to {self.party.label}"


@record(kw_only=True)
class ServerPush:
    """The server sends any stanza to a connected party, once."""

    where: Where
    party: Party
    node: Node

    def describe(self) -> str:
        return f"server pushes <{self.node.tag}> to {self.party.label}"


@record(kw_only=True)
class Wait:
    where: Where
    seconds: float

    def describe(self) -> str:
        return f"wait {format_duration(self.seconds)}"


@record(kw_only=True)
class Expectation:
    """What one party should (or should not) receive."""

    where: Where
    party: str
    """A party label, or ``server`` for what the bot sends."""
    pattern: Pattern
    within: float | None = None
    """None: the scenario's default."""
    optional: bool = False
    label: str = ""
    """What is expected, for reports: ``a message``."""

    def describe(self) -> str:
        return f"expect {self.party} <- {render_pattern(self.pattern, {}, indent=None)}"


@record(kw_only=True)
class Expect:
    where: Where
    expectation: Expectation

    def describe(self) -> str:
        return self.expectation.describe()


@record(kw_only=True)
class ExpectNone:
    where: Where
    expectation: Expectation

    def describe(self) -> str:
        return "expect none: " + self.expectation.describe().removeprefix("expect ")


@record(kw_only=True)
class Unordered:
    where: Where
    expectations: tuple[Expectation, ...]

    def describe(self) -> str:
        return f"unordered: {len(self.expectations)} expectations"


@record(kw_only=True)
class Restart:
    """The server restarts (``Server.restart``): every session drops; the users logged in
    by steps log in again."""

    where: Where
    goodbye: bool = False

    def describe(self) -> str:
        return "the server restarts" + (" (with a goodbye)" if self.goodbye else "")


Step: TypeAlias = (
    Login
    | Logout
    | StartBot
    | StopBot
    | Transmit
    | SendIq
    | UserAction
    | ServerAction
    | ServerPing
    | ServerDeliver
    | ServerPush
    | Restart
    | Wait
    | Expect
    | ExpectNone
    | Unordered
)
"""One step of the plan."""
