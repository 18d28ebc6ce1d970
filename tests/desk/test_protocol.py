"""The desk's HTTP and WebSocket protocol, without a browser: a wsproto client against it."""

from __future__ import annotations

import base64
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio
import trio.testing

from simulator.desk import BotSpec, DeskWeb, open_desk
from simulator.scenario import import_bot
from simulator.server import Server
from simulator.testing import open_world_server
from tests.desk.wsclient import DeskSocket, desk_socket

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
BOT = "491119999999@s.whatsapp.net"
ALICE = "491110000001@s.whatsapp.net"
BOB = "491110000002@s.whatsapp.net"
CAROL = "491110000003@s.whatsapp.net"


def bot(target: str) -> BotSpec:
    return BotSpec(account=BOT, function=import_bot(target, search=[SCENARIOS]), target=target)


@pytest.fixture
async def server(mock_clock: trio.testing.MockClock) -> AsyncIterator[Server]:
    mock_clock.rate = 1.0  # real-time speed, as simulator desk runs; advance jumps it
    async with open_world_server() as server:
        yield server


@pytest.fixture
async def web(server: Server, mock_clock: trio.testing.MockClock) -> AsyncIterator[DeskWeb]:
    async with open_desk(server, clock=mock_clock, bot=bot("bots.echo:run")) as web:
        yield web


@pytest.fixture
async def page(web: DeskWeb) -> AsyncIterator[DeskSocket]:
    assert web.address is not None
    async with desk_socket(*web.address) as page:
        yield page


async def http_get(
    web: DeskWeb, target: str, method: str = "GET"
) -> tuple[int, dict[str, str], bytes]:
    assert web.address is not None
    import h11

    stream = await trio.open_tcp_stream(*web.address)
    async with stream:
        conn = h11.Connection(h11.CLIENT)
        request = h11.Request(
            method=method, target=target, headers=[("host", "desk"), ("content-length", "0")]
        )
        await stream.send_all(conn.send(request) + conn.send(h11.EndOfMessage()))
        status, body = 0, b""
        headers: dict[str, str] = {}
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(await stream.receive_some(65536))
            elif isinstance(event, h11.Response):
                status = event.status_code
                headers = {k.decode(): v.decode() for k, v in event.headers}
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                return status, headers, body


async def test_a_page_first_gets_the_world_with_the_bot_running(page: DeskSocket) -> None:
    world = await page.receive()
    assert world["type"] == "world"
    assert world["bot"] == BOT
    assert world["bot_state"] == "running"
    assert world["can_advance"] is True
    names = {a["name"] for a in world["accounts"]}
    assert names == {"Alice", "Bob", "Carol", "Bot"}


async def test_a_message_as_alice_gets_the_echo_with_ack_and_receipt(page: DeskSocket) -> None:
    result = await page.request("send", **{"as": "alice", "to": "bot", "text": "hello"})
    assert result["ok"] is True
    msg_id = result["value"]
    sent = await page.stanza(lambda s: s["dir"] == "in" and s["node"]["t"] == "message")
    assert sent["jid"] == ALICE
    assert sent["text"].startswith("<message ") and "<body>hello</body>" in sent["text"]
    ack = await page.stanza(lambda s: s["node"]["t"] == "ack" and s["node"]["a"]["id"] == msg_id)
    assert ack["dir"] == "out" and ack["jid"] == ALICE
    receipt = await page.stanza(
        lambda s: (
            s["node"]["t"] == "receipt" and s["node"]["a"].get("id") == msg_id and s["jid"] == ALICE
        )
    )
    assert "type" not in receipt["node"]["a"]  # delivered: the bot's client library sent it
    echo = await page.stanza(
        lambda s: s["dir"] == "out" and s["jid"] == ALICE and s["node"]["t"] == "message"
    )
    assert echo["node"]["a"]["from"] == BOT
    assert echo["node"]["c"][0] == {"t": "body", "d": "hello"}


