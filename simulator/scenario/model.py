"""The bases of the scenario FILE models (pydantic v2): what a YAML scenario may say.

Theory of operation
-------------------
These models mirror the YAML and nothing else: ``extra='forbid'``, frozen, a ``$schema``
key allowed. The loader (``loader.py``) validates a file against
:class:`~simulator.scenario.document.ScenarioFile`, then asks every step for its plan
(``StepSpec.plan``), which checks the names, captures and node patterns and builds the
objects the runner executes (``plan.py``).

Every model is a plain, static class:

* a step type is one :class:`StepSpec` subclass with ``KEY`` (its YAML key), its fields
  and ``plan()``; ``document.py`` wraps it in a one-key model (``- send: {...}``) and
  lists it in the union of steps (its table ``_STEPS``);
* a spec with ``SHORT_FIELD`` also accepts a scalar (``- wait: 2h``, ``- login: alice``),
  read as that one field: annotate a field holding it ``Annotated[Spec, short_form(Spec)]``
  (the schema shows both forms);
* expectations (``expect``, ``expect_none``, ``unordered``) and ``server`` actions are
  :class:`OneOf` mappings: one optional field per kind, exactly one given.
"""

from __future__ import annotations

import datetime
import difflib
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, ClassVar, Literal, Union

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    PlainSerializer,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    Tag,
    model_serializer,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from simulator.scenario.durations import DURATION_PATTERN, format_duration, parse_duration
from simulator.vocabulary import FreeText, PathText, Text
from simulator.world import World

if TYPE_CHECKING:
    from pydantic.fields import FieldInfo

    from simulator.scenario.builder import Builder
    from simulator.scenario.match import Pattern
    from simulator.scenario.plan import Step

__all__ = [
    "BUILT_WHEN_USED",
    "BotSpec",
    "BuiltWhenUsed",
    "Duration",
    "FileModel",
    "MatcherSpec",
    "Name",
    "Names",
    "OneOf",
    "OptionsSpec",
    "ScenarioHead",
    "ServerActionSpec",
    "StanzaTag",
    "StepSpec",
    "StepWrapper",
    "WorldFile",
    "check_step",
    "short_form",
    "step_key",
    "summary",
]


class FileModel(BaseModel):
    """Base of every file model: unknown keys are errors, values are immutable.

    Built when first used (``defer_build``), not when the class is made: a validator is
    made for the models a run needs, at the first file that needs them (see
    :class:`BuiltWhenUsed` for the steps).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    SHORT_FIELD: ClassVar[str | None] = None
    """If set, a scalar (or list) in place of the mapping is read as this one field."""

    @model_serializer(mode="wrap")
    def _short_form(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> object:
        """Dumped with ``exclude_unset`` (as the recorder writes files), a model holding only
        its ``SHORT_FIELD`` is that value: ``wait: 2s``, ``login: alice``."""
        data = handler(self)
        key = self.SHORT_FIELD
        if key is None or not info.exclude_unset or not isinstance(data, dict) or len(data) != 1:
            return data
        for name, field in type(self).model_fields.items():
            if key in (name, field.alias):
                written = field.alias or name if info.by_alias else name
                return data.get(written, data)
        return data


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
    PlainSerializer(format_duration, return_type=str, when_used="json"),
]
"""``500ms``, ``5s``, ``2m``, ``1h``, ``1d`` (combinable: ``1h30m``), or seconds as a number;
written back (``model_dump(mode="json")``) the way users write it: ``5s``, ``1h30m``."""


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


def short_form(cls: type[FileModel]) -> BeforeValidator:
    """The validator of a field holding ``cls`` in its short form too (``SHORT_FIELD``):
    ``Annotated[Spec, short_form(Spec)]`` takes a scalar as that one field."""
    key = cls.SHORT_FIELD
    if key is None:
        raise TypeError(f"{cls.__name__} has no short form")
    info = next(f for name, f in cls.model_fields.items() if key in (name, f.alias))

    def expand(value: object) -> object:
        if isinstance(value, dict | BaseModel):
            return value
        return {key: value}

    return BeforeValidator(expand, json_schema_input_type=Union[_annotation(info), cls])  # noqa: UP007


def _annotation(info: FieldInfo) -> object:
    """The type of a field as written, metadata included (for the schema of a short form)."""
    return Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation


def summary(cls: type) -> str:
    """The first line of ``cls``'s docstring (the description of a one-of member)."""
    return (cls.__doc__ or "").strip().split("\n")[0]


