"""Real yowsup2 clients (one test per line of clients.txt) against the simulator over TCP.

Two roles: yowsup as the bot (its stock demo echo stack, or ``user.py --echo`` where the
demo cannot run) talking to a user built on our client library, and our library as the
bot talking to a yowsup user (``user.py``). The yowsup side is seen through the driver's
JSON events (tests/interop/README.md), our side through the library's typed events, and
the server through ``server.state`` when it runs in-process, or through what a new login
is handed when it is ``simulator serve``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
import trio

from simulator.client import Client, open_client
from simulator.client import events as ev
from simulator.server import Server, open_server
from tests.interop.conftest import (
    ACCOUNTS,
    BOT_JID,
    BOT_NAME,
    BOT_PHONE,
    EXIT_AUTH_FAILED,
    EXIT_OK,
    EXIT_UNSUPPORTED,
    PASSWORD,
    TIMEOUT,
    USER_JID,
    USER_NAME,
    USER_PHONE,
    WRONG_PASSWORD,
    Behaviour,
    Driver,
    Event,
    YowsupClient,
    clients_where,
    run_driver,
    simulator_serve,
    undelivered,
    wait_until,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractAsyncContextManager
    from pathlib import Path

    from simulator.wire.node import Node

pytestmark = [pytest.mark.interop, pytest.mark.real_clock]

TEXT = "Grüße ✓ echo me 👋"
"""Non-ASCII on purpose: bodies are opaque bytes and must come back byte for byte."""
BODY = TEXT.encode("utf-8")


def our_user(address: tuple[str, int], behaviour: Behaviour) -> AbstractAsyncContextManager[Client]:
    """The user, on our client library, speaking the same dialect as the yowsup under test."""
    return open_client(
        address, USER_PHONE, PASSWORD, push_name=USER_NAME, dialect=behaviour.dialect
    )


def is_message_ack(msg_id: str) -> Callable[[Event], bool]:
    return lambda e: e.get("class") == "message" and e["id"] == msg_id


def is_sent(tag: str, **attrs: str | None) -> Callable[[Event], bool]:
    """A ``sent`` event for a stanza with these attributes (None: must be absent)."""
    return lambda e: e["tag"] == tag and all(e.get(k) == v for k, v in attrs.items())


def has_id(msg_id: str) -> Callable[[Event], bool]:
    return lambda e: e["id"] == msg_id


def is_receipt(
    msg_id: str, receipt_type: str | None, *, ack_class: str | None = None
) -> Callable[[Event], bool]:
    """A receipt for ``msg_id`` of this type (None: delivery), or the ack of one."""
    return lambda e: (
        e["id"] == msg_id and e.get("type") == receipt_type and e.get("class") == ack_class
    )


# ----------------------------------------------------------------------------- yowsup is the bot


async def chat_with_yowsup_bot(user: Client, bot: Driver, behaviour: Behaviour) -> None:
    """Our user sends to the logged-in yowsup bot; check what each side receives.

    Returns once every stanza of the exchange was seen at its receiver, so the only
    things possibly still in flight are acks.
    """
    msg_id = await user.send_text(BOT_JID, TEXT)

    # One tick: the server ack, with the time the bot is given too.
    acked = await user.wait_for(ev.MessageReceivedServer, lambda e: e.id == msg_id, timeout=TIMEOUT)
    assert (acked.to, acked.t > 0) == (BOT_JID, True)

    # The bot gets the message as the server relays it: from, notify, t, offline added.
    got = await bot.wait_event("message", lambda e: e["id"] == msg_id)
    assert got == {
        "event": "message",
        "tag": "message",
        "from": USER_JID,
        "type": "text",
        "id": msg_id,
        "t": str(acked.t),
        "notify": USER_NAME,
        "offline": "0",
        "body": TEXT,
        "body_hex": BODY.hex(),
    }

    # The echo: the same bytes, with the bot's own id, acked by the server to the bot.
    echo = await user.wait_for(ev.GetMessage, lambda e: e.from_ == BOT_JID, timeout=TIMEOUT)
    assert (echo.body, echo.notify, echo.offline) == (BODY, BOT_NAME, False)
    sent_echo = await bot.wait_event("sent", is_sent("message", id=echo.id))
    assert (sent_echo["to"], sent_echo["body_hex"]) == (USER_JID, BODY.hex())
    echo_ack = await bot.wait_event("ack", is_message_ack(echo.id))
    assert (echo_ack["from"], echo_ack["t"]) == (USER_JID, str(echo.t))

    # Two ticks (and blue ticks where the demo sends them) for our user.
    delivered = await user.wait_for_receipt(msg_id, type="delivery", timeout=TIMEOUT)
    assert delivered.from_ == BOT_JID
    await bot.wait_event("sent", is_sent("receipt", id=msg_id, to=USER_JID, type=None))
    if behaviour.bot_reads:
        read = await user.wait_for_receipt(msg_id, type="read", timeout=TIMEOUT)
        assert read.from_ == BOT_JID
        await bot.wait_event("sent", is_sent("receipt", id=msg_id, to=USER_JID, type="read"))
    # The server acks the bot's receipts.
    await bot.wait_event("ack", lambda e: e.get("class") == "receipt" and e["id"] == msg_id)

    # Our user's receipts for the echo (delivery is automatic) reach the bot, which acks them.
    await user.mark_read(BOT_JID, echo.id)
    for receipt_type in (None, "read"):
        receipt = await bot.wait_event("receipt", is_receipt(echo.id, receipt_type))
        assert (receipt["from"], receipt["offline"]) == (USER_JID, "0")
        assert int(receipt["t"]) > 0
    acks = await wait_for_count(bot, "sent", is_sent("ack", id=echo.id, **{"class": "receipt"}), 2)
    if behaviour.legacy_receipt_acks:
        assert [(a.get("type"), a.get("to")) for a in acks] == [("delivery", None)] * 2
    else:
        assert [(a.get("type"), a.get("to")) for a in acks] == [
            (None, USER_JID),
            ("read", USER_JID),
        ]
    if not behaviour.bot_reads:
        # yowsup handles stanzas one by one: a read receipt for our message would have
        # been sent before the bot handled our receipts, so there is none.
        assert bot.find("sent", is_sent("receipt", id=msg_id, type="read")) is None


async def wait_for_count(
    driver: Driver, kind: str, predicate: Callable[[Event], bool], count: int
) -> list[Event]:
    """The first ``count`` events of this kind that match (waiting for the last one)."""
    seen: list[Event] = []
    for _ in range(count):
        seen.append(
            await driver.wait_event(kind, lambda e: predicate(e) and not any(e is s for s in seen))
        )
    return seen


async def test_simulator_serve_refuses_a_wrong_password_and_serves_the_yowsup_bot(
    yowsup: YowsupClient, tmp_path: Path
) -> None:
    """The stock demo echo bot (2.5.7: ``user.py --echo``) on ``simulator serve``.

    A login with a wrong password is refused; with the right one the bot echoes our user,
    acks and receipts flow both ways, and SIGTERM stops the server cleanly (exit 0,
    ``stopped``) while the bot is still connected.
    """
    behaviour = yowsup.behaviour
    script, args = yowsup.bot
    async with simulator_serve(ACCOUNTS, tmp_path) as serve:
        address = (serve.host, serve.port)
        # The account given with --account: a wrong password is refused...
        async with run_driver(
            yowsup,
            script,
            *args,
            port=serve.port,
            home=tmp_path / "refused",
            password=WRONG_PASSWORD,
        ) as refused:
            assert await refused.wait_exit() == EXIT_AUTH_FAILED, refused.report()
        failed = refused.find("auth_failed")
        assert failed is not None, refused.report()
        assert (failed["tag"], failed["reason"]) == ("failure", "not-authorized")
        assert refused.find("authed") is None
        assert refused.events[-1] == {"event": "disconnected", "reason": "auth_failed"}
        # ...the right one logs in.
        async with run_driver(yowsup, script, *args, port=serve.port, home=tmp_path / "bot") as bot:
            await bot.wait_event("authed")
            async with our_user(address, behaviour) as user:
                await chat_with_yowsup_bot(user, bot, behaviour)

            # Everything our user was sent, it acknowledged: a new login is handed nothing.
            async with our_user(address, behaviour) as again:
                done = await again.wait_for(ev.OfflineDone, timeout=TIMEOUT)
                leftovers = [
                    e
                    for e in again.events_nowait()
                    if isinstance(e, ev.MessageEvent | ev.GetReceipt)
                ]
            assert (done.count, leftovers) == (0, [])

            # SIGTERM with the bot still connected: the server stops cleanly, and yowsup
            # sees its connection closed after a successful login.
            assert await serve.stop() == 0, serve.stderr
            assert "stopped" in serve.stderr.splitlines(), serve.stderr
            assert await bot.wait_exit() == EXIT_OK, bot.report()
            assert bot.events[-1] == {"event": "disconnected", "reason": "closed"}
    assert serve.stdout[0] == f"listening on 127.0.0.1:{serve.port}"
    # serve's log (stderr, INFO by default): each session's start, login and end, and why.
    log = serve.stderr
    assert re.search(r"INFO session #1 from tcp 127\.0\.0\.1:\d+: connected", log), log
    assert re.search(
        rf"WARNING session #1 tcp 127\.0\.0\.1:\d+: ended: wrong password for {BOT_PHONE}", log
    ), log
    assert re.search(rf"INFO session #2: {BOT_JID} logged in \(\S+\)", log), log
    assert re.search(rf"INFO session #\d+ {USER_JID}: ended: client ended the stream", log), log
    assert re.search(rf"INFO session #2 {BOT_JID}: ended: server stopped", log), log


async def test_yowsup_bot_echoes_our_user_and_nothing_stays_undelivered(
    yowsup: YowsupClient, server: Server, server_port: int, tmp_path: Path
) -> None:
    """The same exchange on an in-process server, whose mailboxes end up empty."""
    behaviour = yowsup.behaviour
    script, args = yowsup.bot
    async with run_driver(yowsup, script, *args, port=server_port, home=tmp_path / "bot") as bot:
        await bot.wait_event("authed")
        async with our_user(("127.0.0.1", server_port), behaviour) as user:
            await chat_with_yowsup_bot(user, bot, behaviour)
            await wait_until(
                server,
                lambda: not undelivered(server),
                f"every stanza acknowledged; still pending: {undelivered(server)}",
            )
        bot.terminate()
        assert await bot.wait_exit() == EXIT_OK, bot.report()
        assert bot.events[-1] == {"event": "stopped", "reason": "SIGTERM"}
    assert bot.all("error") == []


@pytest.mark.parametrize(
    "yowsup", clients_where(lambda b: b.demo_unsupported_at is not None), indirect=True
)
async def test_the_stock_demo_reports_why_it_cannot_run(
    yowsup: YowsupClient, server_port: int, tmp_path: Path
) -> None:
    """yowsup 2.5.7's demos cannot be imported on Python >= 3.7 (``async`` is a keyword)."""
    where = yowsup.behaviour.demo_unsupported_at
    assert where is not None
    async with run_driver(yowsup, "echo_bot.py", port=server_port, home=tmp_path / "bot") as bot:
        assert await bot.wait_exit() == EXIT_UNSUPPORTED, bot.report()
    path, line = where
    assert bot.events == [
        {
            "event": "unsupported",
            "yowsup": yowsup.version,
            "reason": f"SyntaxError: invalid syntax ({yowsup.path / path}, line {line})",
        }
    ]


