"""A bug in a handler fails its stanza and nothing else; strict mode makes it loud.

The router's dispatch is the one place every stanza reaches a handler, so every route
(and any new one) gets this for free: these tests add crashing routes to a normal router
and check what the peer, a bystander and the test see.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import pytest
import trio
import trio.testing

from simulator.client import events as ev
from simulator.client import open_client
from simulator.errors import IqError, ServerBug
from simulator.server import HandlerContext, Router, Server, ServerConfig, open_server
from simulator.server.flows import default_router
from simulator.server.parse import BadValue
from simulator.transport import Connector, MemoryConnector, TcpConnector
from simulator.wire.node import Node
from tests.server.conftest import ALICE, BOB, PASSWORD, OpenUser

BOB_JID = f"{BOB}@s.whatsapp.net"
CRASH = "test:crash"


async def _crash(ctx: HandlerContext, node: Node) -> None:
    """Crash like a flow with a bug would."""
    raise ZeroDivisionError("a handler bug")


def _crash_now(ctx: HandlerContext, node: Node) -> None:
    """The same bug in a handler that is a plain function (run with no coroutine when
    the stanza is pushed in the sender's task)."""
    raise ZeroDivisionError("a handler bug")


Handler = Callable[[HandlerContext, Node], Awaitable[None] | None]


def _crashing_router(crash: Handler = _crash) -> Router:
    router = default_router()
    router.add("iq", crash, type="get", xmlns=CRASH)
    router.add("presence", crash, type="probe")  # a non-iq stanza whose handler crashes
    return router


def _accounts() -> list[tuple[str, str]]:
    return [(ALICE, PASSWORD), (BOB, PASSWORD)]


async def _bug_reported_after(
    body: Callable[[Server], Awaitable[None]], router: Router | None = None
) -> ServerBug:
    """Run ``body`` against a strict server; return the ``ServerBug`` raised at the end."""
    try:
        async with open_server(accounts=_accounts(), router=router or _crashing_router()) as server:
            await body(server)
    except ServerBug as bug:
        return bug
    raise AssertionError("open_server did not report the server bug")


@pytest.mark.parametrize("crash", [_crash, _crash_now], ids=["async", "plain"])
@pytest.mark.parametrize("mode", ["nodes", "bytes"])
async def test_a_handler_bug_answers_500_and_touches_nothing_else(
    mode: str, crash: Handler
) -> None:
    async def body(server: Server) -> None:
        connector = MemoryConnector(server, mode=mode)  # type: ignore[arg-type]
        async with (
            open_client(connector, ALICE, PASSWORD) as alice,
            open_client(connector, BOB, PASSWORD) as bob,
        ):
            with pytest.raises(IqError) as refused:
                await alice.iq(Node("iq", {"type": "get", "xmlns": CRASH, "id": "c1"}))
            assert (refused.value.code, refused.value.text) == (500, "internal-server-error")
            assert refused.value.node.get("id") == "c1"
            # The same session and a bystander carry on as if nothing happened.
            await alice.ping(timeout=5)
            await bob.ping(timeout=5)
            await alice.send_text(BOB_JID, "still here")
            assert (await bob.wait_for_message(timeout=5)).text == "still here"
            assert len(server.bugs) == 1

    bug = await _bug_reported_after(body, _crashing_router(crash))
    # Loud at the end of the block: the traceback and the stanza, in the exception.
    message = str(bug)
    assert "ZeroDivisionError: a handler bug" in message
    assert f'xmlns="{CRASH}"' in message
    assert "in _crash" in message


@pytest.mark.parametrize("crash", [_crash, _crash_now], ids=["async", "plain"])
async def test_a_non_iq_stanza_whose_handler_crashes_gets_no_answer_and_the_session_lives(
    crash: Handler,
) -> None:
    async def body(server: Server) -> None:
        async with open_client(server, ALICE, PASSWORD) as alice:
            await alice.send(Node("presence", {"type": "probe", "to": BOB_JID}))
            await alice.ping(timeout=5)
            assert not [e for e in alice.events_nowait() if isinstance(e, ev.GetError)]

    bug = await _bug_reported_after(body, _crashing_router(crash))
    assert '<presence type="probe"' in str(bug)


async def test_without_strict_a_bug_is_logged_with_the_stanza_and_the_server_keeps_serving(
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = ServerConfig(strict=False)
    router = _crashing_router()
    async with open_server(accounts=_accounts(), router=router, config=config) as server:
        async with open_client(server, ALICE, PASSWORD) as alice:
            for n in range(3):
                with pytest.raises(IqError, match="500"):
                    await alice.iq(Node("iq", {"type": "get", "xmlns": CRASH, "id": f"x{n}"}))
            await alice.ping(timeout=5)
        assert server.bugs == []  # logged, not kept
    crashes = [r for r in caplog.records if r.name == "simulator.server"]
    assert len(crashes) == 3
    assert crashes[0].levelno == logging.ERROR
    assert 'id="x0"' in crashes[0].getMessage()
    assert "ZeroDivisionError" in crashes[0].getMessage()


async def test_a_session_that_crashes_outside_a_handler_ends_alone() -> None:
    """A bug in a session's own code (here: a stanza the wire cannot encode, queued by a
    handler) ends that session and is reported; the server and the others go on."""

    async def unencodable(ctx: HandlerContext, node: Node) -> None:
        ctx.reply(Node("iq", {"type": "result", "id": node.get("id", "")}, data=b"x" * 2_000_000))

    router = default_router()
    router.add("iq", unencodable, type="get", xmlns="test:huge")

    async def body(server: Server) -> None:
        connector = MemoryConnector(server, mode="bytes")
        async with open_client(connector, BOB, PASSWORD) as bob:
            async with open_client(connector, ALICE, PASSWORD) as alice:
                await alice.send(Node("iq", {"type": "get", "xmlns": "test:huge", "id": "h"}))
                await alice.wait_closed()
            await bob.ping(timeout=5)
            async with open_client(connector, ALICE, PASSWORD) as alice:
                await alice.ping(timeout=5)

    bug = await _bug_reported_after(body, router)
    assert "does not fit in a frame" in str(bug)


@pytest.mark.parametrize("mode", ["nodes", "bytes", "tcp"])
async def test_a_bug_while_a_session_ends_is_reported_and_ends_nothing_else(mode: str) -> None:
    """A disconnect hook that crashes for Bob: his session still ends (and leaves the
    registry), the bug is reported, the server and Alice go on."""
    router = default_router()

    @router.on_disconnect
    def crash_for_bob(ctx: HandlerContext) -> None:
        if ctx.session.jid == BOB_JID:
            raise ZeroDivisionError("a disconnect hook bug")

    async def body(server: Server) -> None:
        connector: Connector
        if mode == "tcp":
            connector = TcpConnector(*await server.listen_tcp())
        else:
            connector = MemoryConnector(server, mode="nodes" if mode == "nodes" else "bytes")
        async with open_client(connector, ALICE, PASSWORD) as alice:
            async with open_client(connector, BOB, PASSWORD) as bob:
                await bob.ping(timeout=5)
            await trio.testing.wait_all_tasks_blocked()
            assert [s.jid for s in server.all_sessions] == [alice.jid]
            assert server.tcp_connections == (1 if mode == "tcp" else 0)
            await alice.ping(timeout=5)
            async with open_client(connector, BOB, PASSWORD) as bob:
                await bob.ping(timeout=5)

    bug = await _bug_reported_after(body, router)
    assert "a disconnect hook bug" in str(bug)


# ---------------------------------------------------------------- numbers from peers

BAD_NUMBERS = ["²", "٣", "１", "-1", "1" * 30, "", " 1", "1e3", "0x10", "+1"]


def _sync(index: str) -> Node:
    sync = Node(
        "sync",
        {"mode": "full", "context": "registration", "sid": "1", "index": index, "last": "true"},
        [Node("user", data=b"+491110000002")],
    )
    return Node("iq", {"type": "get", "xmlns": "urn:xmpp:whatsapp:sync"}, [sync])


def _upload(size: str) -> Node:
    media = Node("media", {"hash": "aGFzaA==", "type": "image", "size": size})
    return Node("iq", {"type": "set", "xmlns": "w:m", "to": "s.whatsapp.net"}, [media])


def _block(order: str) -> Node:
    item = Node("item", {"type": "jid", "value": BOB_JID, "action": "deny", "order": order})
    listing = Node("list", {"name": "default"}, [item])
    return Node(
        "iq", {"type": "set", "xmlns": "jabber:iq:privacy"}, [Node("query", children=[listing])]
    )


PEER_NUMBER_FIELDS = {"sync index": _sync, "upload size": _upload, "privacy order": _block}
"""Every number a handler reads from a stanza, with the stanza that carries it."""


@pytest.mark.parametrize("field", sorted(PEER_NUMBER_FIELDS))
async def test_every_peer_number_field_refuses_what_is_not_ascii_digits(
    user: OpenUser, server: Server, field: str
) -> None:
    build = PEER_NUMBER_FIELDS[field]
    server.http.advertised_url = "http://127.0.0.1:9"  # uploads get a slot (never used)
    async with user(ALICE) as alice, user(BOB) as bob:
        for value in BAD_NUMBERS:
            with pytest.raises(IqError) as refused:
                await alice.iq(build(value))
            assert (refused.value.code, refused.value.text) == (400, "bad-request"), value
        await alice.iq(build("1"))  # the same stanza with a good number still works
        await bob.ping(timeout=5)
    assert server.bugs == []


# ---------------------------------------------------------------- JIDs from peers

BAD_JIDS = ["", "abc", "²³⁴⁵⁶⁷", "+49 111 0000002", "491110000002@g.us", "12@s.whatsapp.net"]


def _participant(jid: str) -> Node:
    create = Node("create", {"subject": "Team"}, [Node("participant", {"jid": jid})])
    return Node("iq", {"type": "set", "xmlns": "w:g2", "to": "g.us"}, [create])


def _deny(jid: str) -> Node:
    item = Node("item", {"type": "jid", "value": jid, "action": "deny", "order": "1"})
    listing = Node("list", {"name": "default"}, [item])
    return Node(
        "iq", {"type": "set", "xmlns": "jabber:iq:privacy"}, [Node("query", children=[listing])]
    )


def _key_of(jid: str) -> Node:
    key = Node("key", children=[Node("user", {"jid": jid})])
    return Node("iq", {"type": "get", "xmlns": "encrypt", "to": "s.whatsapp.net"}, [key])


PEER_JID_FIELDS = {"group participant": _participant, "privacy item": _deny, "key user": _key_of}
"""Every user JID a handler reads from an iq, with the stanza that carries it."""


@pytest.mark.parametrize("field", sorted(PEER_JID_FIELDS))
async def test_every_peer_jid_field_refuses_what_is_not_a_user_jid(
    user: OpenUser, server: Server, field: str
) -> None:
    build = PEER_JID_FIELDS[field]
    async with user(ALICE) as alice, user(BOB) as bob:
        for value in BAD_JIDS:
            with pytest.raises(IqError) as refused:
                await alice.iq(build(value))
            assert (refused.value.code, refused.value.text) == (400, "bad-request"), value
        await alice.iq(build(BOB_JID))  # the same stanza naming a real user still works
        await bob.ping(timeout=5)
    assert server.bugs == []


def test_bad_value_says_what_was_wrong() -> None:
    from simulator.server.parse import (
        int_or,
        parse_id,
        parse_int,
        parse_user_jid,
        parse_version,
    )

    with pytest.raises(BadValue, match=r"index='²' is not a decimal number"):
        parse_int("²", "index")
    with pytest.raises(BadValue, match=r"out of range 0\.\.10"):
        parse_int("11", "n", maximum=10)
    assert parse_int("-5", "n", minimum=-10) == -5
    assert parse_int(None, "n", default=7) == 7
    with pytest.raises(BadValue, match="missing"):
        parse_int(None, "n")
    with pytest.raises(BadValue, match="longer than"):
        parse_id("x" * 200)
    with pytest.raises(BadValue, match="control"):
        parse_id("a\nb")
    assert parse_user_jid("491110000002") == BOB_JID
    for jid in ("49111000000٣", "1234", "491110000002@g.us", "+491110000002"):
        with pytest.raises(BadValue):
            parse_user_jid(jid)
    assert parse_version("2.12.53") == (2, 12, 53)
    assert parse_version("2.١٢") is None
    assert parse_version("9" * 5000) is None
    assert [int_or(v, 5) for v in ("12", "²", "-3", None, "9" * 30)] == [12, 5, 5, 5, 5]


async def test_registration_with_a_huge_version_in_the_user_agent_is_an_old_version() -> None:
    """``int()`` of a 5,000-digit version raised (and ended the server) before."""
    from simulator.server.flows.account import Registrar

    registrar = Registrar(min_version=(2, 11))
    assert registrar.too_old("WhatsApp/" + "9" * 5000 + " Android")
    assert not registrar.too_old("WhatsApp/2.12.53 S40Version/14.26 Device/Nokia302")
    await trio.lowlevel.checkpoint()


@pytest.mark.parametrize("code", ["²", "9" * 5000])
async def test_the_client_survives_an_error_code_that_is_not_ascii_digits(code: str) -> None:
    """``"²".isdigit()`` is true, and ``int()`` of 5,000 digits raises: the client's error
    parsing must not call ``int`` on either."""

    async def odd_error(ctx: HandlerContext, node: Node) -> None:
        error = Node("error", {"code": code, "text": "odd"})
        ctx.reply(Node("iq", {"type": "error", "id": node.get("id", "")}, [error]))
        ctx.reply(Node("iq", {"type": "error", "id": "unasked"}, [error]))

    router = default_router()
    router.add("iq", odd_error, type="get", xmlns="test:odd")
    async with (
        open_server(accounts=_accounts(), router=router) as server,
        open_client(server, ALICE, PASSWORD) as alice,
    ):
        with pytest.raises(IqError) as refused:
            await alice.iq(Node("iq", {"type": "get", "xmlns": "test:odd"}))
        assert (refused.value.code, refused.value.text) == (None, "odd")
        assert (await alice.wait_for(ev.GetError, timeout=5)).code is None
        await alice.ping(timeout=5)
