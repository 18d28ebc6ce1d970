"""Recording a live session as a scenario (``simulator serve --record``): the writer on
hand-built transcripts, a recorded in-process session replayed against good and broken
bots, and the command line end to end over TCP."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest
import trio
import trio.testing

from simulator.cli import main
from simulator.client import Client, open_client
from simulator.client.events import GetMessage, MessageReceivedClient
from simulator.jid import user_jid
from simulator.scenario import load_scenario, run_scenario
from simulator.scenario.document import STEP_TYPES
from simulator.scenario.loader import check_file
from simulator.scenario.match import Literal, Regex, compile_value
from simulator.scenario.record import (
    LiveRecorder,
    Recording,
    RecordOptions,
    Tapped,
    find_account,
    record_scenario,
    recording,
    schema_reference,
    write_recording,
)
from simulator.scenario.record_writer import RECORDED_STEPS
from simulator.scenario.steps import ExpectSpec, LoginSpec, ReceiptSpec
from simulator.server import open_server
from simulator.transport import MemoryConnector
from simulator.wire.node import Node
from simulator.world import AccountSpec, World, build_state, default_password, load_world
from tests.scenario.bots.broken import shouting
from tests.scenario.conftest import EXAMPLES

ROOT = EXAMPLES.parent
T0 = 1_420_070_400.0
ALICE = "491110000001@s.whatsapp.net"
CAROL = "491110000003@s.whatsapp.net"
BOT = "491119999999@s.whatsapp.net"
GROUP = "491119999999-1420070400@g.us"
WORLD = [
    AccountSpec(phone="491110000001", name="Alice", password="QUxJQ0U="),
    AccountSpec(phone="491110000003", name="Carol", password="Q0FST0w="),
    AccountSpec(phone="491119999999", name="Echo", password="RUNITw=="),
]


JIDS = {"alice": ALICE, "carol": CAROL, "bot": BOT}


def ev(at: float, direction: str, jid: str, text: str | None = None) -> Tapped:
    """An event ``at`` seconds into the session."""
    assert direction in ("in", "out", "login", "logout")
    node = Node.parse(text) if text is not None else None
    return Tapped(direction, jid, node, T0 + at)  # type: ignore[arg-type]


def transcript(text: str) -> list[Tapped]:
    """Events written one a line: ``AT DIRECTION PARTY [NODE]``; a line starting with
    spaces continues the node; ``{A}``, ``{B}``, ``{C}``, ``{G}`` are Alice's, the bot's,
    Carol's and the group's JIDs."""
    lines: list[str] = []
    for line in text.strip("\n").splitlines():
        if line.startswith(" "):
            lines[-1] += " " + line.strip()
        else:
            lines.append(line)
    events = []
    for line in lines:
        at, direction, party, *node = line.split(maxsplit=3)
        filled = node[0].format(A=ALICE, B=BOT, C=CAROL, G=GROUP) if node else None
        events.append(ev(float(at), direction, JIDS[party], filled))
    return events


def valid(tmp_path: Path, recorded: Recording) -> Path:
    """Write the recording and check that it is a valid scenario file."""
    path = tmp_path / "recorded.yaml"
    path.write_text(recorded.text, "utf-8")
    assert check_file(path)[1] == []
    return path


# ==================================================================== the writer (pure)

ECHO_SESSION = transcript("""
0    login  bot
0    out    bot    <ib from="s.whatsapp.net"><offline count="0"/></ib>
0    in     bot    <presence type="available" name="Echo"/>
1    login  alice
1    out    alice  <ib from="s.whatsapp.net"><offline count="0"/></ib>
1    in     alice  <presence type="available" name="Alice"/>
1    out    bot    <presence from="{A}"/>
1.2  in     alice  <message to="{B}" type="text" id="1420070401-1"><body>hi</body></message>
1.2  out    alice  <ack class="message" id="1420070401-1" from="{B}" t="1420070401"/>
1.2  out    bot    <message from="{A}" type="text" id="1420070401-1" t="1420070401" notify="Alice"
                   offline="0"><body>hi</body></message>
1.2  in     bot    <receipt to="{A}" id="1420070401-1"/>
1.2  out    alice  <receipt from="{B}" id="1420070401-1" t="1420070401"/>
1.2  in     alice  <ack to="{B}" class="receipt" id="1420070401-1"/>
1.2  in     bot    <message to="{A}" type="text" id="1420070400-1"><body>hi</body></message>
1.2  out    alice  <message from="{B}" type="text" id="1420070400-1" t="1420070401" notify="Echo"
                   offline="0"><body>hi</body></message>
