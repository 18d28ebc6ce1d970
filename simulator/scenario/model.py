"""The scenario FILE models (pydantic v2): what a YAML scenario may say, and its JSON Schema.

Theory of operation
-------------------
These models mirror the YAML and nothing else: ``extra='forbid'``, frozen, a ``$schema``
key allowed. The loader (``loader.py``) validates a file against them, then asks every
step for its plan (``StepSpec.plan``), which checks the names, captures and node patterns
and builds the objects the runner executes (``plan.py``).

Steps, expectation kinds and server actions come from a :class:`Registry`. A step type is
one :class:`StepSpec` subclass with ``KEY`` (its YAML key) and ``plan()``; listing it in
the registry is all it takes to parse it, validate it and put it in the JSON Schema:

* each list item of ``steps`` is a single-key mapping (``- send: {...}``) parsed with a
  callable ``Discriminator`` and one ``Tag`` per key; a wrapper model per step type is
  made here from ``KEY``;
* a spec with ``SHORT_FIELD`` also accepts a scalar (``- wait: 2h``, ``- login: alice``),
  read as that one field; the schema shows both forms;
* expectations (``expect``, ``expect_none``, ``unordered``) and ``server`` actions are
  "one of" mappings whose members come from the registry as well.

Everything registry-dependent is built once per registry (``functools.cache``).
"""

from __future__ import annotations

import datetime
import difflib
import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Optional, Union, cast

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    create_model,
    model_validator,
)
from pydantic_core import PydanticCustomError

from simulator.scenario.durations import DURATION_PATTERN, parse_duration
from simulator.vocabulary import FreeText, PathText, Text
from simulator.world import World

if TYPE_CHECKING:
    from collections.abc import Sequence

    from simulator.scenario.builder import Builder
    from simulator.scenario.match import Pattern
    from simulator.scenario.plan import Step

__all__ = [
    "BotSpec",
    "Duration",
    "ExpectationBase",
    "FileModel",
    "MatcherSpec",
    "Name",
    "Names",
    "OneOf",
    "OptionsSpec",
    "Registry",
    "ScenarioFileBase",
    "ServerActionSpec",
    "StanzaTag",
    "StepSpec",
    "StepWrapper",
    "WorldFile",
    "short_form",
]

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