async def test_typing_and_presence_reach_the_peer(page: DeskSocket) -> None:
    assert (await page.request("login", user="bob"))["ok"]
    assert (await page.request("subscribe", **{"as": "bob", "jid": "alice"}))["ok"]
    typing = await page.request("chatstate", **{"as": "alice", "to": "bob", "state": "composing"})
    assert typing["ok"], typing
    got = await page.stanza(lambda s: s["jid"] == BOB and s["node"]["t"] == "chatstate")
    assert got["node"] == {"t": "chatstate", "a": {"from": ALICE}, "c": [{"t": "composing"}]}
    await page.request("presence", **{"as": "alice", "type": "unavailable"})
    gone = await page.stanza(
        lambda s: (
            s["jid"] == BOB
            and s["node"]["t"] == "presence"
            and s["node"]["a"].get("type") == "unavailable"
        )
    )
    # Bob is not in Alice's address book: the service hides when she was last seen
    assert gone["node"]["a"] == {"from": ALICE, "type": "unavailable", "last": "deny"}
    seen = await page.request("last_seen", **{"as": "alice", "jid": "bob"})
    assert seen == {"type": "result", "ref": seen["ref"], "ok": True, "value": 0}  # online
    bad = await page.request("chatstate", **{"as": "alice", "to": "bob", "state": "dancing"})
    assert bad["error"] == "a chat state is composing or paused"


async def test_requests_as_a_user_not_yet_logged_in_share_one_login(
    server: Server, page: DeskSocket
) -> None:
    assert (await page.request("login", user="bob"))["ok"]
    refs = []
    for n in range(3):  # sent at once: the first logs Carol in, the others wait for it
        refs.append(n + 100)
        await page.send({"op": "send", "ref": n + 100, "as": "carol", "to": "bob", "text": f"{n}"})
    answers = [await page.until(lambda m: m["type"] == "result") for _ in refs]
    assert all(a["ok"] for a in answers), answers
    # each login announces itself with an available presence (the client library's)
    await page.stanza(
        lambda s: s["jid"] == BOB and s["dir"] == "out" and "<body>2</body>" in s["text"]
    )
    logins = [
        s
        for s in page.seen
        if s["type"] == "stanza"
        and s["jid"] == CAROL
        and s["dir"] == "in"
        and s["node"]["t"] == "presence"
    ]
    assert len(logins) == 1


async def test_a_page_opened_later_gets_every_stanza_so_far(web: DeskWeb, page: DeskSocket) -> None:
    await page.request("send", **{"as": "bob", "to": "bot", "text": "one"})
    await page.stanza(
        lambda s: s["jid"] == BOB and s["node"]["t"] == "message" and s["dir"] == "out"
    )
    assert web.address is not None
    async with desk_socket(*web.address) as late:
        assert (await late.receive())["type"] == "world"
        first = await late.receive()
        assert first["type"] == "stanza" and first["seq"] == 1
        await late.stanza(lambda s: s["jid"] == BOB and "<body>one</body>" in s["text"])


async def test_group_actions_reach_the_members_as_notifications(page: DeskSocket) -> None:
    with trio.fail_after(30):  # a guard against hanging, not a speed check
        for user in ("bob", "carol"):  # members who are online get notifications live
            assert (await page.request("login", user=user))["ok"]
        created = await page.request(
            "group_create", **{"as": "alice", "subject": "Lunch", "participants": ["bob"]}
        )
        assert created["ok"], created
        gjid = created["value"]
        await page.stanza(
            lambda s: (
                s["jid"] == BOB
                and s["node"]["t"] == "notification"
                and s["node"]["a"]["from"] == gjid
                and s["node"]["c"][0]["t"] == "create"
            )
        )
        added = await page.request(
            "group_add", **{"as": "alice", "group": "Lunch", "jids": ["carol"]}
        )
        assert added["ok"], added
        note = await page.stanza(
            lambda s: (
                s["jid"] == BOB
                and s["node"]["t"] == "notification"
                and s["node"]["c"][0]["t"] == "add"
            )
        )
        assert note["node"]["c"][0]["c"] == [{"t": "participant", "a": {"jid": CAROL}}]
        world = await page.until(
            lambda m: (
                m["type"] == "world"
                and any(g["jid"] == gjid and len(g["participants"]) == 3 for g in m["groups"])
            )
        )
        assert world["groups"][0]["subject"] == "Lunch"
        sent = await page.request("send", **{"as": "carol", "to": gjid, "text": "hi all"})
        assert sent["ok"]
        got = await page.stanza(
            lambda s: s["jid"] == BOB and s["node"]["t"] == "message" and s["dir"] == "out"
        )
        assert got["node"]["a"]["participant"] == CAROL
        promoted = await page.request(
            "group_promote", **{"as": "alice", "group": gjid, "jids": ["bob"]}
        )
        assert promoted["ok"], promoted
        refused = await page.request(
            "group_remove", **{"as": "carol", "group": gjid, "jids": ["bob"]}
        )
        assert refused["ok"] is False and refused["error"].endswith("403 forbidden")
        for op, args in (
            ("group_subject", {"subject": "Lunch at noon"}),
            ("group_demote", {"jids": ["bob"]}),
            ("group_remove", {"jids": ["carol"]}),
        ):
            done = await page.request(op, **{"as": "alice", "group": gjid, **args})
            assert done["ok"], (op, done)
        await page.stanza(  # results and stanzas travel apart: wait for the last notice
            lambda s: (
                s["jid"] == BOB
                and s["node"]["t"] == "notification"
                and s["node"]["c"][0]["t"] == "remove"
            )
        )
        assert (await page.request("group_leave", **{"as": "bob", "group": gjid}))["ok"]
        tags = [
            s["node"]["c"][0]["t"]
            for s in page.seen
            if s["type"] == "stanza" and s["jid"] == BOB and s["node"]["t"] == "notification"
        ]
        assert tags == ["create", "add", "promote", "subject", "demote", "remove"]
        world = await page.until(
            lambda m: (
                m["type"] == "world"
                and [p["jid"] for p in m["groups"][0]["participants"]] == [ALICE]
            )
        )
        assert world["groups"][0]["subject"] == "Lunch at noon"


