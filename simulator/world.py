"""The world a server starts with: accounts, address books, groups, lists, pictures, statuses,
privacy settings and blocked lists.

A world is written in YAML, on its own (``simulator serve --world team.world.yaml``) or
under the ``world:`` key of a scenario, and validated by these pydantic models::

    accounts:
      - {phone: "491110000001", name: Alice}
      - {phone: "491110000002", name: Bob, password: AQIDBAUGBwgJCgsMDQ4PEBESExQ=}
      - {phone: "491110000077", name: Newbie, registered: false}   # registers in the scenario
    contacts:                       # whose number is in whose synced address book
      alice: [bob, "491110000099"]  # names, phones (on the service or not) or JIDs
    groups:
      - name: team                  # how scenarios call it: to: team, {{team}}
        subject: Release team
        creator: alice              # an admin unless ``admins`` says otherwise
        admins: [alice, bob]
        participants: [carol]
    broadcast_lists:
      - {name: news, owner: alice, recipients: [bob, carol]}
    pictures:
      bob: pictures/bob.jpg         # a file (relative to the YAML file)
      team: {base64: /9j/4AAQSkZJRg==}
    statuses:
      bob: At the gym
    privacy:
      carol: {last: none, profile: contacts}
    blocked:
      carol: [bob]

Everything refers to accounts by name (any case), phone or JID, and to groups and lists
by their ``name``. Names are one namespace: an account, a group and a list may not share
one, and ``bot`` / ``server`` are reserved for scenarios.

JIDs are deterministic. A group is ``<creator phone>-<creation>@g.us`` with ``creation``
:data:`WORLD_TIME` unless given (the next free second when a creator has several
groups); a list without an ``id`` is ``<WORLD_TIME + n>@broadcast``, its owner's n-th.

Passwords are what the service issued at registration: base64 of 20 bytes. When a
world leaves one out, the account gets :func:`default_password` of its phone, so test
files stay short and every run logs in the same way.

Checking happens in two stages: the models check each value (types, phones, privacy
values, picture files), then :meth:`World.problems` checks the references between them
(unknown names, duplicate groups, a group of unregistered accounts...) and returns each
problem with its location, so that files report them at their line
(:func:`world_problems`). :func:`build_state` refuses a world with problems.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Final, Literal, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from simulator.errors import ScenarioSyntaxError
from simulator.jid import group_jid, phone_of, user_jid
from simulator.server.state import Picture, State, Status, default_password
from simulator.vocabulary import FreeText, Id, PathText, Text
from simulator.yamlfile import Problem, format_loc, load_yaml, locate, validate_yaml

__all__ = [
    "RESERVED_NAMES",
    "WORLD_TIME",
    "AccountSpec",
    "BroadcastListSpec",
    "GroupSpec",
    "PictureSpec",
    "PrivacySpec",
    "StatusSpec",
    "World",
    "WorldProblem",
    "build_state",
    "default_password",
    "load_world",
    "world_problems",
]

WORLD_TIME: Final = 1_400_000_000
"""When the world's groups, pictures and statuses date from, unless they say (May 2014)."""
AccountKind = Literal["free", "paid"]
AccountStatus = Literal["active", "expired"]
Key = Annotated[str, FreeText("an account or group, checked against the world")]
"""The keys of the world's tables (contacts, pictures, statuses, privacy, blocked)."""

RESERVED_NAMES: Final = frozenset({"bot", "server"})

WorldProblem = tuple[str, tuple[int | str, ...]]
"""A problem of a world: the message and where (``("groups", 0, "creator")``)."""


def _as_text(value: object) -> object:
    # YAML reads an unquoted 491110000001 as an int; phone numbers and names are text.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


PHONE_PATTERN: Final = r"^[0-9]{5,15}$"


def _phone(value: str) -> str:
    if not re.fullmatch(PHONE_PATTERN, value):
        raise PydanticCustomError(
            "phone",
            "a phone is 5 to 15 digits, country code first (like 491110000001); got {value}",
            {"value": repr(value)},
        )
    return value


# Each ``json_schema_input_type`` below is what the published JSON Schema accepts: every
# form the validator takes (an unquoted number, a single name for a list...), so that an
# editor reading the schema agrees with the loader.
Phone = Annotated[
    str,
    BeforeValidator(
        _as_text,
        json_schema_input_type=Union[  # noqa: UP007 -- a type expression pydantic reads
            Annotated[str, StringConstraints(pattern=PHONE_PATTERN)],
            Annotated[int, Field(ge=10_000, le=999_999_999_999_999)],
        ],
    ),
    AfterValidator(_phone),
    FreeText("a phone number: digits only"),
]
Ref = Annotated[
    str,
    BeforeValidator(
        _as_text,
        json_schema_input_type=Union[Annotated[str, StringConstraints(min_length=1)], int],  # noqa: UP007
    ),
    StringConstraints(min_length=1),
    FreeText("a name, phone or JID, checked against the accounts"),
]
"""An account (name, phone or JID), or for pictures a group."""


