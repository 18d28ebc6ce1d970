"""Generated runs: lists of scenario steps, written in the file format, drawn by Hypothesis.

:func:`runs` is a Hypothesis strategy of step lists (each step a mapping, exactly as in a
scenario file). Hypothesis draws a list of abstract actions (a kind, a few small numbers,
a few texts); :func:`interpret` turns it into steps against a model of the run (who is
logged in, whether the bot runs, the groups and their admins, who blocked the bot), so
that every step is one the service accepts: a user logs in before acting, only an admin
removes, the last admin never leaves. Every list of actions interprets to a valid run,
so Hypothesis shrinks the list freely: drops actions, and moves each choice towards the
first option (the first user, the simplest text).

Faults (``faults``): the faults of the service's fault model (:data:`FAULTS`, a
selection of them) are one more kind of action, interpreted against the model like the
users' actions, and written as ordinary ``fault:`` / ``restart`` steps: a drop, delay,
duplicate or reorder of the next stanza of some kind, or the bot's session ending
(``disconnect``, ``stream-error``) on the message a user sends it right after, or a
server restart. Each is scoped (``times: 1``, or ``for: 1m``) and a fault that ends the
bot's session is followed by a minute's wait and ``login: bot``, which starts the bot
unless it runs (one that logs in again by itself is back by then), whichever way the
fault hit.

Extra actions (``extra``): a strategy of single steps drawn as one more kind of action,
at the generator's choice of moment (for steps of your own making).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

from hypothesis import strategies as st

from simulator.explore.cast import Cast, GroupModel

__all__ = [
    "COMMANDS",
    "EMOJI",
    "FAULTS",
    "MEDIA",
    "TEXTS",
    "WAITS",
    "RunModel",
    "interpret",
    "media_files",
    "parse_faults",
    "runs",
    "texts",
]

Step = dict[str, Any]

EMOJI: Final = ("😀", "👍", "❤️", "🎉", "🇩🇪", "👩‍💻", "🙈🙉🙊", "😂😂😂")
COMMANDS: Final = ("hello", "help", "STOP", "start", "yes", "no", "?", "order 42")
"""Short texts bots often treat as commands."""

TEXTS: Final = (
    "Hello, how are you?",
    "what time is it?",
    "Grüße aus Köln",
    "¿Qué tal?",
    "Привет",
    "مرحبا",
    "שלום",
    "你好",
    "こんにちは",
    "नमस्ते",
    "ok 👍",
    "a\nmultiline\nmessage",
    "x" * 1000,
)
"""Texts in many scripts (right-to-left ones too), emoji with text, a long line."""

SUBJECT_LIMIT: Final = 25
"""The longest group subject the service takes (``ServerConfig`` ``max_subject``)."""

WAITS: Final = ("1s", "5s", "30s", "2m", "10m", "1h", "6h", "1d")

PICTURE: Final = (
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAC0lEQVR42mNgQAYAAA4AATo1BFYAAAAASUVORK5CYII="
)
"""A 2x2 PNG, the picture users set."""

MEDIA: Final = (
    ("image", "media/explore.png"),
    ("audio", "media/explore.aac"),
    ("video", "media/explore.mp4"),
)
"""What users send as media: files next to the scenario (see :func:`media_files`), so
each goes through the whole media flow (upload slot, POST, message with the URL)."""


def media_files() -> dict[str, bytes]:
    """The media files the generated steps name, relative path -> content."""
    png = base64.b64decode(PICTURE)
    return {
        "media/explore.png": png,
        "media/explore.aac": b"\xff\xf1\x50\x80\x01\x7f\xfc" + bytes(64),
        "media/explore.mp4": b"\x00\x00\x00\x18ftypmp42" + bytes(64),
    }


_RANDOM_ALPHABET: Final = st.characters(
    codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp"), exclude_characters="{}"
)


def texts() -> st.SearchStrategy[str]:
    """What a user writes: a command, a text of some script, emoji only, or random
    characters of any script."""
    return st.one_of(
        st.sampled_from(COMMANDS),
        st.sampled_from(TEXTS),
        st.lists(st.sampled_from(EMOJI), min_size=1, max_size=4).map("".join),
        st.text(_RANDOM_ALPHABET, min_size=1, max_size=60).filter(lambda s: s.strip() != ""),
    )


@dataclass
class RunModel:
    """The generator's model of a run, updated with every step it writes."""

    cast: Cast
    online: set[str] = field(default_factory=set)
    registered: set[str] = field(default_factory=set)
    bot_running: bool = True
    blocked_bot: set[str] = field(default_factory=set)
    groups: dict[str, GroupModel] = field(default_factory=dict)
    lists: dict[str, str] = field(default_factory=dict)
    made_groups: int = 0
    receipts: int = 0
    steps: list[Step] = field(default_factory=list)

    def add(self, step: Step) -> None:
        self.steps.append(step)

    def ensure_online(self, user: str) -> None:
        if user in self.online:
            return
        if user in self.cast.unregistered and user not in self.registered:
            self.add({"code_request": {"user": user}})
            self.add({"code_register": {"user": user}})
            self.registered.add(user)
        self.add({"login": user})
        self.online.add(user)

    def finish(self) -> list[Step]:
        """The steps, ended so that the built-in checks can see the bot: the bot runs,
        answers the server's ping, and takes that ping from its client within the
        minute after (a bot blocked in its handler does not: the runner says it
        stopped handling events)."""
        if not self.bot_running:
            self.add({"login": "bot"})
            self.bot_running = True
        self.add({"server": {"ping": "bot"}})
        self.add({"wait": "2m"})
        return self.steps