async def test_messages_for_an_offline_yowsup_bot_arrive_at_its_login(
    yowsup: YowsupClient, server: Server, server_port: int, tmp_path: Path
) -> None:
    """Stored messages come first, marked ``offline="1"``, then ``<ib><offline count/>``."""
    behaviour = yowsup.behaviour
    to_bot: list[Node] = []
    server.tap(lambda direction, jid, node: to_bot.append(node) if jid == BOT_JID else None)
    texts = [f"{TEXT} #{n}" for n in (1, 2)]
    async with our_user(("127.0.0.1", server_port), behaviour) as user:
        ids = [await user.send_text(BOT_JID, text) for text in texts]
        acked = [await user.wait_for(ev.MessageReceivedServer, timeout=TIMEOUT) for _ in ids]
        assert [a.id for a in acked] == ids
        assert [node.get("id") for _key, node in server.state.mailbox(BOT_JID)] == ids

        script, args = yowsup.bot
        async with run_driver(
            yowsup, script, *args, port=server_port, home=tmp_path / "bot"
        ) as bot:
            ib = await bot.wait_event("node", lambda e: e["tag"] == "ib")
            stored = [bot.find("message", has_id(msg_id)) for msg_id in ids]
            assert [(m or {}).get("offline") for m in stored] == ["1", "1"], bot.report()
            assert [(m or {}).get("body") for m in stored] == texts
            assert [(m or {}).get("notify") for m in stored] == [USER_NAME] * 2
            positions = [bot.index(m) for m in stored if m is not None]
            assert positions == sorted(positions)
            assert positions[-1] < bot.index(ib)
            assert (ib["from"], ib["children"]) == ("s.whatsapp.net", ["offline"])
            # The driver shows the ib's child tags only; the server's side shows the count.
            assert [(n.tag, n.get("id"), n.get("offline")) for n in to_bot[:3]] == [
                ("message", ids[0], "1"),
                ("message", ids[1], "1"),
                ("ib", None, None),
            ]
            offline = to_bot[2].child("offline")
            assert offline is not None
            assert offline.attrs == {"count": "2"}

            # The bot answers the stored messages while our user is online.
            for msg_id in ids:
                await user.wait_for_receipt(msg_id, type="delivery", timeout=TIMEOUT)
                if behaviour.bot_reads:
                    await user.wait_for_receipt(msg_id, type="read", timeout=TIMEOUT)
            echoes = [
                await user.wait_for(ev.GetMessage, lambda e: e.from_ == BOT_JID, timeout=TIMEOUT)
                for _ in ids
            ]
            assert [(e.body, e.offline) for e in echoes] == [(t.encode(), False) for t in texts]
            for echo in echoes:  # our user's automatic delivery receipts, acked by the bot
                await bot.wait_event("sent", is_sent("ack", id=echo.id, **{"class": "receipt"}))
            await wait_until(
                server,
                lambda: not undelivered(server),
                f"every stanza acknowledged; still pending: {undelivered(server)}",
            )