1.2  in     alice  <receipt to="{B}" id="1420070400-1"/>
1.2  out    bot    <receipt from="{A}" id="1420070400-1" t="1420070401"/>
1.2  in     bot    <ack to="{A}" class="receipt" id="1420070400-1"/>
1.3  in     alice  <iq id="1420070401-2" type="get" xmlns="w:p" to="s.whatsapp.net"><ping/></iq>
1.3  out    alice  <iq from="s.whatsapp.net" id="1420070401-2" type="result"/>
4.05 in     alice  <receipt to="{B}" id="1420070400-1" type="read"/>
4.05 out    bot    <receipt from="{A}" id="1420070400-1" type="read" t="1420070404"/>
4.5  in     alice  <iq id="1420070401-3" type="get" xmlns="w" to="s.whatsapp.net"><props/></iq>
4.5  out    alice  <iq from="s.whatsapp.net" id="1420070401-3" type="result">
                   <props version="4" t="1420070404"/></iq>
4.6  in     alice  <chatstate to="{B}"><composing/></chatstate>
4.6  out    bot    <chatstate from="{A}"><composing/></chatstate>
4.6  in     alice  <message to="{B}" type="text" id="1420070401-4"><body>later</body></message>
4.6  out    bot    <message from="{A}" type="text" id="1420070401-4" t="1420070404" notify="Alice"
                   offline="0"><body>later</body></message>
64.7 in     bot    <message to="{A}" type="text" id="1420070400-2"><body>/later/</body></message>
64.7 out    alice  <message from="{B}" type="text" id="1420070400-2" t="1420070464" notify="Echo"
                   offline="0"><body>/later/</body></message>
64.7 in     alice  <receipt to="{B}" id="1420070400-2"/>
64.7 out    bot    <receipt from="{A}" id="1420070400-2" t="1420070464"/>
70   logout alice
""")

ECHO_FILE = r"""# yaml-language-server: $schema=scenario.schema.json
name: the echo bot, live
description: recorded by hand
world:
  accounts:
    - {phone: '491110000001', name: Alice, password: QUxJQ0U=}
    - {phone: '491110000003', name: Carol, password: Q0FST0w=}
    - {phone: '491119999999', name: Echo, password: RUNITw==}
bot:
  account: echo
options:
  start: '2015-01-01T00:00:00Z'
steps:
  - wait: 1s
  - login: alice
  - send: {from: alice, to: bot, id: '{{m1}}', text: hi}
  - expect: {to: bot, message: {from: alice, id: '{{m1}}', body: hi}}
  - expect: {to: alice, receipt: {from: bot, id: '{{m1}}', type: delivery}}
  - expect: {to: alice, message: {from: bot, id: '{{m2}}', body: hi}}
  - expect: {to: bot, receipt: {from: alice, id: '{{m2}}', type: delivery}}
  - wait: 2.8s
  - read: {from: alice, to: bot, id: '{{m2}}'}
  - expect: {to: bot, receipt: {from: alice, id: '{{m2}}', type: read}}
  - iq:
      from: alice
      node: <iq type="get" xmlns="w" to="s.whatsapp.net"><props/></iq>
      result: <iq from="s.whatsapp.net" type="result"><props version="4"/></iq>
  - typing: {from: alice, to: bot}
  - expect: {to: bot, chatstate: {from: alice, state: composing}}
  - send: {from: alice, to: bot, id: '{{m3}}', text: later}
  - expect: {to: bot, message: {from: alice, id: '{{m3}}', body: later}}
  - expect: {to: alice, within: 1m6s, message: {from: bot, id: '{{m4}}', body: /^/later/\Z/}}
  - expect: {to: bot, receipt: {from: alice, id: '{{m4}}', type: delivery}}
  - wait: 5.3s
  - logout: alice
"""


def test_a_hand_built_session_becomes_exactly_this_file(tmp_path: Path) -> None:
    options = RecordOptions(name="the echo bot, live", description="recorded by hand")
    recorded = record_scenario(ECHO_SESSION, WORLD, "491119999999", options)
    assert recorded.text == ECHO_FILE
    assert (recorded.steps, recorded.warnings) == (19, ())
    valid(tmp_path, recorded)


GROUP_SESSION = transcript("""
0   login  bot
0   in     bot    <iq id="b-1" type="set" xmlns="w:g2" to="g.us"><create subject="Club">
                  <participant jid="{A}"/></create></iq>
