"""The scenario file as a whole: the one-key wrapper of every step type, their union,
:class:`ScenarioFile` (what a file is validated with) and its JSON Schema.

A ``steps`` item is a mapping with one key (``- send: {...}``); the key picks the wrapper
(a callable ``Discriminator`` and one ``Tag`` per key), whose one field holds the step's
spec, in its short form too if it has one (``- wait: 2h``). A wrapper's description is
its spec's docstring, and its ``KEY`` the name of its one field.

The table ``_STEPS`` lists every step type: its key, its wrapper's name, and where its spec
is. A wrapper is made when a file first uses its key (:func:`step_type`), and the module of
its spec imported then: checking a file costs the steps it uses, not all 35 (the fault
steps' module, for one, is not imported by a file without faults). The wrappers are
also this module's attributes by name (``LoginStep``), and ``STEP_TYPES`` makes them all.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import itertools
import operator
import textwrap
import types
from functools import cache, reduce
from typing import TYPE_CHECKING, Annotated, Any, Final, TypeAlias

from pydantic import BaseModel, BeforeValidator, Discriminator, Field, GetCoreSchemaHandler, Tag
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from simulator.scenario.model import (
    BUILT_WHEN_USED,
    ScenarioHead,
    StepWrapper,
    check_step,
    short_form,
    step_key,
)

__all__ = [
    "SCHEMA_DIALECT",
    "STEP_KEYS",
    "STEP_TYPES",
    "ScenarioFile",
    "StepItem",
    "json_schema",
    "scenario_json_schema",
    "step_type",
]

SCHEMA_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"

_CORE: Final = "simulator.scenario.steps"
_FLOWS: Final = "simulator.scenario.flow_steps"
_SERVICE: Final = "simulator.scenario.service_steps"
_FAULTS: Final = "simulator.scenario.fault_steps"

_STEPS: Final = (
    # key, wrapper, spec module, spec, short form accepted; in the order the schema lists them
    # 1:1 messaging and the core
    ("login", "LoginStep", _CORE, "LoginSpec", True),
    ("logout", "LogoutStep", _CORE, "LogoutSpec", True),
    ("send", "SendStep", _CORE, "SendSpec", False),
    ("receipt", "ReceiptStep", _CORE, "ReceiptSpec", False),
    ("read", "ReadStep", _CORE, "ReadSpec", False),
    ("typing", "TypingStep", _CORE, "TypingSpec", False),
    ("paused", "PausedStep", _CORE, "PausedSpec", False),
    ("presence", "PresenceStep", _CORE, "PresenceSpec", False),
    ("iq", "IqStep", _CORE, "IqSpec", False),
    ("raw", "RawStep", _CORE, "RawSpec", False),
    ("server", "ServerStep", _SERVICE, "ServerSpec", False),
    ("wait", "WaitStep", _CORE, "WaitSpec", True),
    ("expect", "ExpectStep", _CORE, "ExpectSpec", False),
    ("expect_none", "ExpectNoneStep", _CORE, "ExpectNoneSpec", False),
    ("unordered", "UnorderedStep", _CORE, "UnorderedSpec", True),
    # the flows
    ("create_group", "CreateGroupStep", _FLOWS, "CreateGroupSpec", False),
    ("add_participants", "AddParticipantsStep", _FLOWS, "AddParticipantsSpec", False),
    ("remove_participants", "RemoveParticipantsStep", _FLOWS, "RemoveParticipantsSpec", False),
    ("promote", "PromoteStep", _FLOWS, "PromoteSpec", False),
    ("demote", "DemoteStep", _FLOWS, "DemoteSpec", False),
    ("set_subject", "SetSubjectStep", _FLOWS, "SetSubjectSpec", False),
    ("leave_group", "LeaveGroupStep", _FLOWS, "LeaveGroupSpec", False),
    ("sync_contacts", "SyncContactsStep", _FLOWS, "SyncContactsSpec", False),
    ("block", "BlockStep", _FLOWS, "BlockSpec", False),
    ("unblock", "UnblockStep", _FLOWS, "UnblockSpec", False),
    ("set_privacy", "SetPrivacyStep", _FLOWS, "SetPrivacySpec", False),
    ("set_status", "SetStatusStep", _FLOWS, "SetStatusSpec", False),
    ("set_picture", "SetPictureStep", _FLOWS, "SetPictureSpec", False),
    ("broadcast", "BroadcastStep", _FLOWS, "BroadcastSpec", False),
    ("code_request", "CodeRequestStep", _SERVICE, "CodeRequestSpec", False),
    ("code_register", "CodeRegisterStep", _SERVICE, "CodeRegisterSpec", False),
    # faults
    ("fault", "FaultStep", _FAULTS, "FaultStepSpec", False),
    ("release", "ReleaseStep", _FAULTS, "ReleaseSpec", True),
    ("clear_faults", "ClearFaultsStep", _FAULTS, "ClearFaultsSpec", True),
    ("restart", "RestartStep", _FAULTS, "RestartSpec", False),
)

STEP_KEYS: Final = tuple(key for key, *_ in _STEPS)
"""Every step key."""

_BY_KEY: Final = {row[0]: row for row in _STEPS}
_BY_NAME: Final = {row[1]: row[0] for row in _STEPS}
_MADE: dict[str, type[StepWrapper]] = {}


def step_type(key: str) -> type[StepWrapper]:
    """The wrapper of step ``key`` (a model with the one field ``key`` holding its spec),
    made the first time it is asked for: a file's check makes the wrappers of the steps it
    uses, and imports the module of their specs, not those of every step type."""
    made = _MADE.get(key)
    if made is None:
        _, name, module, spec_name, short = _BY_KEY[key]
        spec = getattr(importlib.import_module(module), spec_name)
        annotation = Annotated[spec, short_form(spec)] if short else spec
        body = {
            "__module__": __name__,
            "__qualname__": name,
            "__doc__": spec.__doc__,
            "__annotations__": {key: annotation},
        }
        made = types.new_class(name, (StepWrapper,), {}, lambda ns: ns.update(body))
        _MADE[key] = made
    return made


def __getattr__(name: str) -> object:
    # The wrappers by their names (``LoginStep``...), and STEP_TYPES, made when first used.
    if name == "STEP_TYPES":
        return tuple(step_type(key) for key in STEP_KEYS)
    if name in _BY_NAME:
        return step_type(_BY_NAME[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if TYPE_CHECKING:
    STEP_TYPES: tuple[type[StepWrapper], ...]
    """Every step type (its wrapper), in the order the schema lists them."""


class _WrapperWhenUsed:
    """``Annotated[StepWrapper, _WrapperWhenUsed(key), Tag(key)]``: a member of the steps
    union validated by the wrapper of ``key``, which is made (its spec's module imported,
    its validator built) when the first item with that key comes."""

    __slots__ = ("key",)

    def __init__(self, key: str) -> None:
        self.key = key

    def model_when_used(self) -> type[StepWrapper]:
        """The wrapper (made now if it is not yet): what ``yamlfile`` looks the keys of a
        place up in, to name the one a misspelt key was meant to be."""
        return step_type(self.key)

    def __get_pydantic_core_schema__(
        self, _source: type[BaseModel], _handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        key = self.key

        def validate(value: object, info: core_schema.ValidationInfo) -> BaseModel:
            return step_type(key).model_validate(value, context=info.context)

        return core_schema.with_info_plain_validator_function(validate)


def _item(members: tuple[Any, ...]) -> Any:
    """A ``steps`` item: the tagged union of ``members``, told apart by the one key."""
    return Annotated[
        reduce(operator.or_, members),
        Discriminator(step_key),
        BeforeValidator(check_step(STEP_KEYS)),
    ]


if TYPE_CHECKING:
    StepItem: TypeAlias = StepWrapper
else:
    StepItem = _item(
        tuple(Annotated[StepWrapper, _WrapperWhenUsed(key), Tag(key)] for key in STEP_KEYS)
    )
    """One item of ``steps``: a mapping with one known key."""


class ScenarioFile(ScenarioHead):
    __doc__ = ScenarioHead.__doc__
    model_config = ScenarioHead.model_config | {"title": "Scenario"}

    steps: list[StepItem] = Field(min_length=1)

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """The schema of the file model with every step type (see :func:`_whole_file`)."""
        return _whole_file().model_json_schema(*args, **kwargs)


@cache
def _whole_file() -> type[ScenarioHead]:
    """:class:`ScenarioFile` with every step's wrapper made, for the JSON Schema.

    The schema names each step's definition after its wrapper, which pydantic finds by the
    wrapper class's identity: a union whose members are made when first used has none to
    give, so the schema is made from this model, whose union holds every wrapper, each
    validated by itself (``BUILT_WHEN_USED``), as :class:`ScenarioFile`'s members are. It
    accepts the same steps (a test checks both).
    """
    item = _item(tuple(Annotated[step_type(key), BUILT_WHEN_USED, Tag(key)] for key in STEP_KEYS))
    body = {
        "__module__": __name__,
        "__qualname__": "ScenarioFile",
        "__doc__": ScenarioHead.__doc__,
        "model_config": ScenarioHead.model_config | {"title": "Scenario"},
        "__annotations__": {"steps": list.__class_getitem__(item)},
        "steps": Field(min_length=1),
    }
    whole: type[ScenarioHead] = types.new_class(
        "ScenarioFile", (ScenarioHead,), {}, lambda ns: ns.update(body)
    )
    return whole


def json_schema() -> dict[str, Any]:
    """The JSON Schema of scenario files (for editors: ``$schema`` / yaml-language-server).

    A field's description is its docstring (the string right below it), read here, when
    the schema is made, rather than by pydantic's ``use_attribute_docstrings`` when every
    model class is made: that reads and parses each class's source, a good part of the
    time ``import simulator.scenario`` takes.
    """
    schema = _whole_file().model_json_schema(mode="validation", schema_generator=_Documented)
    return {"$schema": SCHEMA_DIALECT, **schema}


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema of scenario files (what ``simulator schema`` prints)."""
    return json_schema()