async def test_receipts_for_an_offline_yowsup_sender_arrive_at_its_next_login(
    yowsup: YowsupClient, server: Server, server_port: int, tmp_path: Path
) -> None:
    """Receipts are stored like messages: replayed with ``offline="1"``, cleared by acks."""
    home = tmp_path / "sender"
    async with run_driver(yowsup, "user.py", port=server_port, home=home) as sender:
        await sender.command("send", to=USER_JID, text=TEXT)
        sent = await sender.wait_event("sent", is_sent("message", to=USER_JID))
        await sender.wait_event("ack", is_message_ack(sent["id"]))
        await sender.command("quit")
        assert await sender.wait_exit() == EXIT_OK, sender.report()
    msg_id = sent["id"]

    async with our_user(("127.0.0.1", server_port), yowsup.behaviour) as user:
        got = await user.wait_for(ev.GetMessage, timeout=TIMEOUT)
        assert (got.id, got.from_, got.body, got.offline) == (msg_id, BOT_JID, BODY, True)
        await user.mark_read(BOT_JID, msg_id)  # after the automatic delivery receipt
        await user.ping(timeout=TIMEOUT)  # the server has handled both receipts
    stored = [(node.tag, node.get("type")) for _key, node in server.state.mailbox(BOT_JID)]
    assert stored == [("receipt", None), ("receipt", "read")]

    async with run_driver(yowsup, "user.py", port=server_port, home=home) as sender:
        ib = await sender.wait_event("node", lambda e: e["tag"] == "ib")
        receipts = sender.all("receipt")
        assert [(r["id"], r["from"], r.get("type"), r["offline"]) for r in receipts] == [
            (msg_id, USER_JID, None, "1"),
            (msg_id, USER_JID, "read", "1"),
        ]
        assert sender.index(receipts[-1]) < sender.index(ib)
        await wait_until(
            server,
            lambda: not undelivered(server),
            f"the replayed receipts acknowledged; still pending: {undelivered(server)}",
        )
        await sender.command("quit")
        assert await sender.wait_exit() == EXIT_OK, sender.report()