T = TypeVar("T")

_BYTES_PER_ACTION: Final = 8
_TEXTS_PER_ACTION: Final = 2


class Pick:
    """The choices of one action, drawn before the action is interpreted.

    An action is drawn as a few small numbers and texts; interpreting it against the
    run's model turns them into a step (``pick.one(users)``: the user at that number).
    Since every list of actions interprets to a valid run, Hypothesis can shrink the list
    as it likes (drop actions, simplify numbers towards 0: the first choice).
    """

    def __init__(self, numbers: Sequence[int], texts_: Sequence[str]) -> None:
        self._numbers = list(numbers)
        self._texts = list(texts_)
        self._next = 0
        self._next_text = 0

    def _number(self) -> int:
        if self._next >= len(self._numbers):
            return 0
        self._next += 1
        return self._numbers[self._next - 1]

    def number(self, low: int, high: int) -> int:
        return low + self._number() % (high - low + 1)

    def flag(self) -> bool:
        return self._number() % 2 == 1

    def one(self, options: Sequence[T]) -> T:
        return options[self._number() % len(options)]

    def some(self, options: Sequence[T], most: int) -> list[T]:
        """Up to ``most`` distinct options."""
        count = self.number(0, most)
        chosen: list[T] = []
        for _ in range(count):
            option = self.one(options)
            if option not in chosen:
                chosen.append(option)
        return chosen

    def text(self) -> str:
        """Half the time a command (by number: 0 is ``hello``), else a drawn text."""
        number = self._number()
        if number % 2 == 0 or self._next_text >= len(self._texts):
            return COMMANDS[number // 2 % len(COMMANDS)]
        self._next_text += 1
        return self._texts[self._next_text - 1]


Action = Callable[[Pick, RunModel], None]


def _user(pick: Pick, model: RunModel) -> str:
    # Half of what users do is done by the first user: a conversation needs someone who
    # keeps talking (and a failing run shrinks to that user).
    everyone = (*model.cast.users, *model.cast.unregistered)
    index = pick.number(0, 2 * len(everyone) - 1)
    user = everyone[index if index < len(everyone) else 0]
    model.ensure_online(user)
    return user


def _chat(pick: Pick, model: RunModel, user: str) -> str:
    """Where a user writes: mostly to the bot, sometimes to a group of theirs with it."""
    shared = sorted(
        name
        for name, group in model.groups.items()
        if user in group.members and model.cast.bot in group.members
    )
    if shared and pick.number(0, 3) == 3:
        return pick.one(shared)
    return "bot"


def _text(pick: Pick, model: RunModel) -> None:
    user = _user(pick, model)
    model.add({"send": {"from": user, "to": _chat(pick, model, user), "text": pick.text()}})


def _media(pick: Pick, model: RunModel) -> None:
    user = _user(pick, model)
    kind = pick.number(0, 4)
    send: Step = {"from": user, "to": _chat(pick, model, user)}
    if kind < 3:
        key, path = MEDIA[kind]
        if pick.flag():
            send[key] = {"path": path, "caption": pick.text()}
        else:
            send[key] = path
    elif kind == 3:
        send["location"] = {
            "latitude": pick.one((52.52, -33.8688, 0.0, 35.6762)),
            "longitude": pick.one((13.405, 151.2093, 0.0, 139.6503)),
        }
        if pick.flag():
            send["location"]["name"] = pick.text()
    else:
        other = pick.one(model.cast.users)
        name = other.title()
        card = f"BEGIN:VCARD\nVERSION:3.0\nFN:{name}\nTEL:+{model.cast.phones[other]}\nEND:VCARD"
        send["vcard"] = {"name": name, "card": card}
    model.add({"send": send})


def _receipt(pick: Pick, model: RunModel) -> None:
    # The bot's message ids are not known when the run is drawn: a user marks as read or
    # delivered an id of their own making, as a client does after a reinstall.
    user = _user(pick, model)
    model.receipts += 1
    kind = "read" if pick.flag() else "receipt"
    model.add({kind: {"from": user, "to": "bot", "id": f"explore-{model.receipts}"}})


def _typing(pick: Pick, model: RunModel) -> None:
    user = _user(pick, model)
    model.add({pick.one(("typing", "paused")): {"from": user, "to": "bot"}})


def _wait(pick: Pick, model: RunModel) -> None:
    model.add({"wait": pick.one(WAITS)})


def _online(pick: Pick, model: RunModel) -> None:
    everyone = (*model.cast.users, *model.cast.unregistered)
    user = pick.one(everyone)
    how = pick.number(0, 3)
    if user in model.online and how == 0:
        model.add({"logout": user})
        model.online.discard(user)
    elif user in model.online and how == 1:
        model.add({"server": {"kill": user}})
        model.online.discard(user)
    else:
        model.ensure_online(user)
        kind = "unavailable" if how == 2 else "available"
        model.add({"presence": {"from": user, "type": kind}})


def _subscribe(pick: Pick, model: RunModel) -> None:
    user = _user(pick, model)
    kind = pick.one(("subscribe", "unsubscribe"))
    model.add({"presence": {"from": user, "type": kind, "to": "bot"}})


def _restart_bot(pick: Pick, model: RunModel) -> None:
    """The bot stops (logs out, or its connection drops) and, most often, comes right back."""
    if not model.bot_running:
        model.add({"login": "bot"})
        model.bot_running = True
        return
    how = pick.number(0, 3)
    model.add({"server": {"kill": "bot"}} if how == 1 else {"logout": "bot"})
    if how >= 1:
        # Right away after a kill: a bot that logs in again by itself would be back
        # (and a login step would find it running) once time passes.
        model.add({"login": "bot"})
    else:
        model.bot_running = False


def _ping(pick: Pick, model: RunModel) -> None:
    if not model.bot_running:
        model.add({"login": "bot"})
        model.bot_running = True
    model.add({"server": {"ping": "bot"}})


def _block(pick: Pick, model: RunModel) -> None:
    user = _user(pick, model)
    if user in model.blocked_bot:
        model.add({"unblock": {"from": user, "user": "bot"}})
        model.blocked_bot.discard(user)
    else:
        model.add({"block": {"from": user, "user": "bot"}})
        model.blocked_bot.add(user)


def _profile(pick: Pick, model: RunModel) -> None:
    user = _user(pick, model)
    what = pick.number(0, 3)
    if what == 0:
        model.add({"set_status": {"from": user, "text": pick.text()}})
    elif what == 1:
        model.add({"set_picture": {"from": user, "base64": PICTURE}})
    elif what == 2:
        model.add({"set_picture": {"from": user, "delete": True}})
    else:
        field_ = pick.one(("last", "status", "profile"))
        value = pick.one(("all", "contacts", "none"))
        model.add({"set_privacy": {"from": user, field_: value}})


def _sync(pick: Pick, model: RunModel) -> None:
    user = _user(pick, model)
    others = pick.some(model.cast.users, 3)
    numbers = ["bot", *others]
    if pick.flag():
        numbers.append("+49 111 0000099")  # a number not on the service
    model.add({"sync_contacts": {"from": user, "numbers": numbers}})


def _broadcast(pick: Pick, model: RunModel) -> None:
    owned = sorted(name for name, owner in model.lists.items() if owner in model.cast.users)
    use_list: bool = pick.flag()
    if owned and use_list:
        name = pick.one(owned)
        owner = model.lists[name]
        model.ensure_online(owner)
        model.add({"broadcast": {"from": owner, "list": name, "text": pick.text()}})
        return
    user = _user(pick, model)
    others = pick.some(model.cast.users, 2)
    to = ["bot", *(o for o in others if o != user)]
    model.add({"broadcast": {"from": user, "to": to, "text": pick.text()}})


def _group(pick: Pick, model: RunModel) -> None:
    what = pick.number(0, 5)
    if what == 0 or not model.groups:
        user = _user(pick, model)
        model.made_groups += 1
        name = f"g{model.made_groups}"
        others = pick.some(model.cast.users, 2)
        members = ["bot", *(o for o in others if o != user)]
        subject = pick.one(("Lunch", "Release team", "Família", "⚽ Sunday"))
        step = {"from": user, "subject": subject, "participants": members, "as": name}
        model.add({"create_group": step})
        model.groups[name] = GroupModel(
            name, admins={user}, members={user, model.cast.bot, *members[1:]}
        )
        return
    name = pick.one(sorted(model.groups))
    group = model.groups[name]
    users_in = sorted(group.members - {model.cast.bot})
    admins = sorted(group.admins & set(model.cast.users))
    if what == 1 and users_in:
        user = pick.one(users_in)
        model.ensure_online(user)
        subject = pick.text()[:SUBJECT_LIMIT]  # the service refuses a longer one (406)
        model.add({"set_subject": {"from": user, "group": name, "subject": subject}})
    elif what == 2 and admins:
        admin = pick.one(admins)
        outside = sorted(set(model.cast.users) - group.members)
        if not outside:
            return
        model.ensure_online(admin)
        new = pick.one(outside)
        model.add({"add_participants": {"from": admin, "group": name, "participants": new}})
        group.members.add(new)
    elif what == 3 and admins:
        admin = pick.one(admins)
        removable = sorted(group.members - group.admins)
        if not removable:
            return
        model.ensure_online(admin)
        gone = pick.one(removable)
        target = "bot" if gone == model.cast.bot else gone
        model.add({"remove_participants": {"from": admin, "group": name, "participants": target}})
        group.members.discard(gone)
    elif what == 4 and admins:
        admin = pick.one(admins)
        plain = sorted(set(users_in) - group.admins)
        if not plain:
            return
        model.ensure_online(admin)
        chosen = pick.one(plain)
        model.add({"promote": {"from": admin, "group": name, "participants": chosen}})
        group.admins.add(chosen)
    elif users_in:
        # Anyone but the last admin leaves (a group without admins is out of the model).
        leavers = [u for u in users_in if u not in group.admins or len(group.admins) > 1]
        if not leavers:
            return
        user = pick.one(leavers)
        model.ensure_online(user)
        model.add({"leave_group": {"from": user, "group": name}})
        group.members.discard(user)
        group.admins.discard(user)


ACTIONS: Final[tuple[tuple[int, Action], ...]] = (
    (12, _text),
    (3, _media),
    (3, _wait),
    (4, _restart_bot),
    (2, _online),
    (2, _receipt),
    (2, _typing),
    (1, _ping),
    (1, _block),
    (1, _profile),
    (1, _subscribe),
    (1, _sync),
    (1, _broadcast),
    (2, _group),
)
"""Each kind of action with its weight (how often it is drawn), simple ones first."""

_WEIGHTED: Final[tuple[Action, ...]] = tuple(a for w, a in ACTIONS for _ in range(w))

# -------------------------------------------------------------------- faults

FAULTS: Final = ("drop", "delay", "duplicate", "reorder", "disconnect", "stream-error", "restart")
"""The faults a run may draw (``--faults all``), each written as scenario steps."""

FAULT_WEIGHT: Final = 6
"""How often a fault is drawn, against the users' actions' weights (36 in all)."""


def parse_faults(text: str) -> tuple[str, ...]:
    """``all`` or ``drop,delay,...`` (``stream_error`` spelt either way) -> fault names.

    Raises:
        ValueError: an unknown name (the message lists the known ones).
    """
    if text.strip() == "all":
        return FAULTS
    names: list[str] = []
    for part in text.split(",") if text.strip() else ():
        name = part.strip().replace("_", "-")
        if name not in FAULTS:
            known = ", ".join(FAULTS)
            raise ValueError(f"{part.strip()!r} is not a fault to explore (all, or of: {known})")
        if name not in names:
            names.append(name)
    return tuple(names)


def _someone(pick: Pick, model: RunModel) -> str:
    """A registered user of the world (logged in for the step that follows)."""
    user = pick.one(model.cast.users)
    model.ensure_online(user)
    return user


def _selector(pick: Pick, model: RunModel, options: tuple[str, ...]) -> str:
    what = pick.one(options)
    return what.format(user=_someone(pick, model)) if "{user}" in what else what


def _fault(name: str, pick: Pick, model: RunModel) -> None:
    """The steps of one drawn fault (see the module docstring)."""
    if name == "drop":
        what = _selector(pick, model, ("message to bot", "receipt from bot", "message from {user}"))
        model.add({"fault": {"drop": what, "times": 1}})
    elif name == "delay":
        what = _selector(pick, model, ("message to bot", "receipt to {user}", "receipt from bot"))
        seconds = pick.one(("1s", "5s", "30s"))
        model.add({"fault": {"delay": what, "seconds": seconds, "times": 1}})
    elif name == "duplicate":
        what = _selector(pick, model, ("message to bot", "receipt to bot", "message from {user}"))
        model.add({"fault": {"duplicate": what, "times": 1}})
    elif name == "reorder":
        model.add({"fault": {"reorder": "message to bot", "count": 2, "for": "1m"}})
    elif name == "restart":
        model.add({"restart": {"goodbye": True} if pick.flag() else {}})
        model.add({"wait": "1m"})
        model.add({"login": "bot"})  # unless it logged in again by itself
        model.bot_running = True
    elif model.bot_running:
        # The bot's session ends on the message a user sends it now (or, if something
        # else took that message, the fault runs out unused a minute later).
        user = _someone(pick, model)
        fault: Step = {"times": 1, "for": "1m"}
        if name == "disconnect":
            fault = {"disconnect": "message to bot", **fault}
        else:
            reason = pick.one(("system-shutdown", "ack", "conflict"))
            fault = {"stream_error": "message to bot", "reason": reason, **fault}
        model.add({"fault": fault})
        model.add({"send": {"from": user, "to": "bot", "text": pick.text()}})
        model.add({"wait": "1m"})
        model.add({"login": "bot"})  # unless it logged in again by itself


def runs(
    cast: Cast,
    *,
    max_steps: int = 16,
    extra: st.SearchStrategy[Step] | None = None,
    faults: Sequence[str] = (),
) -> st.SearchStrategy[list[Step]]:
    """A strategy of generated runs: step lists of up to ``max_steps`` actions (an action
    may write a login or registration before itself), ended by the bot answering a ping.

    ``faults``: names of :data:`FAULTS` drawn among the actions (as ``fault:`` steps).
    ``extra``: a strategy of single steps drawn as one more kind of action; they are
    written as drawn, between the users' actions.
    """
    faults = tuple(faults)
    kinds = len(_WEIGHTED) + (FAULT_WEIGHT if faults else 0)
    action: st.SearchStrategy[tuple[int, list[int], list[str]] | Step] = st.tuples(
        st.integers(0, kinds - 1),
        st.lists(st.integers(0, 255), min_size=_BYTES_PER_ACTION, max_size=_BYTES_PER_ACTION),
        st.lists(texts(), min_size=_TEXTS_PER_ACTION, max_size=_TEXTS_PER_ACTION),
    )
    if extra is not None:
        action = st.one_of(action, extra)
    return st.lists(action, min_size=min(4, max_steps), max_size=max_steps).map(
        lambda actions: interpret(cast, actions, faults=faults)
    )


def interpret(
    cast: Cast,
    actions: Sequence[tuple[int, list[int], list[str]] | Step],
    *,
    faults: Sequence[str] = (),
) -> list[Step]:
    """The steps of a drawn list of actions (see :class:`Pick`); extra steps as they are."""
    model = RunModel(cast=cast, groups=_copy_groups(cast), lists=dict(cast.lists))
    for action in actions:
        if isinstance(action, dict):
            model.add(action)
            continue
        kind, numbers, words = action
        pick = Pick(numbers, words)
        if kind < len(_WEIGHTED):
            _WEIGHTED[kind](pick, model)
        elif faults:
            _fault(pick.one(faults), pick, model)
    return model.finish()


def _copy_groups(cast: Cast) -> dict[str, GroupModel]:
    return {
        name: GroupModel(name, admins=set(g.admins), members=set(g.members))
        for name, g in cast.groups.items()
    }
