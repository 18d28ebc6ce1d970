"""Properties to take off the shelf: ``--property simulator.explore.library`` (all of them)
or ``--property simulator.explore.library:no_duplicate_answers`` (one).

They are not built in because they hold for some bots only: read each one's sentence.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

from simulator.explore.properties import Event, Run, Violation, invariant

__all__ = ["no_duplicate_answers"]


@dataclass
class _Chat:
    """One chat during one step: the messages the bot got and what it sent back."""

    new: int = 0
    """Messages delivered to the bot for the first time."""
    again: list[Event] = field(default_factory=list)
    """Deliveries of a message the bot had got before (same sender, same id)."""
    sent: dict[str, list[Event]] = field(default_factory=lambda: defaultdict(list))
    """What the bot sent to the chat, by text."""


@invariant("no duplicate answers: a message delivered twice is answered once")
def no_duplicate_answers(run: Run) -> Iterator[Violation]:
    """A message the service delivers again (a duplicate, or a redelivery after a lost
    receipt or a reconnect: the same sender and id) gets no second answer.

    Read per step and chat: where a message came again, the bot may send each text at
    most once per message it got there for the first time. So it fits a bot that sends a
    given text at most once per message (an echo, a confirmation); for a bot that numbers
    its answers, write your own on its message ids.
    """
    bot_jid = run.jid("bot")
    seen: set[tuple[str, str, str]] = set()
    chats: dict[tuple[int | None, str], _Chat] = defaultdict(_Chat)
    for event in run.events:
        node = event.node
        if event.received_by("bot", "message") and node.get("from") != bot_jid:
            chat = chats[(event.step, node.get("from", ""))]
            key = (node.get("from", ""), node.get("participant", ""), node.get("id", ""))
            if key in seen:
                chat.again.append(event)
            else:
                seen.add(key)
                chat.new += 1
        elif event.sent_by("bot", "message") and node.get("to"):
            text = event.body
            if text is None:
                text = node.children[0].to_text(indent=None) if node.children else ""
            chats[(event.step, node.get("to", ""))].sent[text].append(event)
    for (_step, _jid), chat in chats.items():
        if not chat.again:
            continue
        repeated = chat.again[0]
        for text, sent in chat.sent.items():
            if len(sent) > chat.new:
                who = repeated.peer or repeated.node.get("from", "?")
                times = "once" if len(sent) == 1 else f"{len(sent)} times"
                yield Violation(
                    f"{who}'s message {repeated.node.get('id')} came to the bot again (the"
                    f" same id) and the bot answered it again: it sent {text!r} {times} in"
                    f" that step, for {chat.new} new message(s) there",
                    sent[chat.new],
                )