0   out    bot    <iq from="g.us" id="b-1" type="result">
                  <group id="491119999999-1420070400" creation="1420070400"/></iq>
0   in     bot    <message to="{G}" type="text" id="b-2"><body>welcome</body></message>
0   in     bot    <message to="{C}" type="text" id="b-3"><body>hi carol</body></message>
0.5 logout bot
2   login  alice
2   out    alice  <notification from="{G}" type="w:gp2" id="1234567890" participant="{B}"
                  t="1420070400" offline="1"><create type="new"><group
                  id="491119999999-1420070400" creator="{B}" creation="1420070400"
                  subject="Club"/></create></notification>
2   out    alice  <message from="{G}" participant="{B}" type="text" id="b-2" t="1420070400"
                  offline="1"><body>welcome</body></message>
2   out    alice  <ib from="s.whatsapp.net"><offline count="2"/></ib>
2.5 in     alice  <message to="{G}" type="text" id="a-1"><body>hi all</body></message>
2.5 in     alice  <message to="{B}" type="media" id="a-2"><media type="location"
                  latitude="52.5" longitude="13.4" encoding="raw"/></message>
2.5 in     alice  <receipt to="{G}" participant="{B}" id="b-2" type="read"/>
3   logout alice
4   login  bot
4   out    bot    <message from="{G}" participant="{A}" type="text" id="a-1" t="1420070402"
                  offline="1"><body>hi all</body></message>
4   out    bot    <message from="{A}" type="media" id="a-2" t="1420070402" offline="1"><media
                  type="location" latitude="52.5" longitude="13.4" encoding="raw"/></message>
4   out    bot    <receipt from="{G}" participant="{A}" id="b-2" type="read" t="1420070402"
                  offline="1"/>
4   in     bot    <receipt to="{G}" participant="{A}" id="a-1"/>
5   login  alice
5   out    alice  <receipt from="{G}" participant="{B}" id="a-1" t="1420070404" offline="1"/>
5   in     alice  <ack to="{G}" participant="{B}" class="receipt" id="a-1"/>
5   in     alice  <presence type="unavailable"/>
""")


def test_groups_offline_delivery_raw_stanzas_and_relogins(tmp_path: Path) -> None:
    recorded = record_scenario(GROUP_SESSION, WORLD, BOT)
    notification = (
        '<notification from="{{g1}}" type="w:gp2" id="{{n1}}" participant="{{bot}}">'
        '<create type="new"><group id="{{i1}}" creator="{{bot}}" subject="Club"/></create>'
        "</notification>"
    )
    location = (
        '<message {} type="media" id="a-2-rec"><media type="location" latitude="52.5"'
        ' longitude="13.4" encoding="raw"/></message>'
    )
    iq = (
        '<iq id="{{q1}}" type="set" xmlns="w:g2" to="g.us">'
        '<create subject="Club"><participant jid="{{alice}}"/></create></iq>'
    )
    answer = '<iq from="g.us" id="{{q1}}" type="result"><group id="{{i1}}"/></iq>'
    to_carol = '<message to="{{carol}}" type="text" id="{{m1}}"><body>hi carol</body></message>'
    assert recorded.document["steps"] == [
        # The bot's iq and its answer, checked where they were: times left out, ids captured.
        {"expect": {"to": "server", "node": iq}},
        {"expect": {"to": "bot", "node": answer}},
        # No user received this message: it is checked as the bot sent it.
        {"unordered": [{"to": "server", "node": to_carol}]},
        {"logout": "bot"},
        {"wait": "1.5s"},
        # She sent no presence, receipt or ack: her client in the replay does not either.
        {"login": {"user": "alice", "announce": False, "auto_receipt": False, "auto_ack": False}},
        {"expect": {"to": "alice", "node": notification}},
        {
            "expect": {
                "to": "alice",
                "message": {
                    "from": "{{g1}}",
                    "id": "{{m2}}",
                    "participant": "bot",
                    "body": "welcome",
                },
            }
        },
        {"send": {"from": "alice", "to": "{{g1}}", "text": "hi all", "id": "{{m3}}"}},
        {"raw": {"from": "alice", "node": location.format(f'to="{BOT}"')}},
        {"read": {"from": "alice", "to": "{{g1}}", "id": "{{m2}}", "participant": "bot"}},
        {"logout": "alice"},
        {"wait": "1s"},
        {"login": "bot"},
        {
            "expect": {
                "to": "bot",
                "message": {
                    "from": "{{g1}}",
                    "id": "{{m3}}",
                    "participant": "alice",
                    "body": "hi all",
                },
            }
        },
        {"expect": {"to": "bot", "node": location.format('from="{{alice}}"')}},
        {
            "expect": {
                "to": "bot",
                "receipt": {
                    "from": "{{g1}}",
                    "id": "{{m2}}",
                    "type": "read",
                    "participant": "alice",
                },
            }
        },
        {"wait": "1s"},
        {"login": {"user": "alice", "announce": False}},
        {
            "expect": {
                "to": "alice",
                "receipt": {
                    "from": "{{g1}}",
                    "id": "{{m3}}",
                    "type": "delivery",
                    "participant": "bot",
                },
            }
        },
        {"presence": {"from": "alice", "type": "unavailable"}},
    ]
    assert recorded.document["bot"] == {"account": "echo"}
    assert recorded.warnings == ()
    valid(tmp_path, recorded)


def test_a_bot_that_logs_in_after_the_users_does_not_start_by_itself(tmp_path: Path) -> None:
    events = transcript("""