# ----------------------------------------------------------------------- our library is the bot


def start_echo_bot(bot: Client, nursery: trio.Nursery) -> None:
    """Our client library as an echo bot: each text back to its sender, then marked read.

    (The delivery receipt goes out by itself, before the application sees the message.)
    """

    async def echo(message: ev.GetMessage) -> None:
        await bot.send_text(message.from_, message.body)
        await bot.mark_read(message.from_, message.id)

    def on_message(message: ev.GetMessage) -> None:
        if not isinstance(message, ev.GetGroupMessage):
            nursery.start_soon(echo, message)

    bot.on(ev.GetMessage, on_message)


async def test_our_bot_echoes_a_yowsup_user(
    yowsup: YowsupClient, server: Server, server_port: int, tmp_path: Path
) -> None:
    behaviour = yowsup.behaviour
    async with (
        open_client(
            ("127.0.0.1", server_port),
            BOT_PHONE,
            PASSWORD,
            push_name=BOT_NAME,
            dialect=behaviour.dialect,
        ) as bot,
        trio.open_nursery() as nursery,
    ):
        start_echo_bot(bot, nursery)
        async with run_driver(
            yowsup, "user.py", port=server_port, home=tmp_path / "user", phone=USER_PHONE
        ) as user:
            await user.command("send", to=BOT_JID, text=TEXT)
            sent = await user.wait_event("sent", is_sent("message", to=BOT_JID))
            msg_id = sent["id"]
            assert sent["body_hex"] == BODY.hex()

            # The user's one tick, and the message as our bot gets it.
            acked = await user.wait_event("ack", is_message_ack(msg_id))
            assert acked["from"] == BOT_JID
            assert int(acked["t"]) > 0
            got = await bot.wait_for(ev.GetMessage, lambda e: e.id == msg_id, timeout=TIMEOUT)
            assert (got.from_, got.body, got.notify, got.offline, got.t) == (
                USER_JID,
                BODY,
                USER_NAME,
                False,
                int(acked["t"]),
            )

            # The echo reaches the user byte for byte; our bot gets the server ack for it.
            echo = await user.wait_event("message", lambda e: e["from"] == BOT_JID)
            assert (echo["body_hex"], echo["notify"], echo["offline"]) == (
                BODY.hex(),
                BOT_NAME,
                "0",
            )
            await bot.wait_for(
                ev.MessageReceivedServer, lambda e: e.id == echo["id"], timeout=TIMEOUT
            )

            # Our bot's delivery and read receipts reach the user, who acks them.
            for receipt_type in (None, "read"):
                receipt = await user.wait_event("receipt", is_receipt(msg_id, receipt_type))
                assert (receipt["from"], receipt["offline"]) == (BOT_JID, "0")
            acks = await wait_for_count(
                user, "sent", is_sent("ack", id=msg_id, **{"class": "receipt"}), 2
            )
            if behaviour.legacy_receipt_acks:
                assert [(a.get("type"), a.get("to")) for a in acks] == [("delivery", None)] * 2
            else:
                assert [(a.get("type"), a.get("to")) for a in acks] == [
                    (None, BOT_JID),
                    ("read", BOT_JID),
                ]

            # The user's receipts for the echo reach our bot (two ticks, blue ticks).
            await user.command("receipt", to=BOT_JID, id=echo["id"])
            await user.command("receipt", to=BOT_JID, id=echo["id"], read=True)
            for receipt_type in ("delivery", "read"):
                tick = await bot.wait_for_receipt(echo["id"], type=receipt_type, timeout=TIMEOUT)
                assert tick.from_ == USER_JID
            for receipt_type in (None, "read"):
                server_ack = await user.wait_event(
                    "ack", is_receipt(echo["id"], receipt_type, ack_class="receipt")
                )
                assert server_ack["from"] == BOT_JID

            await wait_until(
                server,
                lambda: not undelivered(server),
                f"every stanza acknowledged; still pending: {undelivered(server)}",
            )
            await user.command("quit")
            assert await user.wait_exit() == EXIT_OK, user.report()
            assert user.events[-1] == {"event": "stopped", "reason": "quit"}
            assert user.all("error") == []
        nursery.cancel_scope.cancel()