def _refs(value: object) -> object:
    """One name or a list of names (``admins: bob`` is ``admins: [bob]``)."""
    return [value] if isinstance(value, str | int) and not isinstance(value, bool) else value


Refs = Annotated[list[Ref], BeforeValidator(_refs, json_schema_input_type=Union[Ref, list[Ref]])]  # noqa: UP007


def _keys_as_text(value: object) -> object:
    if isinstance(value, Mapping):
        return {_as_text(key): item for key, item in value.items()}
    return value


def _timestamp(value: object) -> object:
    if isinstance(value, str) and not value.strip().isdigit():
        try:
            value = datetime.datetime.fromisoformat(value.strip())
        except ValueError:
            return value  # pydantic says what is wrong with it
    if isinstance(value, datetime.datetime):
        stamp = value if value.tzinfo else value.replace(tzinfo=datetime.UTC)
        return int(stamp.timestamp())
    return value


Timestamp = Annotated[
    int,
    BeforeValidator(_timestamp, json_schema_input_type=int | datetime.datetime),
    Field(ge=0),
]
"""Unix time, or a date and time (UTC unless it has a zone)."""


class _Spec(BaseModel):
    # Built when first used, not at import: commands that never read a world do not pay.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class AccountSpec(_Spec):
    """One phone number."""

    phone: Phone
    """Digits only, country code first (``491110000001``)."""
    name: Text = ""
    """The push name others see as ``notify``; scenarios name the account by it."""
    password: Id | None = None
    """Base64 of the 20-byte password; default: derived from the phone."""
    kind: AccountKind = "free"
    status: AccountStatus = "active"
    registered: bool = True
    """False: the number is not on the service yet (a scenario registers it with
    ``code_request`` / ``code_register``); its password is the one registration issues."""

    @field_validator("password")
    @classmethod
    def _base64(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("password must be base64 (as issued by the service)") from exc
        if not raw:
            raise ValueError("password must not be empty")
        return value

    @property
    def effective_password(self) -> str:
        return self.password or default_password(self.phone)


class GroupSpec(_Spec):
    """A group that exists before the first connection."""

    name: Text = Field(min_length=1)
    """How scenarios refer to it (``to: team``, ``{{team}}``); not sent anywhere."""
    subject: Text = ""
    """The subject members see (default: the name)."""
    creator: Ref
    admins: Refs | None = None
    """The admins (default: the creator); they are members too."""
    participants: Refs = Field(default_factory=list)
    """The other members, in the order they joined (after the creator and the admins)."""
    creation: Timestamp | None = None
    """When it was created (default :data:`WORLD_TIME`): part of its JID."""


class BroadcastListSpec(_Spec):
    """A broadcast list its owner already has."""

    name: Text = Field(min_length=1)
    """How scenarios refer to it (``to: news`` sends to its recipients)."""
    owner: Ref
    recipients: Refs = Field(min_length=1)
    id: Id | None = Field(default=None, pattern=r"^[0-9]+(@broadcast)?$")
    """The list id (``1400000000@broadcast``); default: made from :data:`WORLD_TIME`."""

    @property
    def jid(self) -> str | None:
        if self.id is None:
            return None
        return self.id if "@" in self.id else f"{self.id}@broadcast"


class PictureSpec(_Spec):
    """A profile or group picture: a file, or the bytes in base64 (a short string: the file)."""

    file: PathText | None = None
    """A JPEG file, relative to the YAML file that names it."""
    base64: Id | None = None
    """The image bytes in base64."""
    preview_base64: Id | None = None
    """The thumbnail in base64 (default: the image itself)."""
    id: Timestamp | None = None
    """The picture id (its upload time; default :data:`WORLD_TIME`)."""
    _image: bytes = PrivateAttr(default=b"")

    @model_validator(mode="after")
    def _load(self, info: ValidationInfo) -> PictureSpec:
        if (self.file is None) == (self.base64 is None):
            raise PydanticCustomError("picture", "a picture needs exactly one of: file, base64")
        if self.base64 is not None:
            self._image = _decode(self.base64, "base64")
        else:
            assert self.file is not None
            self._image = _read(self.file, info)
        if self.preview_base64 is not None:
            _decode(self.preview_base64, "preview_base64")
        return self

    @property
    def image(self) -> bytes:
        return self._image

    @property
    def preview(self) -> bytes:
        return base64.b64decode(self.preview_base64) if self.preview_base64 else self._image


def _decode(text: str, field: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise PydanticCustomError(
            "base64", "{field} is not valid base64", {"field": field}
        ) from None
    if not raw:
        raise PydanticCustomError("base64", "{field} is empty", {"field": field})
    return raw


def _read(file: str, info: ValidationInfo) -> bytes:
    """A file named in a YAML file: relative to that file (``context["path"]``)."""
    context = info.context if isinstance(info.context, Mapping) else {}
    origin = context.get("path")
    path = Path(origin).parent / file if origin else Path(file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PydanticCustomError(
            "file", "cannot read {path}: {reason}", {"path": str(path), "reason": exc.strerror}
        ) from None
    if not data:
        raise PydanticCustomError("file", "{path} is empty", {"path": str(path)})
    return data


def _picture(value: object) -> object:
    return {"file": value} if isinstance(value, str) else value


class StatusSpec(_Spec):
    """A status message (a plain string is its text)."""

    text: Text = Field(min_length=1)
    t: Timestamp | None = None
    """When it was set (default :data:`WORLD_TIME`)."""


def _status(value: object) -> object:
    return {"text": value} if isinstance(value, str) else value


Privacy = Literal["all", "contacts", "none"]


class PrivacySpec(_Spec):
    """Who sees an account's last seen, status and profile picture (default ``all``)."""

    last: Privacy | None = None
    status: Privacy | None = None
    profile: Privacy | None = None


def _refs_of(value: object) -> object:
    value = _keys_as_text(value)
    if isinstance(value, Mapping):
        return {key: _refs(item) for key, item in value.items()}
    return value


class World(_Spec):
    """Everything the service knows before the first connection."""

    accounts: list[AccountSpec] = Field(default_factory=list)
    contacts: Annotated[
        dict[Key, list[Ref]], BeforeValidator(_refs_of, json_schema_input_type=dict[str, Refs])
    ] = Field(default_factory=dict)
    """Account -> the numbers in its synced address book (names, phones or JIDs)."""
    groups: list[GroupSpec] = Field(default_factory=list)
    broadcast_lists: list[BroadcastListSpec] = Field(default_factory=list)
    pictures: Annotated[
        dict[
            Key,
            Annotated[
                PictureSpec,
                BeforeValidator(_picture, json_schema_input_type=Union[str, PictureSpec]),  # noqa: UP007
            ],
        ],
        BeforeValidator(_keys_as_text),
    ] = Field(default_factory=dict)
    """Account or group -> its picture."""
    statuses: Annotated[
        dict[
            Key,
            Annotated[
                StatusSpec,
                BeforeValidator(_status, json_schema_input_type=Union[str, StatusSpec]),  # noqa: UP007
            ],
        ],
        BeforeValidator(_keys_as_text),
    ] = Field(default_factory=dict)
    """Account -> its status message."""
    privacy: Annotated[dict[Key, PrivacySpec], BeforeValidator(_keys_as_text)] = Field(
        default_factory=dict
    )
    """Account -> its privacy settings."""
    blocked: Annotated[
        dict[Key, list[Ref]], BeforeValidator(_refs_of, json_schema_input_type=dict[str, Refs])
    ] = Field(default_factory=dict)
    """Account -> the users it blocked, in order."""

    @field_validator("accounts")
    @classmethod
    def _unique_phones(cls, accounts: list[AccountSpec]) -> list[AccountSpec]:
        seen: set[str] = set()
        for account in accounts:
            if account.phone in seen:
                raise ValueError(f"phone {account.phone} is listed twice")
            seen.add(account.phone)
        return accounts

    # ---------------------------------------------------------------- names

    def account(self, ref: str) -> AccountSpec | None:
        """The account named ``ref`` (name in any case, phone or JID), if exactly one."""
        key = ref.casefold()
        named = [a for a in self.accounts if a.name and a.name.casefold() == key]
        if len(named) == 1:
            return named[0]
        for account in self.accounts:
            if ref in (account.phone, user_jid(account.phone)):
                return account
        return None

    def group_jid_list(self) -> list[str]:
        """The JID of each group, in order: ``<creator phone>-<creation>@g.us``, the second
        bumped past the ones taken by earlier groups."""
        jids: list[str] = []
        for group in self.groups:
            creator = self.account(group.creator)
            phone = creator.phone if creator is not None else phone_of(group.creator)
            second = group.creation if group.creation is not None else WORLD_TIME
            while group_jid(f"{phone}-{second}") in jids:
                second += 1
            jids.append(group_jid(f"{phone}-{second}"))
        return jids

    def list_jid_list(self) -> list[str]:
        """The id of each broadcast list, in order (``<digits>@broadcast``)."""
        jids: list[str] = []
        counts: dict[str, int] = {}
        for spec in self.broadcast_lists:
            owner = self.account(spec.owner)
            key = owner.phone if owner is not None else spec.owner
            counts[key] = counts.get(key, -1) + 1
            jids.append(spec.jid or f"{WORLD_TIME + counts[key]}@broadcast")
        return jids

    def group_jids(self) -> dict[str, str]:
        """Group name (lower case) -> JID."""
        return _by_name(self.groups, self.group_jid_list())

    def list_jids(self) -> dict[str, str]:
        """Broadcast list name (lower case) -> its id."""
        return _by_name(self.broadcast_lists, self.list_jid_list())

    def names(self) -> dict[str, str]:
        """Every group and list name -> its JID (what scenarios may write for them)."""
        return {**self.group_jids(), **self.list_jids()}

    # ---------------------------------------------------------------- checks

    def problems(self) -> list[WorldProblem]:
        """Every reference that does not hold, with its location in the world."""
        return list(_Checker(self).run())


def _by_name(specs: Sequence[GroupSpec | BroadcastListSpec], jids: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for spec, jid in zip(specs, jids, strict=True):
        out.setdefault(spec.name.casefold(), jid)
    return out


class _Checker:
    """The checks of :meth:`World.problems`."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.account_names = {a.name.casefold() for a in world.accounts if a.name}
        self.groups = {g.name.casefold() for g in world.groups}

    def run(self) -> Iterator[WorldProblem]:
        yield from self._names()
        yield from self._groups()
        yield from self._lists()
        for key, numbers in self.world.contacts.items():
            yield from self._registered(key, ("contacts", key))
            for index, ref in enumerate(numbers):
                yield from self._number(ref, ("contacts", key, index))
        for key, blocked in self.world.blocked.items():
            yield from self._registered(key, ("blocked", key))
            for index, ref in enumerate(blocked):
                yield from self._number(ref, ("blocked", key, index))
        for table, loc in ((self.world.statuses, "statuses"), (self.world.privacy, "privacy")):
            for key in table:
                yield from self._registered(key, (loc, key))
        for key in self.world.pictures:
            if key.casefold() not in self.groups:
                yield from self._registered(key, ("pictures", key), what="account or group")

    def _names(self) -> Iterator[WorldProblem]:
        seen: dict[str, str] = {}
        named: tuple[tuple[str, Sequence[GroupSpec | BroadcastListSpec]], ...] = (
            ("group", self.world.groups),
            ("list", self.world.broadcast_lists),
        )
        for kind, specs in named:
            for index, spec in enumerate(specs):
                key = spec.name.casefold()
                loc = ("groups" if kind == "group" else "broadcast_lists", index, "name")
                if key in RESERVED_NAMES:
                    yield (f"the name {spec.name!r} is reserved; rename the {kind}", loc)
                elif key in self.account_names:
                    yield (f"{spec.name!r} is already the name of an account", loc)
                elif key in seen:
                    yield (f"{spec.name!r} is already the name of a {seen[key]}", loc)
                seen.setdefault(key, kind)

    def _groups(self) -> Iterator[WorldProblem]:
        for index, group in enumerate(self.world.groups):
            yield from self._registered(group.creator, ("groups", index, "creator"))
            for field in ("admins", "participants"):
                for n, ref in enumerate(getattr(group, field) or ()):
                    yield from self._registered(ref, ("groups", index, field, n))

    def _lists(self) -> Iterator[WorldProblem]:
        ids: set[tuple[str, str]] = set()
        jids = self.world.list_jid_list()
        for index, (spec, jid) in enumerate(zip(self.world.broadcast_lists, jids, strict=True)):
            yield from self._registered(spec.owner, ("broadcast_lists", index, "owner"))
            for n, ref in enumerate(spec.recipients):
                yield from self._number(ref, ("broadcast_lists", index, "recipients", n))
            owner = self.world.account(spec.owner)
            key = (owner.phone if owner else spec.owner, jid)
            if key in ids:
                yield (f"{spec.owner} has two lists with the id {jid}", ("broadcast_lists", index))
            ids.add(key)

    def _registered(
        self, ref: str, loc: tuple[int | str, ...], *, what: str = "account"
    ) -> Iterator[WorldProblem]:
        account = self.world.account(ref)
        if account is None:
            yield (self._unknown(ref, what), loc)
        elif not account.registered:
            yield (f"{ref} is not registered (registered: false) and cannot be used here", loc)

    def _number(self, ref: str, loc: tuple[int | str, ...]) -> Iterator[WorldProblem]:
        """A name of the world, or any phone number or JID (it may not be on the service)."""
        if self.world.account(ref) is None and not phone_of(ref).isdigit():
            yield (self._unknown(ref, "account or phone number"), loc)

    def _unknown(self, ref: str, what: str) -> str:
        names = [a.name.casefold() or a.phone for a in self.world.accounts]
        ambiguous = sum(1 for a in self.world.accounts if a.name.casefold() == ref.casefold())
        if ambiguous > 1:
            return f"several accounts are named {ref!r}: name them by phone"
        return f"unknown {what} {ref!r} (accounts: {', '.join(names) or 'none'})"


# -------------------------------------------------------------------- files


def world_problems(
    world: World, data: Any, path: str, prefix: Sequence[int | str] = ()
) -> list[Problem]:
    """The problems of ``world`` located in the YAML ``data`` it was read from."""
    problems = []
    for message, loc in world.problems():
        line, kept = locate(data, (*prefix, *loc))
        problems.append(Problem(path, line, format_loc(kept), message))
    return problems


def load_world(path: Path | str) -> World:
    """Read a world file (pictures relative to it).

    Raises:
        ScenarioSyntaxError: listing every problem with its line.
    """
    path = Path(path)
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise ScenarioSyntaxError([f"{path}: cannot read: {exc.strerror}"]) from exc
    data = load_yaml(text, str(path))
    world, problems = validate_yaml(World, data, str(path), context={"path": str(path)})
    if world is not None:
        problems = world_problems(world, data, str(path))
    if world is None or problems:
        raise ScenarioSyntaxError([str(p) for p in problems])
    return world


# -------------------------------------------------------------------- the state


def build_state(world: World, state: State | None = None) -> State:
    """A server state holding the world.

    Raises:
        ValueError: the world has problems (:meth:`World.problems`).
    """
    problems = world.problems()
    if problems:
        listed = "; ".join(f"at {format_loc(loc)}: {message}" for message, loc in problems)
        raise ValueError(f"the world has problems: {listed}")
    state = state or State()
    for spec in world.accounts:
        if not spec.registered:
            continue
        state.add_account(
            spec.phone,
            spec.effective_password,
            push_name=spec.name,
            kind=spec.kind,
            status=spec.status,
        )

    def jid(ref: str) -> str:
        account = world.account(ref)
        return user_jid(account.phone) if account is not None else user_jid(ref)

    for owner, numbers in world.contacts.items():
        state.set_address_book(jid(owner), dict.fromkeys(phone_of(jid(n)) for n in numbers))
    for group, gjid in zip(world.groups, world.group_jid_list(), strict=True):
        _add_group(state, group, gjid, jid)
    for listing, list_id in zip(world.broadcast_lists, world.list_jid_list(), strict=True):
        recipients = list(dict.fromkeys(jid(r) for r in listing.recipients))
        state.remember_broadcast_list(jid(listing.owner), list_id, recipients, listing.name)
    for key, picture in world.pictures.items():
        target = world.group_jids().get(key.casefold()) or jid(key)
        picture_id = str(picture.id if picture.id is not None else WORLD_TIME)
        state.set_picture(target, Picture(picture_id, picture.image, picture.preview))
    for key, status in world.statuses.items():
        t = status.t if status.t is not None else WORLD_TIME
        state.set_status(jid(key), Status(status.text.encode(), t))
    for key, privacy in world.privacy.items():
        settings = {k: v for k, v in privacy.model_dump().items() if v is not None}
        state.set_privacy(jid(key), settings)
    for key, blocked in world.blocked.items():
        state.set_blocked(jid(key), dict.fromkeys(jid(b) for b in blocked))
    return state


def _add_group(state: State, spec: GroupSpec, gjid: str, jid: Callable[[str], str]) -> None:
    creator = jid(spec.creator)
    admins = [jid(a) for a in spec.admins] if spec.admins is not None else [creator]
    members: dict[str, str | None] = {creator: "admin" if creator in admins else None}
    for member in [*admins, *(jid(p) for p in spec.participants)]:
        members.setdefault(member, "admin" if member in admins else None)
    creation = spec.creation if spec.creation is not None else WORLD_TIME
    subject = spec.subject or spec.name
    state.add_group(gjid, subject, creator, creation, members)
