"""The scenario file as a whole: the one-key wrapper of every step type, their static
union, :class:`ScenarioFile` (what a file is validated with) and its JSON Schema.

A ``steps`` item is a mapping with one key (``- send: {...}``); the key picks the wrapper
(a callable ``Discriminator`` and one ``Tag`` per key), whose one field holds the step's
spec, in its short form too if it has one (``- wait: 2h``). A wrapper's description is
its spec's docstring, and its ``KEY`` the name of its one field.
"""

from __future__ import annotations

import ast
import inspect
import itertools
import textwrap
import typing
from functools import cache
from typing import Annotated, Any, Final

from pydantic import BaseModel, BeforeValidator, Discriminator, Field, Tag
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from simulator.scenario.fault_steps import (
    ClearFaultsSpec,
    FaultStepSpec,
    ReleaseSpec,
    RestartSpec,
)
from simulator.scenario.flow_steps import (
    AddParticipantsSpec,
    BlockSpec,
    BroadcastSpec,
    CreateGroupSpec,
    DemoteSpec,
    LeaveGroupSpec,
    PromoteSpec,
    RemoveParticipantsSpec,
    SetPictureSpec,
    SetPrivacySpec,
    SetStatusSpec,
    SetSubjectSpec,
    SyncContactsSpec,
    UnblockSpec,
)
from simulator.scenario.model import (
    BUILT_WHEN_USED,
    ScenarioHead,
    StepWrapper,
    check_step,
    short_form,
    step_key,
)
from simulator.scenario.service_steps import CodeRegisterSpec, CodeRequestSpec
from simulator.scenario.steps import (
    ExpectNoneSpec,
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
    ServerSpec,
    TypingSpec,
    UnorderedSpec,
    WaitSpec,
)

__all__ = [
    "SCHEMA_DIALECT",
    "STEP_KEYS",
    "STEP_TYPES",
    "ScenarioFile",
    "StepItem",
    "json_schema",
    "scenario_json_schema",
]

SCHEMA_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"


# ==================================================================== 1:1 messaging and the core


class LoginStep(StepWrapper):
    __doc__ = LoginSpec.__doc__
    login: Annotated[LoginSpec, short_form(LoginSpec)]


class LogoutStep(StepWrapper):
    __doc__ = LogoutSpec.__doc__
    logout: Annotated[LogoutSpec, short_form(LogoutSpec)]


class SendStep(StepWrapper):
    __doc__ = SendSpec.__doc__
    send: SendSpec


class ReceiptStep(StepWrapper):
    __doc__ = ReceiptSpec.__doc__
    receipt: ReceiptSpec


class ReadStep(StepWrapper):
    __doc__ = ReadSpec.__doc__
    read: ReadSpec


class TypingStep(StepWrapper):
    __doc__ = TypingSpec.__doc__
    typing: TypingSpec


class PausedStep(StepWrapper):
    __doc__ = PausedSpec.__doc__
    paused: PausedSpec


class PresenceStep(StepWrapper):
    __doc__ = PresenceSpec.__doc__
    presence: PresenceSpec


class IqStep(StepWrapper):
    __doc__ = IqSpec.__doc__
    iq: IqSpec


class RawStep(StepWrapper):
    __doc__ = RawSpec.__doc__
    raw: RawSpec


class ServerStep(StepWrapper):
    __doc__ = ServerSpec.__doc__
    server: ServerSpec


class WaitStep(StepWrapper):
    __doc__ = WaitSpec.__doc__
    wait: Annotated[WaitSpec, short_form(WaitSpec)]


class ExpectStep(StepWrapper):
    __doc__ = ExpectSpec.__doc__
    expect: ExpectSpec


class ExpectNoneStep(StepWrapper):
    __doc__ = ExpectNoneSpec.__doc__
    expect_none: ExpectNoneSpec


class UnorderedStep(StepWrapper):
    __doc__ = UnorderedSpec.__doc__
    unordered: Annotated[UnorderedSpec, short_form(UnorderedSpec)]


# ==================================================================== the flows


class CreateGroupStep(StepWrapper):
    __doc__ = CreateGroupSpec.__doc__
    create_group: CreateGroupSpec


class AddParticipantsStep(StepWrapper):
    __doc__ = AddParticipantsSpec.__doc__
    add_participants: AddParticipantsSpec


class RemoveParticipantsStep(StepWrapper):
    __doc__ = RemoveParticipantsSpec.__doc__
    remove_participants: RemoveParticipantsSpec


class PromoteStep(StepWrapper):
    __doc__ = PromoteSpec.__doc__
    promote: PromoteSpec


class DemoteStep(StepWrapper):
    __doc__ = DemoteSpec.__doc__
    demote: DemoteSpec


class SetSubjectStep(StepWrapper):
    __doc__ = SetSubjectSpec.__doc__
    set_subject: SetSubjectSpec


class LeaveGroupStep(StepWrapper):
    __doc__ = LeaveGroupSpec.__doc__
    leave_group: LeaveGroupSpec


class SyncContactsStep(StepWrapper):
    __doc__ = SyncContactsSpec.__doc__
    sync_contacts: SyncContactsSpec


class BlockStep(StepWrapper):
    __doc__ = BlockSpec.__doc__
    block: BlockSpec


class UnblockStep(StepWrapper):
    __doc__ = UnblockSpec.__doc__
    unblock: UnblockSpec


class SetPrivacyStep(StepWrapper):
    __doc__ = SetPrivacySpec.__doc__
    set_privacy: SetPrivacySpec


class SetStatusStep(StepWrapper):
    __doc__ = SetStatusSpec.__doc__
    set_status: SetStatusSpec


