"""Events made when looked at (``simulator.client.parse.LAZY``): a client files the event of
a text message, a single receipt or an ack by its class and makes it only when something
takes it. Nothing a party can see changes: the events, their fields, their order, the
automatic receipts and acks, what callbacks and predicates see."""

from __future__ import annotations

import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st

from simulator.client import events as ev
from simulator.client.parse import LAZY, MAKERS, parse
from simulator.wire.node import Node
from tests.server.conftest import ALICE, BOB, CAROL, OpenUser
from tests.strategies import node_data, strings

BOB_JID = f"{BOB}@s.whatsapp.net"
CAROL_JID = f"{CAROL}@s.whatsapp.net"


def _as_parsed(events: list[ev.Event]) -> None:
    """Each event is what the parser makes of its stanza, field for field (the stanza is
    the event's own), in the parser's order per stanza."""
    by_stanza: dict[int, list[ev.Event]] = {}
    for event in events:
        by_stanza.setdefault(id(event.node), []).append(event)
    for same in by_stanza.values():
        parsed = parse(same[0].node)
        assert [type(e) for e in same] == [type(e) for e in parsed]
        assert same == parsed
        assert all(e.node is same[0].node for e in same)


async def test_events_taken_later_are_the_parsers_events_in_arrival_order(
    user: OpenUser,
) -> None:
    """Bob takes his events long after they came: a 1:1 text, carol typing (an event made
    at once), a group text and the server's acks of his receipts, all in arrival order
    and as the parser makes them; alice gets bob's and carol's automatic receipts."""
    async with user(ALICE) as alice, user(BOB) as bob, user(CAROL) as carol:
        await trio.testing.wait_all_tasks_blocked()
        group = await alice.create_group("lazy", [BOB_JID, CAROL_JID])
        await trio.testing.wait_all_tasks_blocked()
        alice.events_nowait()
        bob.events_nowait()
        carol.events_nowait()
        first = await alice.send_text(BOB_JID, "one")
        await carol.typing(BOB_JID)
        second = await alice.send_text(group, "two")
        await trio.testing.wait_all_tasks_blocked()
        got = bob.events_nowait()
        assert [type(e) for e in got if not isinstance(e, ev.Unhandled)] == [
            ev.GetMessage,
            ev.MessageComposing,
            ev.GetGroupMessage,
        ]
        messages = [e for e in got if isinstance(e, ev.GetMessage)]
        assert [(m.id, m.body) for m in messages] == [(first, b"one"), (second, b"two")]
        assert isinstance(messages[1], ev.GetGroupMessage)
        assert messages[1].participant == alice.jid and messages[1].from_ == group
        _as_parsed(got)
        sent = alice.events_nowait()
        receipts = [e for e in sent if isinstance(e, ev.MessageReceivedClient)]
        assert sorted((r.id, r.from_, r.participant) for r in receipts) == sorted(
            [(first, BOB_JID, None), (second, group, BOB_JID), (second, group, CAROL_JID)]
        )
        assert [e.id for e in sent if isinstance(e, ev.MessageReceivedServer)] == [first, second]
        _as_parsed(sent)


async def test_a_callback_and_the_inbox_see_one_event_made_once(user: OpenUser) -> None:
    """A callback of the event's class sees it as it arrives, and the application later
    takes that same object; a predicate of ``wait_for`` sees the object it returns."""
    async with user(ALICE) as alice, user(BOB) as bob:
        await trio.testing.wait_all_tasks_blocked()
        seen: list[ev.GetMessage] = []
        bob.on(ev.GetMessage, seen.append)
        msg_id = await alice.send_text(BOB_JID, "hi")
        taken = await bob.wait_for(ev.GetMessage, timeout=5)
        assert seen == [taken] and seen[0] is taken and taken.id == msg_id

        looked_at: list[ev.MessageReceivedClient] = []

        def wanted(event: ev.MessageReceivedClient) -> bool:
            looked_at.append(event)
            return event.id == second

        await alice.send_text(BOB_JID, "first")
        second = await alice.send_text(BOB_JID, "second")
        found = await alice.wait_for(ev.MessageReceivedClient, wanted, timeout=5)
        assert found.id == second and looked_at[-1] is found
        assert [e.id for e in looked_at[:-1]] != []  # the older receipts were looked at first
        again = await alice.wait_for(ev.MessageReceivedClient, timeout=5)
        assert again is looked_at[0]  # not made a second time


async def test_a_waiter_for_a_class_is_woken_by_an_event_not_made_yet(user: OpenUser) -> None:
    """Bob waits for a message while only its class is known: it wakes him, and he gets
    the message; the server's ack of his receipt does not wake a waiter for messages."""
    async with user(ALICE) as alice, user(BOB) as bob:
        await trio.testing.wait_all_tasks_blocked()
        bob.events_nowait()
        got: list[ev.GetMessage] = []

        async def wait() -> None:
            got.append(await bob.wait_for(ev.GetMessage, timeout=5))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(wait)
            await trio.testing.wait_all_tasks_blocked()
            msg_id = await alice.send_text(BOB_JID, "wake")
        assert [m.id for m in got] == [msg_id]
        await trio.testing.wait_all_tasks_blocked()
        rest = bob.events_nowait()
        assert [type(e) for e in rest] == [ev.Unhandled]
        assert rest[0].node.tag == "ack" and rest[0].node.get("class") == "receipt"


# ------------------------------------------------------------ the makers against the parser

_KEYS = ("from", "to", "id", "t", "notify", "offline", "participant", "type", "class")
_VALUES = st.one_of(
    st.sampled_from(["", "0", "1", "text", "media", "delivery", "read", "message", "receipt"]),
    st.integers(0, 2_000_000_000).map(str),
    strings(),
)
_CHILDREN = st.lists(
    st.one_of(
        st.builds(Node, st.just("body"), st.just({}), st.just(()), node_data()),
        st.builds(
            Node,
            st.sampled_from(["media", "list", "item", "notify", "request", "x"]),
            st.dictionaries(st.sampled_from(_KEYS), _VALUES, max_size=2),
        ),
    ),
    max_size=3,
)


@given(
    st.builds(
        Node,
        st.sampled_from(sorted(LAZY)),
        st.dictionaries(st.sampled_from(_KEYS), _VALUES, max_size=len(_KEYS)),
        _CHILDREN.map(tuple),
    )
)
def test_a_stanza_filed_lazily_makes_the_parsers_events(node: Node) -> None:
    """Whatever the attributes and children: when LAZY files a stanza's events unmade, the
    makers give the parser's events, class for class and field for field, in its order."""
    kinds = LAZY[node.tag](node)
    if kinds is None:  # not sure: the client parses it at once
        return
    made = [MAKERS[kind](node) for kind in kinds]
    parsed = parse(node)
    assert [type(event) for event in made] == [type(event) for event in parsed]
    assert made == parsed