async def test_advance_moves_the_service_clock_and_fires_the_bots_timers(
    server: Server, mock_clock: trio.testing.MockClock
) -> None:
    async with open_desk(server, clock=mock_clock, bot=bot("bots.reminder:run")) as web:
        assert web.address is not None
        async with desk_socket(*web.address) as page:
            before = (await page.receive())["now"]
            await page.request(
                "send",
                **{"as": "alice", "to": "bot", "text": "remind me in 1d to renew the domain"},
            )
            await page.stanza(
                lambda s: (
                    s["jid"] == ALICE and s["dir"] == "out" and "OK, I will remind you" in s["text"]
                )
            )
            moved = await page.request("advance", seconds=86_400)
            assert moved["ok"] and moved["value"] >= before + 86_400
            reminder = await page.stanza(
                lambda s: s["jid"] == ALICE and "Reminder: renew the domain" in s["text"]
            )
            assert int(reminder["node"]["a"]["t"]) >= int(before) + 86_400


async def test_faults_from_the_page_drop_restart_and_clear(
    server: Server, page: DeskSocket
) -> None:
    """The desk's fault switches are the control API's: a dropped echo never reaches
    Alice, the page lists the fault with its hits, a restart drops every connection and
    the next message logs Alice in again, and clearing ends the fault."""
    with trio.fail_after(20):
        await _faults_from_the_page(server, page)


async def _faults_from_the_page(server: Server, page: DeskSocket) -> None:
    set_ = await page.request("fault", action="drop", selector="message to alice", times=1)
    assert set_["ok"] is True, set_
    fault = set_["value"]
    assert (fault["action"], fault["hits"]) == ("drop", 0)
    world = await page.until(lambda m: m["type"] == "world" and m["faults"])
    assert [f["id"] for f in world["faults"]] == [fault["id"]]
    dropped = trio.Event()
    server.faults.observe(lambda hit: dropped.set())
    assert (await page.request("send", **{"as": "alice", "to": "bot", "text": "one"}))["ok"]
    with trio.fail_after(5):
        await dropped.wait()  # the echo of "one", on its way back to Alice
    assert [hit.action for hit in server.faults.log] == ["drop"]
    assert (await page.request("send", **{"as": "alice", "to": "bot", "text": "two"}))["ok"]
    echo = await page.stanza(
        lambda s: s["dir"] == "out" and s["jid"] == ALICE and s["node"]["t"] == "message"
    )
    assert echo["node"]["c"][0] == {"t": "body", "d": "two"}  # "one" was dropped
    assert list(server.faults) == []  # used up: times 1

    restarted = await page.request("restart")
    assert restarted["ok"] is True and restarted["value"] >= 2  # Alice and the bot
    assert server.restarts == 1
    assert (await page.request("login", user="alice"))["ok"]  # logs in again
    assert ALICE in server.sessions

    held = await page.request("fault", action="hold", selector="message to alice")
    assert (await page.request("fault_clear", id=held["value"]["id"]))["ok"]
    assert list(server.faults) == []
    bad = await page.request("fault", action="teleport", selector="anything")
    assert bad["ok"] is False and "no fault action 'teleport'" in bad["error"]
    gone = await page.request("fault_clear", id=99)
    assert gone == {
        "type": "result",
        "ref": gone["ref"],
        "ok": False,
        "error": "there is no fault #99",
    }
    assert (await page.request("disconnect", user="alice"))["ok"]