class SetPictureStep(StepWrapper):
    __doc__ = SetPictureSpec.__doc__
    set_picture: SetPictureSpec


class BroadcastStep(StepWrapper):
    __doc__ = BroadcastSpec.__doc__
    broadcast: BroadcastSpec


class CodeRequestStep(StepWrapper):
    __doc__ = CodeRequestSpec.__doc__
    code_request: CodeRequestSpec


class CodeRegisterStep(StepWrapper):
    __doc__ = CodeRegisterSpec.__doc__
    code_register: CodeRegisterSpec


# ==================================================================== faults


class FaultStep(StepWrapper):
    __doc__ = FaultStepSpec.__doc__
    fault: FaultStepSpec


class ReleaseStep(StepWrapper):
    __doc__ = ReleaseSpec.__doc__
    release: Annotated[ReleaseSpec, short_form(ReleaseSpec)]


class ClearFaultsStep(StepWrapper):
    __doc__ = ClearFaultsSpec.__doc__
    clear_faults: Annotated[ClearFaultsSpec, short_form(ClearFaultsSpec)]


class RestartStep(StepWrapper):
    __doc__ = RestartSpec.__doc__
    restart: RestartSpec


# ==================================================================== the union and the file

_Steps = (
    Annotated[LoginStep, BUILT_WHEN_USED, Tag("login")]
    | Annotated[LogoutStep, BUILT_WHEN_USED, Tag("logout")]
    | Annotated[SendStep, BUILT_WHEN_USED, Tag("send")]
    | Annotated[ReceiptStep, BUILT_WHEN_USED, Tag("receipt")]
    | Annotated[ReadStep, BUILT_WHEN_USED, Tag("read")]
    | Annotated[TypingStep, BUILT_WHEN_USED, Tag("typing")]
    | Annotated[PausedStep, BUILT_WHEN_USED, Tag("paused")]
    | Annotated[PresenceStep, BUILT_WHEN_USED, Tag("presence")]
    | Annotated[IqStep, BUILT_WHEN_USED, Tag("iq")]
    | Annotated[RawStep, BUILT_WHEN_USED, Tag("raw")]
    | Annotated[ServerStep, BUILT_WHEN_USED, Tag("server")]
    | Annotated[WaitStep, BUILT_WHEN_USED, Tag("wait")]
    | Annotated[ExpectStep, BUILT_WHEN_USED, Tag("expect")]
    | Annotated[ExpectNoneStep, BUILT_WHEN_USED, Tag("expect_none")]
    | Annotated[UnorderedStep, BUILT_WHEN_USED, Tag("unordered")]
    | Annotated[CreateGroupStep, BUILT_WHEN_USED, Tag("create_group")]
    | Annotated[AddParticipantsStep, BUILT_WHEN_USED, Tag("add_participants")]
    | Annotated[RemoveParticipantsStep, BUILT_WHEN_USED, Tag("remove_participants")]
    | Annotated[PromoteStep, BUILT_WHEN_USED, Tag("promote")]
    | Annotated[DemoteStep, BUILT_WHEN_USED, Tag("demote")]
    | Annotated[SetSubjectStep, BUILT_WHEN_USED, Tag("set_subject")]
    | Annotated[LeaveGroupStep, BUILT_WHEN_USED, Tag("leave_group")]
    | Annotated[SyncContactsStep, BUILT_WHEN_USED, Tag("sync_contacts")]
    | Annotated[BlockStep, BUILT_WHEN_USED, Tag("block")]
    | Annotated[UnblockStep, BUILT_WHEN_USED, Tag("unblock")]
    | Annotated[SetPrivacyStep, BUILT_WHEN_USED, Tag("set_privacy")]
    | Annotated[SetStatusStep, BUILT_WHEN_USED, Tag("set_status")]
    | Annotated[SetPictureStep, BUILT_WHEN_USED, Tag("set_picture")]
    | Annotated[BroadcastStep, BUILT_WHEN_USED, Tag("broadcast")]
    | Annotated[CodeRequestStep, BUILT_WHEN_USED, Tag("code_request")]
    | Annotated[CodeRegisterStep, BUILT_WHEN_USED, Tag("code_register")]
    | Annotated[FaultStep, BUILT_WHEN_USED, Tag("fault")]
    | Annotated[ReleaseStep, BUILT_WHEN_USED, Tag("release")]
    | Annotated[ClearFaultsStep, BUILT_WHEN_USED, Tag("clear_faults")]
    | Annotated[RestartStep, BUILT_WHEN_USED, Tag("restart")]
)

STEP_TYPES: Final[tuple[type[StepWrapper], ...]] = tuple(
    typing.get_args(member)[0] for member in typing.get_args(_Steps)
)
"""Every step type (its wrapper), in the order the schema lists them."""
STEP_KEYS: Final = tuple(wrapper.KEY for wrapper in STEP_TYPES)
"""Every step key."""

StepItem = Annotated[_Steps, Discriminator(step_key), BeforeValidator(check_step(STEP_KEYS))]
"""One item of ``steps``: a mapping with one known key."""


class ScenarioFile(ScenarioHead):
    __doc__ = ScenarioHead.__doc__
    model_config = ScenarioHead.model_config | {"title": "Scenario"}

    steps: list[StepItem] = Field(min_length=1)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of scenario files (for editors: ``$schema`` / yaml-language-server).

    A field's description is its docstring (the string right below it), read here, when
    the schema is made, rather than by pydantic's ``use_attribute_docstrings`` when every
    model class is made: that reads and parses each class's source, a good part of the
    time ``import simulator.scenario`` takes.
    """
    schema = ScenarioFile.model_json_schema(mode="validation", schema_generator=_Documented)
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