# -------------------------------------------------------------------- extension points


class StepSpec(FileModel):
    """A step type: ``KEY`` is its YAML key; ``plan()`` checks it and builds its plan step."""

    KEY: ClassVar[str]

    def plan(self, b: Builder) -> Step | None:
        """The plan step, or None after reporting problems through ``b``."""
        raise NotImplementedError


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
    """A mapping that must hold exactly one of the optional fields ``ONE_OF``."""

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
        """The key given and its value."""
        for key in self.ONE_OF:
            value = getattr(self, key)
            if isinstance(value, FileModel):
                return key, value
        raise AssertionError("validated models hold one member")  # pragma: no cover


class BuiltWhenUsed:
    """``Annotated[Model, BUILT_WHEN_USED, Tag(key)]``: a member of a tagged union that is
    validated by ``Model`` itself, whose validator is built when the first value comes.

    A tagged union normally holds the whole schema of every member: the union of the 35
    step types made one big validator the first time a file was checked, though a file
    uses a handful of them. Here the union holds one small function per member, which
    calls ``Model.model_validate`` (a deferred model builds its validator then, once).
    Errors are the model's own, under the member's tag, as before; the JSON Schema is the
    model's.
    """

    __slots__ = ()

    def __get_pydantic_core_schema__(
        self, source: type[BaseModel], handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        def validate(value: object, info: core_schema.ValidationInfo) -> BaseModel:
            return source.model_validate(value, context=info.context)

        def json_schema(
            _schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
        ) -> JsonSchemaValue:
            return handler(source.__pydantic_core_schema__)

        # The model's own reference (pydantic's format): the JSON Schema lists the member
        # as a definition of that name, as it does for a model in a union.
        ref = f"{source.__module__}.{source.__qualname__}:{id(source)}"
        return core_schema.with_info_plain_validator_function(
            validate, ref=ref, metadata={"pydantic_js_functions": [json_schema]}
        )


BUILT_WHEN_USED = BuiltWhenUsed()


class StepWrapper(FileModel):
    """A ``steps`` item: a mapping with the step type's key only (its one field)."""

    KEY: ClassVar[str]
    """The step's key: the name of the wrapper's one field."""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: object) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        (cls.KEY,) = cls.model_fields

    def spec(self) -> StepSpec:
        spec = getattr(self, self.KEY)
        assert isinstance(spec, StepSpec), f"{type(self).__name__}.{self.KEY} holds a step"
        return spec


def check_step(keys: tuple[str, ...]) -> Callable[[object], object]:
    """The validator run before a ``steps`` item is told apart: one known key."""
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


def step_key(value: object) -> str | None:
    """The discriminator of a ``steps`` item: its one key."""
    if isinstance(value, dict):
        return next(iter(value)) if len(value) == 1 else None
    if isinstance(value, StepWrapper):
        return value.KEY
    return None


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


class ScenarioHead(FileModel):
    """A scenario: a world, the bot under test and the steps."""

    schema_: PathText | None = Field(default=None, alias="$schema")
    name: Text = Field(min_length=1)
    """What the scenario shows, in a few words (the test's name)."""
    description: Text = ""
    world: WorldField
    """The accounts: inline, or the path of a world file."""
    bot: BotSpec | None = None
    options: OptionsSpec = Field(default_factory=OptionsSpec)