async def test_bad_requests_get_one_sentence_and_the_page_carries_on(page: DeskSocket) -> None:
    await page.send("not json")
    answer = await page.until(lambda m: m["type"] == "result")
    assert answer == {
        "type": "result",
        "ref": None,
        "ok": False,
        "error": 'a request is a JSON object with an "op"',
    }
    assert (await page.request("fly"))["error"] == "no operation 'fly'"
    assert (await page.request("send", **{"as": "alice", "to": "bot"}))["error"] == (
        '"text" is missing'
    )
    assert (await page.request("send", **{"as": "zed", "to": "bot", "text": "x"}))["error"] == (
        "no account 'zed'"
    )
    assert (await page.request("login", user="bot"))["error"] == (
        "that is the bot's account: the bot plays it"
    )
    assert (await page.request("advance", seconds=-1))["ok"] is False
    assert (await page.request("advance", seconds="1h"))["error"] == '"seconds" must be a number'
    pdf = await page.request(
        "send_media",
        **{
            "as": "alice",
            "to": "bot",
            "name": "a.pdf",
            "mimetype": "application/pdf",
            "data": "JVBERg==",
        },
    )
    assert "images, audio and video" in pdf["error"]
    ok = await page.request("send", **{"as": "alice", "to": "bot", "text": "still here"})
    assert ok["ok"] is True


async def test_a_bug_in_one_request_is_answered_and_the_desk_runs_on(
    page: DeskSocket, monkeypatch: pytest.MonkeyPatch
) -> None:
    from simulator.client import Client

    async def broken(self: Client, text: str) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(Client, "set_status", broken)
    answer = await page.request("status", **{"as": "alice", "text": "x"})
    assert answer["ok"] is False
    assert answer["error"].startswith("internal error") and "boom" in answer["error"]
    assert (await page.request("send", **{"as": "alice", "to": "bob", "text": "ok"}))["ok"]


async def test_user_actions_change_what_the_service_holds(server: Server, page: DeskSocket) -> None:
    assert (await page.request("status", **{"as": "bob", "text": "at lunch"}))["ok"]
    blocked = await page.request("block", **{"as": "bob", "jid": "carol", "blocked": True})
    assert blocked["ok"], blocked
    synced = await page.request("sync", **{"as": "bob", "numbers": ["491110000001", "4900"]})
    assert synced["value"]["existing"] == {"491110000001": ALICE}
    png = (SCENARIOS / "media" / "logo.png").read_bytes()
    picture = await page.request("picture", **{"as": "bob", "data": base64.b64encode(png).decode()})
    assert picture["ok"], picture
    assert server.state.pictures[BOB].image == png
    assert (await page.request("name", **{"as": "bob", "name": "Robert"}))["ok"]
    assert (await page.request("name", **{"as": "robert", "name": " "}))["error"] == (
        "a name cannot be empty"
    )
    assert (await page.request("presence", **{"as": "robert", "type": "unavailable"}))["ok"]
    world = await page.until(
        lambda m: (
            m["type"] == "world"
            and next(a for a in m["accounts"] if a["jid"] == BOB)["online"] is False
        )
    )
    bob = next(a for a in world["accounts"] if a["jid"] == BOB)
    assert (bob["name"], bob["status"], bob["blocked"]) == ("Robert", "at lunch", [CAROL])
    assert bob["picture"] is True
    assert server.state.accounts[BOB].push_name == "Robert"
    assert (await page.request("logout", user="491110000002"))["ok"]
    await page.until(
        lambda m: (
            m["type"] == "world"
            and not next(a for a in m["accounts"] if a["jid"] == BOB)["connected"]
        )
    )


