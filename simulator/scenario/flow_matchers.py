"""Expectation kinds for the notifications of the flows: groups, contacts, pictures, statuses.

Each builds a ``<notification>`` pattern from typed fields, so a scenario says what changed
rather than how the stanza is spelled::

    - expect: {to: bob, group: {from: team, by: bot, remove: carol}}
    - expect: {to: bot, contacts: {add: newbie}}
    - expect: {to: alice, picture: {from: bob, change: set}}
    - expect: {to: alice, status: {from: bob, text: At the gym}}

Names resolve as everywhere (users, ``bot``, groups, ``{{captures}}``, ``/regexes/``);
only the fields given are checked. ``notification`` and ``node`` remain for anything else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from simulator.scenario.match import Absent, Pattern
from simulator.scenario.match import Literal as Exactly
from simulator.scenario.model import MatcherSpec, Name, Names
from simulator.vocabulary import Matched, Text

if TYPE_CHECKING:
    from simulator.scenario.builder import Builder
    from simulator.scenario.match import Value

__all__ = ["ContactsMatch", "GroupMatch", "PictureMatch", "StatusMatch"]


def _envelope(
    b: Builder, kind: str, fields: list[tuple[str, str | None, str]], payload: list[Pattern]
) -> Pattern:
    attrs: tuple[tuple[str, Value], ...] = (("type", Exactly(kind)), *b.attrs(fields))
    return Pattern("notification", attrs, tuple(payload))


def _at_most_one(model: MatcherSpec, keys: tuple[str, ...]) -> None:
    given = [key for key in keys if getattr(model, key) not in (None, False)]
    if len(given) > 1:
        raise PydanticCustomError(
            "one_change",
            "a notification carries one change; got {got}",
            {"got": " and ".join(given)},
        )


class GroupMatch(MatcherSpec):
    """A group notification (``w:gp2``): a group made, members added, removed, promoted or
    demoted, a new subject."""

    KEY: ClassVar[str] = "group"
    CHANGES: ClassVar[tuple[str, ...]] = (
        "create",
        "join",
        "add",
        "remove",
        "promote",
        "demote",
        "subject",
    )

    from_: Name | None = Field(default=None, alias="from")
    """The group (its name, ``{{capture}}`` or JID)."""
    by: Name | None = None
    """Who did it (the notification's ``participant``)."""
    id: Matched | None = None
    create: bool | Text | None = None
    """The group was created with us in it: ``true``, or its subject."""
    join: bool | Text | None = None
    """We were added to an existing group: ``true``, or its subject. The added user gets
    the whole group (``<create>`` without ``type``); the members already in get ``add``."""
    add: Names | None = None
    """Who was added (one or a list, in order)."""
    remove: Names | None = None
    promote: Names | None = None
    demote: Names | None = None
    subject: Text | None = None
    """The new subject."""

    @model_validator(mode="after")
    def _one_change(self) -> GroupMatch:
        _at_most_one(self, self.CHANGES)
        return self

    def pattern(self, b: Builder, *, exact: bool) -> Pattern | None:
        fields = [("from", self.from_, "jid"), ("participant", self.by, "jid"), ("id", self.id, "")]
        return _envelope(b, "w:gp2", fields, self._payload(b))

    def _payload(self, b: Builder) -> list[Pattern]:
        kinds: tuple[tuple[str, Value], ...] = (("create", Exactly("new")), ("join", Absent()))
        for key, kind in kinds:
            given: bool | str | None = getattr(self, key)
            if given is None or given is False:
                continue
            group = (
                Pattern("group", (("subject", b.value(given, key)),))
                if isinstance(given, str)
                else Pattern("group")
            )
            return [Pattern("create", (("type", kind),), (group,))]
        if self.subject is not None:
            return [Pattern("subject", (("subject", b.value(self.subject, "subject")),))]
        for key in ("add", "remove", "promote", "demote"):
            users: list[str] | None = getattr(self, key)
            if users is not None:
                members = tuple(
                    Pattern("participant", (("jid", b.jid_value(user, key, i)),))
                    for i, user in enumerate(users)
                )
                return [Pattern(key, children=members)]
        return []


class ContactsMatch(MatcherSpec):
    """A contacts notification: a number in the address book registered (``add``), left
    (``remove``) or changed (``update``)."""

    KEY: ClassVar[str] = "contacts"
    CHANGES: ClassVar[tuple[str, ...]] = ("add", "remove", "update")

    add: Name | None = None
    remove: Name | None = None
    update: Name | None = None
    id: Matched | None = None

    @model_validator(mode="after")
    def _one_change(self) -> ContactsMatch:
        _at_most_one(self, self.CHANGES)
        return self

    def pattern(self, b: Builder, *, exact: bool) -> Pattern | None:
        payload = [
            Pattern(key, (("jid", b.jid_value(user, key)),))
            for key in self.CHANGES
            if (user := getattr(self, key)) is not None
        ]
        return _envelope(b, "contacts", [("id", self.id, "")], payload)


class PictureMatch(MatcherSpec):
    """A picture notification: a user's or group's picture was set or deleted."""

    KEY: ClassVar[str] = "picture"

    from_: Name | None = Field(default=None, alias="from")
    """Whose picture (a user or a group)."""
    by: Name | None = None
    """For a group: the admin who changed it."""
    change: Literal["set", "delete"] | None = None
    id: Matched | None = None
    """The new picture's id (``set``)."""

    def pattern(self, b: Builder, *, exact: bool) -> Pattern | None:
        fields = [("from", self.from_, "jid"), ("participant", self.by, "jid")]
        payload: list[Pattern] = []
        if self.change is not None or self.id is not None:
            change = "set" if self.change is None and self.id is not None else self.change
            attrs = b.attrs([("id", self.id, "")])
            payload.append(Pattern(change or "set", attrs))
        return _envelope(b, "picture", fields, payload)


class StatusMatch(MatcherSpec):
    """A status notification: a contact set a new status message."""

    KEY: ClassVar[str] = "status"

    from_: Name | None = Field(default=None, alias="from")
    text: Text | None = None
    """The new status (literal, ``{{capture}}`` or ``/regex/``)."""

    def pattern(self, b: Builder, *, exact: bool) -> Pattern | None:
        payload = [Pattern("set", data=b.value(self.text, "text"))] if self.text is not None else []
        return _envelope(b, "status", [("from", self.from_, "jid")], payload)