0   login alice
0   in    alice  <presence type="available" name="Alice"/>
0   in    alice  <message to="{B}" type="text" id="a-1"><body>x</body></message>
0.5 login bot
0.5 out   bot    <message from="{A}" type="text" id="a-1" offline="1"><body>x</body></message>
""")
    recorded = record_scenario(events, WORLD, "491119999999")
    assert recorded.document["bot"] == {"account": "echo", "autostart": False}
    assert recorded.document["steps"] == [
        {"login": "alice"},
        {"send": {"from": "alice", "to": "bot", "text": "x", "id": "{{m1}}"}},
        {"login": "bot"},
        {"expect": {"to": "bot", "message": {"from": "alice", "id": "{{m1}}", "body": "x"}}},
    ]
    valid(tmp_path, recorded)


def test_what_cannot_be_recorded_faithfully_is_a_warning() -> None:
    events = transcript("""
0 in alice <message to="{B}" type="text" id="a"><body>{{{{x}}}}</body></message>
""")
    recorded = record_scenario(events, WORLD, BOT)
    assert recorded.warnings == (
        "alice's message '{{x}}' holds '{{', which a scenario cannot send literally:"
        " edit that step",
        "the bot never logged in while recording",
    )
    assert recorded.document["bot"] == {"account": "echo", "autostart": False}
    nothing = record_scenario([], WORLD, BOT)
    assert nothing.document["steps"] == [{"wait": "0s"}]
    assert "nothing was recorded: no client logged in" in nothing.warnings
    with pytest.raises(ValueError, match="not an account of the world"):
        record_scenario([], WORLD, "491000000000")


def test_a_stanza_no_typed_step_sends_exactly_is_raw(tmp_path: Path) -> None:
    """A subscribe without ``to``, a receipt with ``type="delivery"`` written out, a text
    with an extra attribute: a typed step would send something else."""
    events = transcript("""