class FileModel(BaseModel):
    """Base of every file model: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    SHORT_FIELD: ClassVar[str | None] = None
    """If set, a scalar (or list) in place of the mapping is read as this one field."""


def _duration(value: object) -> float:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise PydanticCustomError("duration", str(exc)) from None


Duration = Annotated[
    float,
    BeforeValidator(
        _duration,
        json_schema_input_type=Union[Annotated[str, Field(pattern=DURATION_PATTERN)], float],  # noqa: UP007
    ),
]
"""``500ms``, ``5s``, ``2m``, ``1h``, ``1d`` (combinable: ``1h30m``), or seconds as a number."""


def _text(value: object) -> object:
    # YAML reads an unquoted 491110000001 as an int; a phone number is text.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _one_or_many(value: object) -> object:
    if isinstance(value, str | int) and not isinstance(value, bool):
        return [_text(value)]
    if isinstance(value, list):
        return [_text(item) for item in value]
    return value


Name = Annotated[
    str,
    BeforeValidator(_text, json_schema_input_type=Union[str, int]),  # noqa: UP007
    FreeText("a name, phone or JID, resolved against the world by the builder"),
]
"""A name, phone or JID (an unquoted phone is read as text)."""

Names = Annotated[
    list[Name],
    BeforeValidator(_one_or_many, json_schema_input_type=Union[str, list[str]]),  # noqa: UP007
]
"""One name or a list of names (``participants: bob`` is ``participants: [bob]``)."""


def short_form(cls: type[FileModel]) -> Any:
    """The annotation for a field holding ``cls``: with its short form, if it has one."""
    key = cls.SHORT_FIELD
    if key is None:
        return cls
    info = next(f for name, f in cls.model_fields.items() if key in (name, f.alias))
    short_type: Any = (
        Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
    )

    def expand(value: object) -> object:
        if isinstance(value, dict | BaseModel):
            return value
        return {key: value}

    return Annotated[cls, BeforeValidator(expand, json_schema_input_type=Union[short_type, cls])]  # noqa: UP007


# -------------------------------------------------------------------- extension points


class StepSpec(FileModel):
    """A step type: ``KEY`` is its YAML key; ``plan()`` checks it and builds its plan step."""

    KEY: ClassVar[str]

    def plan(self, b: Builder) -> Step | None:
        """The plan step, or None after reporting problems through ``b``."""
        raise NotImplementedError

    @classmethod
    def specialize(cls, registry: Registry) -> type[StepSpec]:
        """The class to validate with under ``registry`` (steps embedding other registry
        members build a subclass here)."""
        return cls


class MatcherSpec(FileModel):
    """A kind of expectation (``message: {...}``): typed fields that become a pattern."""

    KEY: ClassVar[str]

    def pattern(self, b: Builder, *, exact: bool) -> Pattern | None:
        raise NotImplementedError


class ServerActionSpec(FileModel):
    """Something the fake service does by itself (``server: {ping: bot}``)."""

    KEY: ClassVar[str]

    def plan(self, b: Builder) -> Step | None:
        raise NotImplementedError


class OneOf(FileModel):
    """A mapping that must hold exactly one of the registry members ``ONE_OF``."""

    ONE_OF: ClassVar[tuple[str, ...]] = ()
    WHAT: ClassVar[str] = "one of"

    @model_validator(mode="after")
    def _exactly_one(self) -> OneOf:
        given = [key for key in self.ONE_OF if getattr(self, key) is not None]
        if len(given) != 1:
            listed = ", ".join(self.ONE_OF)
            got = "none" if not given else " and ".join(given)
            raise PydanticCustomError(
                "one_of",
                "{what} needs exactly one of: {listed}; got {got}",
                {"what": self.WHAT, "listed": listed, "got": got},
            )
        return self

    def chosen(self) -> tuple[str, FileModel]:
        for key in self.ONE_OF:
            value = getattr(self, key)
            if value is not None:
                return key, cast("FileModel", value)
        raise AssertionError("validated models hold one member")  # pragma: no cover


def one_of(
    name: str,
    base: type[OneOf],
    members: Sequence[type[MatcherSpec]] | Sequence[type[ServerActionSpec]],
    doc: str,
) -> type[OneOf]:
    """A subclass of ``base`` with one optional field per member, keyed by ``KEY``."""
    fields: dict[str, Any] = {}
    for member in members:
        annotation: Any = Optional[short_form(member)]  # noqa: UP045 -- built at run time
        fields[member.KEY] = (annotation, Field(default=None, description=_first_line(member)))
    model = create_model(name, __base__=base, __doc__=doc, **fields)
    model.ONE_OF = tuple(member.KEY for member in members)
    return model


def _first_line(cls: type) -> str:
    return (cls.__doc__ or "").strip().split("\n")[0]


class ExpectationBase(OneOf):
    """What one party receives: ``to`` and exactly one kind (``message``, ``node``...)."""

    WHAT: ClassVar[str] = "an expectation"

    to: Name
    """Who receives it: a user, ``bot`` (what the server sends to the bot), or ``server``
    (what the bot sends to the server)."""
    within: Duration | None = None
    """How long to wait for it (virtual time; default: ``options.within``, 5s)."""
    optional: bool = False
    """Pass even if it does not come (it is matched and consumed if it does)."""
    exact: bool = False
    """For ``node``: the stanza must have exactly the attributes and children written."""


class StepWrapper(FileModel):
    """A ``steps`` item: a mapping with the step type's key only."""

    KEY: ClassVar[str]

    def spec(self) -> StepSpec:
        return cast("StepSpec", getattr(self, self.KEY))


# -------------------------------------------------------------------- the top level