async def test_media_location_and_vcard_go_out_and_the_image_is_served(
    web: DeskWeb, page: DeskSocket
) -> None:
    png = (SCENARIOS / "media" / "logo.png").read_bytes()
    assert (await page.request("login", user="bob"))["ok"]

    sent = await page.request(
        "send_media",
        **{
            "as": "alice",
            "to": "bob",
            "name": "logo.png",
            "mimetype": "image/png",
            "data": base64.b64encode(png).decode(),
            "caption": "our logo",
        },
    )
    assert sent["ok"], sent
    got = await page.stanza(
        lambda s: s["jid"] == BOB and s["dir"] == "out" and s["node"]["t"] == "message"
    )
    media = got["node"]["c"][0]
    assert media["a"]["type"] == "image" and media["a"]["caption"] == "our logo"
    status, headers, body = await http_get(web, "/media?url=" + media["a"]["url"])
    assert (status, headers["content-type"], body) == (200, "image/png", png)
    assert (
        await page.request(
            "send_location",
            **{
                "as": "alice",
                "to": "bob",
                "latitude": 52.52,
                "longitude": 13.405,
                "name": "Berlin",
            },
        )
    )["ok"]
    await page.stanza(
        lambda s: (
            s["jid"] == BOB and 'type="location"' in s["text"] and 'name="Berlin"' in s["text"]
        )
    )
    assert (
        await page.request(
            "send_vcard", **{"as": "alice", "to": "bob", "name": "Carol", "phone": "491110000003"}
        )
    )["ok"]
    await page.stanza(lambda s: s["jid"] == BOB and '<vcard name="Carol">' in s["text"])


async def test_pages_transcript_and_scenario_over_http(web: DeskWeb, page: DeskSocket) -> None:
    status, headers, body = await http_get(web, "/")
    assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
    assert b'<script src="desk.js"' in body
    for name, kind in (("desk.js", "javascript"), ("desk.css", "text/css")):
        status, headers, _ = await http_get(web, f"/{name}")
        assert status == 200 and kind in headers["content-type"]
    assert (await http_get(web, "/nope"))[0] == 404
    assert (await http_get(web, "/media?url=http://x/y.png"))[0] == 404
    await page.request("send", **{"as": "alice", "to": "bot", "text": "hello"})
    await page.stanza(
        lambda s: s["jid"] == ALICE and s["dir"] == "out" and "<body>hello</body>" in s["text"]
    )
    status, headers, body = await http_get(web, "/transcript.txt")
    assert headers["content-disposition"] == 'attachment; filename="transcript.txt"'
    lines = body.decode().splitlines()
    assert any(f" tx {ALICE} <message " in line and "<body>hello</body>" in line for line in lines)
    status, headers, body = await http_get(web, "/scenario.yaml")
    assert status == 200, body
    text = body.decode()
    assert "python: bots.echo:run" in text
    assert "send: {from: alice, to: bot, id: '{{m1}}', text: hello" in text