class _Documented(GenerateJsonSchema):
    """Fills in the descriptions of model fields from their docstrings."""

    def model_schema(self, schema: core_schema.ModelSchema) -> JsonSchemaValue:
        json_schema = super().model_schema(schema)
        cls = schema["cls"]
        properties = json_schema.get("properties", {})
        if issubclass(cls, BaseModel):
            for name, info in cls.model_fields.items():
                doc = field_docstring(cls, name)
                shown = properties.get(info.alias or name)
                if doc is not None and shown is not None and info.description is None:
                    shown["description"] = doc
        return json_schema


def field_docstring(cls: type, name: str) -> str | None:
    """The docstring of field ``name`` where it is declared (the nearest class of ``cls``'s
    MRO annotating it), cleaned like a docstring; None if it has none."""
    for klass in cls.__mro__:
        if name in vars(klass).get("__annotations__", {}):
            return _docstrings(klass).get(name)
    return None


@cache
def _docstrings(cls: type) -> dict[str, str]:
    """Field name -> the string literal right below its annotation in ``cls``'s body."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):  # pragma: no cover - classes made without source
        return {}
    body = next(n for n in ast.parse(source).body if isinstance(n, ast.ClassDef)).body
    found: dict[str, str] = {}
    for node, after in itertools.pairwise(body):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            found[node.target.id] = inspect.cleandoc(after.value.value)
    return found