class WorldFile(FileModel):
    """A world file shared between scenarios (path relative to the scenario file)."""

    SHORT_FIELD: ClassVar[str | None] = "file"

    file: PathText


def _world_kind(value: object) -> str:
    if isinstance(value, str | WorldFile) or (isinstance(value, dict) and "file" in value):
        return "file"
    return "inline"


def _world_file(value: object) -> object:
    return {"file": value} if isinstance(value, str) else value


WorldField = Annotated[
    Annotated[World, Tag("inline")]
    | Annotated[
        WorldFile,
        BeforeValidator(_world_file, json_schema_input_type=str | WorldFile),
        Tag("file"),
    ],
    Discriminator(_world_kind),
]


class BotSpec(FileModel):
    """The account under test and how to run it."""

    account: Name
    """The bot's account in the world: its name or its phone."""
    python: PathText | None = Field(default=None, pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
    """In-process bot ``package.module:callable`` (``async def bot(client) -> None``), imported
    from the scenario's directory, then the current directory."""
    command: list[PathText] | None = Field(default=None, min_length=1)
    """External bot: a program connecting over TCP (env SIM_HOST, SIM_PORT, SIM_PHONE,
    SIM_PASSWORD, SIM_JID), run in the scenario's directory; ``python`` as the first word is
    the interpreter running the simulator."""
    env: dict[Annotated[str, FreeText("a variable name")], Text] = Field(default_factory=dict)
    """Extra environment for an external bot."""
    autostart: bool = True
    """Start the bot before the first step; with false, ``- login: bot`` starts it."""
    announce: bool = True
    """In-process bot: send the available presence after login."""
    auto_receipt: bool = True
    """In-process bot: the client sends delivery receipts by itself."""
    auto_ack: bool = True
    """In-process bot: the client acks receipts and notifications by itself."""
    login_timeout: Duration = 10.0
    """External bot: how long (real time) it may take to log in."""

    @model_validator(mode="after")
    def _one_runner(self) -> BotSpec:
        if self.python is not None and self.command is not None:
            raise PydanticCustomError("bot_runner", "give either python or command, not both")
        return self


StanzaTag = Literal[
    "message",
    "receipt",
    "ack",
    "presence",
    "chatstate",
    "notification",
    "iq",
    "call",
    "ib",
    "stream:error",
]
"""The tags of the stanzas a party receives (the closed set ``options.strict`` picks from)."""


def _default_strict() -> list[StanzaTag]:
    return ["message"]


_DEFAULT_START = datetime.datetime(2015, 1, 1, tzinfo=datetime.UTC)


class OptionsSpec(FileModel):
    """Settings for the whole scenario."""

    within: Duration = 5.0
    """Default time an expectation, iq or ping waits."""
    strict: list[StanzaTag] = Field(default_factory=_default_strict)
    """Stanza tags handled strictly: expectations take them in the order they came, and a
    user must not leave one unmatched at the end. Other tags (acks, receipts, presences...)
    match whichever one fits and may be left over."""
    seed: int = 0
    """Seed of the server's ids and nonces."""
    start: datetime.datetime = _DEFAULT_START
    """Server time at the first step (UTC if no zone is given)."""


class ScenarioFileBase(FileModel):
    """A scenario: a world, the bot under test and the steps."""

    schema_: PathText | None = Field(default=None, alias="$schema")
    name: Text = Field(min_length=1)
    """What the scenario shows, in a few words (the test's name)."""
    description: Text = ""
    world: WorldField
    """The accounts: inline, or the path of a world file."""
    bot: BotSpec | None = None
    options: OptionsSpec = Field(default_factory=OptionsSpec)
    steps: list[Any] = Field(min_length=1)


# -------------------------------------------------------------------- the registry


@dataclass(frozen=True)
class Registry:
    """The step types, expectation kinds and server actions a file may use."""

    steps: tuple[type[StepSpec], ...]
    matchers: tuple[type[MatcherSpec], ...]
    server_actions: tuple[type[ServerActionSpec], ...]

    def __post_init__(self) -> None:
        for kind, members in (
            ("step", self.steps),
            ("matcher", self.matchers),
            ("server action", self.server_actions),
        ):
            keys = [member.KEY for member in members]
            for key in keys:
                if keys.count(key) > 1:
                    raise ValueError(f"the {kind} key {key!r} is registered twice")

    def extend(
        self,
        *,
        steps: Sequence[type[StepSpec]] = (),
        matchers: Sequence[type[MatcherSpec]] = (),
        server_actions: Sequence[type[ServerActionSpec]] = (),
    ) -> Registry:
        """A registry with more members (for project-specific steps)."""
        return Registry(
            self.steps + tuple(steps),
            self.matchers + tuple(matchers),
            self.server_actions + tuple(server_actions),
        )

    def file_model(self) -> type[ScenarioFileBase]:
        """The model a scenario file is validated with."""
        return _file_model(self)

    def expectation_model(self) -> type[ExpectationBase]:
        return _expectation_model(self)

    def server_model(self) -> type[OneOf]:
        return _server_model(self)

    def json_schema(self) -> dict[str, Any]:
        """The JSON Schema of scenario files (for editors: ``$schema`` / yaml-language-server)."""
        schema = self.file_model().model_json_schema(mode="validation")
        return {"$schema": SCHEMA_DIALECT, **schema}


@functools.cache
def _expectation_model(registry: Registry) -> type[ExpectationBase]:
    model = one_of("Expectation", ExpectationBase, registry.matchers, ExpectationBase.__doc__ or "")
    return cast("type[ExpectationBase]", model)


class ServerBase(OneOf):
    """An action of the fake service."""

    WHAT: ClassVar[str] = "a server step"


@functools.cache
def _server_model(registry: Registry) -> type[OneOf]:
    return one_of("ServerAction", ServerBase, registry.server_actions, ServerBase.__doc__ or "")


def _step_key(value: object) -> str | None:
    if isinstance(value, dict):
        return next(iter(value)) if len(value) == 1 else None
    if isinstance(value, StepWrapper):
        return value.KEY
    return None


def _check_step(keys: Sequence[str]) -> Any:
    listed = ", ".join(sorted(keys))

    def check(value: object) -> object:
        if isinstance(value, StepWrapper):
            return value
        if not isinstance(value, dict) or len(value) != 1:
            got = f"keys {', '.join(map(str, value))}" if isinstance(value, dict) else repr(value)
            raise PydanticCustomError(
                "step_shape",
                "a step is a mapping with one key, like `- wait: 2s`; got {got}",
                {"got": got},
            )
        key = next(iter(value))
        if key not in keys:
            close = difflib.get_close_matches(str(key), keys, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise PydanticCustomError(
                "step_key",
                "unknown step {key}{hint}; the steps are: {listed}",
                {"key": repr(key), "hint": hint, "listed": listed},
            )
        return value

    return check


def _wrapper(spec: type[StepSpec]) -> type[StepWrapper]:
    name = spec.__name__.removesuffix("Spec") + "Step"
    model = create_model(
        name,
        __base__=StepWrapper,
        __doc__=spec.__doc__,
        **{spec.KEY: (short_form(spec), ...)},  # type: ignore[call-overload]
    )
    model.KEY = spec.KEY
    return cast("type[StepWrapper]", model)


@functools.cache
def _file_model(registry: Registry) -> type[ScenarioFileBase]:
    wrappers = [_wrapper(step.specialize(registry)) for step in registry.steps]
    members = tuple(Annotated[wrapper, Tag(wrapper.KEY)] for wrapper in wrappers)
    keys = [wrapper.KEY for wrapper in wrappers]
    step_type: Any = Annotated[
        Union[members],  # noqa: UP007 -- built at run time
        Discriminator(_step_key),
        BeforeValidator(_check_step(keys)),
    ]
    return create_model(
        "Scenario",
        __base__=ScenarioFileBase,
        __doc__=ScenarioFileBase.__doc__,
        steps=(list[step_type], Field(min_length=1)),
    )