async def test_garbage_gets_400_and_the_desk_serves_on(web: DeskWeb) -> None:
    assert web.address is not None
    stream = await trio.open_tcp_stream(*web.address)
    async with stream:
        await stream.send_all(b"NOT HTTP AT ALL\r\n\r\n")
        answer = b""
        while chunk := await stream.receive_some(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert (await http_get(web, "/"))[0] == 200
    assert (await http_get(web, "/x", method="POST"))[0] == 405


async def test_a_socket_elsewhere_than_ws_is_refused(web: DeskWeb) -> None:
    assert web.address is not None
    with pytest.raises(ConnectionRefusedError):
        async with desk_socket(*web.address, target="/other"):
            pass


async def test_only_the_desks_own_page_may_open_the_socket(web: DeskWeb) -> None:
    assert web.address is not None
    host, port = web.address
    async with desk_socket(host, port, origin=f"http://{host}:{port}") as page:
        assert (await page.receive())["type"] == "world"
    with pytest.raises(ConnectionRefusedError):
        async with desk_socket(host, port, origin="http://evil.example"):
            pass


async def test_an_external_bot_connects_over_tcp_and_answers(
    server: Server, mock_clock: trio.testing.MockClock
) -> None:
    script = str(SCENARIOS / "bots" / "echo.py")
    spec = BotSpec(account=BOT, target=f"python {script}", argv=("python", script))
    async with open_desk(server, clock=mock_clock, bot=spec) as web:
        assert web.address is not None
        async with desk_socket(*web.address) as page:
            world = await page.receive()
            assert world["bot_state"] == "running"
            # the program logs in by itself, some time after it started
            await page.stanza(lambda s: s["jid"] == BOT and s["node"]["t"] == "presence")
            await page.request("send", **{"as": "alice", "to": "bot", "text": "over tcp"})
            echo = await page.stanza(
                lambda s: s["jid"] == ALICE and s["dir"] == "out" and s["node"]["t"] == "message"
            )
            assert "<body>over tcp</body>" in echo["text"]


async def test_a_bot_command_that_cannot_start_is_shown(
    server: Server, mock_clock: trio.testing.MockClock
) -> None:
    spec = BotSpec(account=BOT, target="no-such-program", argv=("/nonexistent/bot",))
    async with open_desk(server, clock=mock_clock, bot=spec) as web:
        assert web.address is not None
        async with desk_socket(*web.address) as page:
            world = await page.receive()
            assert world["bot_state"] == "died"
            assert world["bot_error"].startswith("cannot start no-such-program: ")


async def test_without_a_bot_real_clients_connect_over_tcp(
    server: Server, mock_clock: trio.testing.MockClock
) -> None:
    from simulator.client import open_client
    from simulator.testing import DEFAULT_WORLD

    host, port = await server.listen_tcp()
    account = next(a for a in DEFAULT_WORLD.accounts if a.name == "Bot")
    spec = BotSpec(account=BOT, target="a real client")  # the desk does not run it
    async with open_desk(server, clock=mock_clock, bot=spec) as web:
        assert web.address is not None
        async with (
            desk_socket(*web.address) as page,
            open_client((host, port), account.phone, account.effective_password) as remote,
        ):
            world = await page.receive()
            assert (world["bot"], world["bot_state"]) == (BOT, "external")
            await page.request("send", **{"as": "alice", "to": "bot", "text": "anyone there?"})
            got = await remote.wait_for_message()
            assert got.text == "anyone there?"
            await remote.send_text(got.from_, "a real client, over TCP")
            answer = await page.stanza(
                lambda s: s["jid"] == ALICE and s["dir"] == "out" and s["node"]["t"] == "message"
            )
            assert answer["node"]["a"]["from"] == BOT
            assert "<body>a real client, over TCP</body>" in answer["text"]
            # the recording knows which account is the bot (the desk did not start it)
            assert "bot:\n  account: bot\n" in web.desk.scenario_text()


async def test_a_bot_that_raises_is_shown_and_the_desk_runs_on(
    server: Server, mock_clock: trio.testing.MockClock
) -> None:
    async def broken(client: object) -> None:
        raise RuntimeError("boom")

    spec = BotSpec(account=BOT, function=broken, target="tests:broken")
    async with open_desk(server, clock=mock_clock, bot=spec) as web:
        assert web.address is not None
        async with desk_socket(*web.address) as page:
            world = await page.until(lambda m: m["type"] == "world" and m["bot_state"] != "running")
            assert world["bot_state"] == "died"
            assert "RuntimeError: boom" in world["bot_error"]
            assert (await page.request("send", **{"as": "alice", "to": "bob", "text": "x"}))["ok"]


def test_the_static_files_ship_with_the_package() -> None:
    from importlib import resources

    static = resources.files("simulator.desk").joinpath("static")
    assert {p.name for p in static.iterdir()} >= {"index.html", "desk.js", "desk.css"}
    assert sys.modules  # the package imports without a browser


def test_a_session_on_a_world_file_saves_a_scenario_that_refers_to_it(tmp_path: Path) -> None:
    """Groups and contacts of the world file come along: the saved file names the file."""
    from simulator.scenario import run_file
    from simulator.server import ServerConfig, open_server
    from simulator.world import build_state, load_world

    world_file = SCENARIOS / "worlds" / "team.world.yaml"
    moderator = "491119999991@s.whatsapp.net"
    echo = import_bot("bots.echo:run", search=[SCENARIOS])

    async def session() -> str:
        state = build_state(load_world(world_file))
        clock_config = ServerConfig(epoch=None)
        async with open_server(state=state, config=clock_config) as server:
            spec = BotSpec(account=moderator, function=echo, target="bots.echo:run")
            async with open_desk(server, bot=spec, world=world_file) as web:
                assert web.address is not None
                async with desk_socket(*web.address) as page:
                    await page.request("login", user="bob")
                    sent = await page.request(
                        "send", **{"as": "alice", "to": "Release team", "text": "release at 5"}
                    )
                    assert sent["ok"], sent
                    await page.stanza(
                        lambda s: s["jid"] == BOB and "<body>release at 5</body>" in s["text"]
                    )
                return web.desk.scenario_text()

    text = trio.run(session)
    assert f"world: {world_file.as_posix()}\n" in text
    assert (
        "send: {from: alice, to: 491110000001-1400000000@g.us, id: '{{m1}}', text: release at 5"
        in text
    )
    saved = tmp_path / "session.yaml"
    saved.write_text(text)
    result = run_file(saved)
    assert result.passed, result.report