# ----------------------------------------------------------------------------- fast re-login


def is_challenge(event: Event) -> bool:
    return bool(event["tag"] == "challenge")


async def test_a_second_login_reuses_the_stored_nonce(
    yowsup: YowsupClient, server: Server, server_port: int, tmp_path: Path
) -> None:
    """2.4.102 and 2.5.7 log in again with the ``success`` nonce; 2.0.53 never does."""
    fast = yowsup.behaviour.fast_relogin
    home = tmp_path / "home"  # the same HOME for every run below
    nonce_file = home / ".yowsup" / BOT_PHONE / "nonce"

    async with run_driver(yowsup, "user.py", port=server_port, home=home) as first:
        authed = await first.wait_event("authed")
        await first.command("quit")
        assert await first.wait_exit() == EXIT_OK, first.report()
    assert first.find("sent", is_sent("auth", data_hex=None)) is not None, first.report()
    assert first.find("node", is_challenge) is not None
    account = server.state.account(BOT_PHONE)
    assert account is not None
    assert account.next_nonce is not None
    assert authed["data_hex"] == account.next_nonce.hex()
    if fast:
        assert nonce_file.read_bytes() == account.next_nonce
    else:
        assert not nonce_file.exists()

    # The second login: the blob in <auth>, no challenge (2.0.53: the challenge again).
    async with (
        our_user(("127.0.0.1", server_port), yowsup.behaviour) as user,
        run_driver(yowsup, "user.py", port=server_port, home=home) as second,
    ):
        await second.wait_event("authed")
        auth = second.find("sent", lambda e: e["tag"] == "auth")
        assert auth is not None
        assert ("data_hex" in auth, second.find("node", is_challenge) is None) == (fast, fast)
        # The session keys work both ways.
        await second.command("send", to=USER_JID, text=TEXT)
        got = await user.wait_for(ev.GetMessage, lambda e: e.from_ == BOT_JID, timeout=TIMEOUT)
        assert got.body == BODY
        await second.wait_event("ack", is_message_ack(got.id))
        second.terminate()
        assert await second.wait_exit() == EXIT_OK, second.report()

    # A restarted server has forgotten the nonce and asks for a challenge; yowsup copes.
    async with open_server(accounts=ACCOUNTS) as restarted:
        _host, port = await restarted.listen_tcp("127.0.0.1", 0)
        async with run_driver(yowsup, "user.py", port=port, home=home) as third:
            await third.wait_event("authed")
            auth = third.find("sent", lambda e: e["tag"] == "auth")
            assert auth is not None
            assert ("data_hex" in auth) == fast
            assert third.find("node", is_challenge) is not None
            assert third.find("sent", lambda e: e["tag"] == "response") is not None
            await third.command("quit")
            assert await third.wait_exit() == EXIT_OK, third.report()