0 login alice
0 in    alice  <presence type="subscribe"/>
0 in    alice  <receipt to="{B}" id="b-1" type="delivery"/>
0 in    alice  <message to="{B}" type="text" id="a-1" edit="1"><body>x</body></message>
0 in    alice  <chatstate to="{B}"><composing/><paused/></chatstate>
""")
    recorded = record_scenario(events, WORLD, BOT)
    steps = recorded.document["steps"]
    assert isinstance(steps, list)
    assert [next(iter(step)) for step in steps if isinstance(step, dict)] == [
        "login",
        "raw",
        "raw",
        "raw",
        "raw",
    ]
    valid(tmp_path, recorded)


@pytest.mark.parametrize(
    "text",
    ["plain", "/start", "/start/", "/x/i", "{{name}}", "a {{b}} c", "{{ }}", "1+1=2 (yes) [no]\n$"],
)
def test_received_text_is_matched_literally_whatever_it_looks_like(text: str) -> None:
    body = Node("body", data=text)
    message = Node("message", {"from": BOT, "id": "b-1", "type": "text"}, [body])
    recorded = record_scenario([ev(0, "out", ALICE, message.to_text())], WORLD, BOT)
    expect = recorded.scenario.steps[1].spec()
    assert isinstance(expect, ExpectSpec) and expect.message is not None
    assert expect.message.body is not None
    value = compile_value(expect.message.body)
    assert isinstance(value, Literal | Regex)
    assert value.match(text, {}) == {}
    assert value.match(text + "!", {}) is None
    assert value.match("!" + text, {}) is None


def test_accounts_are_found_by_phone_jid_or_unique_name() -> None:
    state = build_state(World(accounts=[*WORLD, AccountSpec(phone="491110000004", name="Alice")]))
    assert find_account(state, "491119999999") is state.accounts[BOT]
    assert find_account(state, BOT) is state.accounts[BOT]
    assert find_account(state, "ECHO") is state.accounts[BOT]
    assert find_account(state, "alice") is None  # two accounts are called Alice
    assert find_account(state, "nobody") is None


def test_the_schema_line_points_at_the_nearest_schema(tmp_path: Path) -> None:
    assert schema_reference(tmp_path / "a.yaml") == "scenario.schema.json"
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "scenario.schema.json").write_text("{}")
    (tmp_path / "deep" / "er").mkdir(parents=True)
    assert schema_reference(tmp_path / "deep" / "er" / "a.yaml") == (
        "../../scenarios/scenario.schema.json"
    )
    assert schema_reference(ROOT / "x.yaml") == "scenarios/scenario.schema.json"


# ==================================================================== a live session, in-process

ECHO_PHONE, ALICE_PHONE = "491119999999", "491110000001"
LIVE_WORLD = World(
    accounts=[
        AccountSpec(phone=ALICE_PHONE, name="Alice"),
        AccountSpec(phone=ECHO_PHONE, name="Echo"),
    ]
)


async def echo(client: Client) -> None:
    """The echo bot of scenarios/bots/echo.py."""
    from scenarios.bots.echo import run

    await run(client)


Target = MemoryConnector | tuple[str, int]


async def _echo_bot(
    connect: Target, task_status: trio.TaskStatus[trio.Event] = trio.TASK_STATUS_IGNORED
) -> None:
    """Runs the echo bot; starts with an event set once the bot got a read receipt."""
    async with open_client(
        connect, ECHO_PHONE, default_password(ECHO_PHONE), push_name="Echo"
    ) as client:
        read = trio.Event()
        client.on(MessageReceivedClient, lambda e: read.set() if e.type == "read" else None)
        task_status.started(read)
        await echo(client)


async def _alice(connect: Target, read: trio.Event, pause: float) -> None:
    """Alice says hello, reads the answer, waits ``pause`` seconds, says bye."""
    async with open_client(
        connect, ALICE_PHONE, default_password(ALICE_PHONE), push_name="Alice"
    ) as alice:
        await alice.send_text(ECHO_PHONE, "hello")
        reply = await alice.wait_for(GetMessage, timeout=5)
        await alice.mark_read(reply.from_, reply.id)
        await read.wait()
        await trio.sleep(pause)
        await alice.send_text(ECHO_PHONE, "bye")
        await alice.wait_for(GetMessage, lambda e: e.body == b"bye", timeout=5)


async def test_a_recorded_session_replays_green_and_fails_a_broken_bot(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    async with (
        open_server(state=build_state(LIVE_WORLD)) as server,
        recording(server, "echo") as recorder,
        trio.open_nursery() as nursery,
    ):
        read = await nursery.start(_echo_bot, MemoryConnector(server))
        await _alice(MemoryConnector(server), read, 30)
        await trio.testing.wait_all_tasks_blocked()
        nursery.cancel_scope.cancel()
    assert not recorder.recording
    recorded = recorder.scenario(RecordOptions(name="hello and bye"))
    assert recorded.warnings == ()
    steps = recorded.document["steps"]
    assert isinstance(steps, list)
    acts = [step for step in steps if isinstance(step, dict) and set(step) != {"expect"}]
    assert acts[:-2] == [
        {"login": "alice"},
        {"send": {"from": "alice", "to": "bot", "text": "hello", "id": "{{m1}}"}},
        {"read": {"from": "alice", "to": "bot", "id": "{{m2}}"}},
        {"wait": "30s"},
        {"send": {"from": "alice", "to": "bot", "text": "bye", "id": "{{m3}}"}},
    ]
    assert {step["logout"] for step in acts[-2:]} == {"alice", "bot"}
    path = valid(tmp_path, recorded)
    scenario = load_scenario(path)
    good = await run_scenario(scenario, bot_override=echo)
    assert good.passed, good.report
    assert good.steps_run == good.steps_total
    broken = await run_scenario(scenario, bot_override=shouting)
    assert not broken.passed
    assert broken.failure is not None
    assert broken.failure.summary == "the next <message> bot received does not match" or (
        broken.failure.summary == "the next <message> alice received does not match"
    )
    assert 'expected data "hello", got "HELLO"' in broken.report


BOB_PHONE, CAROL_PHONE = "491110000002", "491110000003"
EVERY_WORLD = World(
    accounts=[
        AccountSpec(phone=ALICE_PHONE, name="Alice"),
        AccountSpec(phone=BOB_PHONE, name="Bob"),
        AccountSpec(phone=CAROL_PHONE, name="Carol"),
        AccountSpec(phone=ECHO_PHONE, name="Echo"),
    ]
)


async def chatty_echo(client: Client) -> None:
    """Echoes texts, typing first; ``props`` makes it ask the server for its properties
    (an iq of the bot's), ``tell carol`` writes to Carol (who never logs in)."""
    async for event in client.events():
        if isinstance(event, GetMessage):
            await client.typing(event.from_)
            if event.body == b"props":
                await client.get_server_properties()
            if event.body == b"tell carol":
                await client.send_text(CAROL_PHONE, "hi carol")
            await client.send_text(event.from_, event.body)


async def _every_step(connect: MemoryConnector) -> None:
    """Alice and Bob do every kind of thing a user's step can record, with pauses."""
    bot = user_jid(ECHO_PHONE)
    async with open_client(
        connect, ALICE_PHONE, default_password(ALICE_PHONE), push_name="Alice"
    ) as alice:
        await alice.typing(ECHO_PHONE)
        await alice.paused(ECHO_PHONE)
        await alice.send_text(ECHO_PHONE, "hello")
        echo = await alice.wait_for(GetMessage, timeout=5)
        await alice.mark_read(echo.from_, echo.id)
        await alice.send_receipt(echo.from_, echo.id, type="played")
        await trio.sleep(2)
        await alice.get_server_properties()
        await alice.send_location(BOB_PHONE, 52.520008, 13.404954, name="Berlin")
        await alice.subscribe(bot)
        await alice.send_text(ECHO_PHONE, "props")
        await alice.wait_for(GetMessage, lambda e: e.body == b"props", timeout=5)
        await alice.send_text(ECHO_PHONE, "tell carol")
        await alice.wait_for(GetMessage, lambda e: e.body == b"tell carol", timeout=5)
        await alice.set_presence("unavailable")
        await trio.sleep(1.5)
    async with open_client(
        connect,
        BOB_PHONE,
        default_password(BOB_PHONE),
        push_name="Bob",
        announce=False,
        auto_receipt=False,
        auto_ack=False,
    ) as bob:
        await bob.send_text(ECHO_PHONE, "one")
        first = await bob.wait_for(GetMessage, timeout=5)
        await bob.send_receipt(first.from_, first.id)  # the second stays unconfirmed
        await bob.send_text(ECHO_PHONE, "two")
        await bob.wait_for(GetMessage, lambda e: e.body == b"two", timeout=5)


def _sent_by_users(pairs: list[tuple[str, Node]]) -> Counter[tuple[str, str]]:
    """What each user sent, ids left out (the replay's client makes its own)."""

    def without_ids(node: Node) -> Node:
        attrs = {k: v for k, v in node.attrs.items() if k != "id"}
        return Node(node.tag, attrs, [without_ids(c) for c in node.children], node.data)

    return Counter((who, without_ids(node).to_text()) for who, node in pairs)


async def test_every_recordable_step_kind_round_trips_through_a_file(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    """A session doing everything the recorder writes a step for is recorded, written,
    loaded by the normal loader and replayed green; the replay's users send exactly what
    the recorded users sent (so a step's recorder half cannot drift from its plan)."""
    async with (
        open_server(state=build_state(EVERY_WORLD)) as server,
        recording(server, "echo") as recorder,
        trio.open_nursery() as nursery,
    ):
        nursery.start_soon(_bot_session, MemoryConnector(server))
        await trio.testing.wait_all_tasks_blocked()
        await _every_step(MemoryConnector(server))
        await trio.testing.wait_all_tasks_blocked()
        nursery.cancel_scope.cancel()
    recorded = recorder.scenario(RecordOptions(name="every step"))
    assert recorded.warnings == ()
    specs = [wrapper.spec() for wrapper in recorded.scenario.steps]
    written = {type(spec) for spec in specs}
    assert set(RECORDED_STEPS) <= written, set(RECORDED_STEPS) - written
    kinds = {spec.kind()[0] for spec in specs if isinstance(spec, ExpectSpec)}
    assert kinds == {"message", "receipt", "chatstate", "node"}
    receipts = [spec for spec in specs if isinstance(spec, ReceiptSpec)]
    assert {r.type for r in receipts} == {"delivery", "played"}
    logins = [spec for spec in specs if isinstance(spec, LoginSpec) and spec.user == "bob"]
    assert logins == [LoginSpec(user="bob", announce=False, auto_receipt=False, auto_ack=False)]

    path = valid(tmp_path, recorded)
    assert load_scenario(path).steps  # the normal loader
    replay = await run_scenario(load_scenario(path), bot_override=chatty_echo)
    assert replay.passed, replay.report
    assert replay.steps_run == replay.steps_total == len(specs)

    labels = {user_jid(ALICE_PHONE): "alice", user_jid(BOB_PHONE): "bob"}
    live = [
        (labels[e.jid], e.node)
        for e in recorder.events
        if e.direction == "in" and e.node is not None and e.jid in labels
    ]
    replayed = [
        (entry.party, Node.parse(entry.text))
        for entry in replay.transcript
        if entry.arrow == "tx" and entry.party in ("alice", "bob")
    ]
    assert _sent_by_users(replayed) == _sent_by_users(live)


async def _bot_session(connect: MemoryConnector) -> None:
    async with open_client(
        connect, ECHO_PHONE, default_password(ECHO_PHONE), push_name="Echo"
    ) as client:
        await chatty_echo(client)


def test_every_step_class_with_a_recorder_half_is_in_the_round_trip() -> None:
    """A step class that learns to record itself must be driven by the test above."""
    own = {
        spec
        for wrapper in STEP_TYPES
        if isinstance(spec := wrapper.model_fields[wrapper.KEY].annotation, type)
        and "record" in vars(spec)
    }
    assert own <= set(RECORDED_STEPS), own - set(RECORDED_STEPS)


async def test_without_a_named_bot_the_first_account_to_log_in_is_the_bot(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_server(state=build_state(LIVE_WORLD)) as server:
        recorder = LiveRecorder(server)
        with pytest.raises(ValueError, match="nobody logged in"):
            _ = recorder.bot
        recorder.start()
        async with trio.open_nursery() as nursery:
            read = await nursery.start(_echo_bot, MemoryConnector(server))
            await _alice(MemoryConnector(server), read, 0)
            nursery.cancel_scope.cancel()
        recorder.stop()
    assert recorder.bot == f"{ECHO_PHONE}@s.whatsapp.net"
    named = LiveRecorder(server, "echo")
    named.events.extend(recorder.events)
    assert recorder.scenario().text == named.scenario().text


async def test_the_recorder_notices_logouts_and_relogins_from_the_session_table(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_server(state=build_state(LIVE_WORLD)) as server:
        recorder = LiveRecorder(server, ECHO_PHONE)
        recorder.start()
        for name in ("Alice", ""):
            async with open_client(
                MemoryConnector(server), ALICE_PHONE, default_password(ALICE_PHONE), push_name=name
            ):
                pass
        await trio.testing.wait_all_tasks_blocked()
        recorder.stop()
        recorder.stop()  # twice is harmless
        with pytest.raises(ValueError, match="no account 'nobody'"):
            LiveRecorder(server, "nobody")
    session = [("login", None), ("out", "ib"), ("in", "presence"), ("out", "presence")]
    kinds = [(e.direction, e.node.tag if e.node else None) for e in recorder.events]
    assert kinds == [*session, ("logout", None), *session, ("logout", None)]
    assert recorder.scenario().document["steps"] == [
        {"login": "alice"},
        {"logout": "alice"},
        # Without her name, the presence her client sent is not the one a login announces.
        {"login": {"user": "alice", "announce": False}},
        {"presence": {"from": "alice", "type": "available", "name": ""}},
        {"logout": "alice"},
    ]


async def test_a_world_file_is_referred_to_unless_accounts_were_added(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    world = tmp_path / "worlds" / "two.world.yaml"
    world.parent.mkdir()
    world.write_text(f"accounts:\n  - {{phone: '{ALICE_PHONE}', name: Alice}}\n"
                     f"  - {{phone: '{ECHO_PHONE}', name: Echo}}\n")  # fmt: skip
    (tmp_path / "out").mkdir()
    path = tmp_path / "out" / "session.yaml"
    state = build_state(load_world(world))
    async with open_server(state=state) as server:
        async with (
            recording(server, "echo") as recorder,
            open_client(
                MemoryConnector(server),
                ALICE_PHONE,
                default_password(ALICE_PHONE),
                push_name="Alice",
            ),
        ):
            pass
        lines = write_recording(recorder, path, world=world)
        assert lines == [
            f"recorded 3 stanzas as 2 steps in {path}",
            "warning: the bot never logged in while recording",
        ]
        assert "\nworld: ../worlds/two.world.yaml\n" in path.read_text("utf-8")
        assert check_file(path)[1] == []
        server.add_account("491110000002", default_password("491110000002"), "Bob")
        lines = write_recording(recorder, path, world=world)
        assert lines[1:3] == [
            f"warning: accounts 491110000002 are not in {world}: the accounts are written"
            " inline, without the rest of the world file",
            "warning: the bot never logged in while recording",
        ]
        assert "\n    - {phone: '491110000002', name: Bob, password: " in path.read_text("utf-8")


# ==================================================================== the command line


def test_record_options_are_checked_before_serving(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    account = ["--account", f"{ECHO_PHONE}::Echo"]
    assert main(["serve", *account, "--record-bot", "echo"]) == 1
    assert capsys.readouterr().err == "error: --record-bot ACCOUNT needs --record FILE\n"
    assert main(["serve", *account, "--record", str(tmp_path / "s.yaml"), "--record-bot", "x"]) == 1
    assert capsys.readouterr().err == "error: --record-bot 'x': no such account (phone or name)\n"
    missing = tmp_path / "no" / "s.yaml"
    assert main(["serve", *account, "--record", str(missing), "--record-bot", "echo"]) == 1
    assert capsys.readouterr().err == f"error: --record {missing}: the directory does not exist\n"


def _drive_and_stop(process: subprocess.Popen[str]) -> tuple[str, str]:
    """Wait for ``serve`` to listen, let the echo bot and Alice talk over TCP, SIGTERM it;
    returns what it printed. A watchdog kills it if anything hangs."""
    watchdog = threading.Timer(30, process.kill)
    watchdog.start()
    try:
        assert process.stdout is not None
        listening = re.fullmatch(r"listening on (\S+):(\d+)\n", process.stdout.readline())
        assert listening is not None, process.communicate()
        address = (listening[1], int(listening[2]))

        async def drive() -> None:
            with trio.fail_after(10):
                async with trio.open_nursery() as nursery:
                    read = await nursery.start(_echo_bot, address)
                    await _alice(address, read, 0)
                    nursery.cancel_scope.cancel()

        trio.run(drive)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)  # it prints little: the pipes cannot fill up
        assert process.stderr is not None
        return process.stdout.read(), process.stderr.read()
    finally:
        watchdog.cancel()
        if process.poll() is None:
            process.kill()


@pytest.mark.slow
def test_serve_record_writes_a_scenario_that_replays_green(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "session.yaml"
    command = [
        sys.executable, "-m", "simulator", "serve", "--port", "0",
        "--account", f"{ALICE_PHONE}::Alice", "--account", f"{ECHO_PHONE}::Echo",
        "--record", str(path), "--record-bot", "echo",
    ]  # fmt: skip
    with subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        out, err = _drive_and_stop(process)
    assert process.returncode == 0, err
    assert f"recording to {path}\n" in out
    assert re.search(rf"recorded \d+ stanzas as \d+ steps in {re.escape(str(path))}\n", err)
    assert "warning" not in err and "problem" not in err
    assert path.read_text("utf-8").startswith("# yaml-language-server: $schema=")
    assert main(["validate", str(path)]) == 0
    assert main(["run", str(path), "--bot", "scenarios.bots.echo:run"]) == 0
    assert main(["run", str(path), "--bot", "tests.scenario.bots.broken:shouting"]) == 1
    assert "PASS" in capsys.readouterr().out


def test_the_example_in_the_readme_is_what_the_recorder_writes() -> None:
    readme = (EXAMPLES / "README.md").read_text("utf-8")
    section = readme.split("## Recording a live session", 1)[1]
    example = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert example is not None
    options = RecordOptions(name="alice says hi to the echo bot")
    recorded = record_scenario(ECHO_SESSION[:22], WORLD[::2], BOT, options)
    assert example[1] == recorded.text
    assert json.loads(json.dumps(recorded.document))  # plain data
