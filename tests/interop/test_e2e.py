"""End-to-end encryption with real yowsup 2.5.7 clients and their axolotl layers (§3.12).

Each party is ``user.py --e2e``: yowsup's default stack with ``AxolotlControlLayer`` and the
axolotl send and receive layers. At its first login an account has no keys: yowsup logs
in passively, uploads its identity, signed pre-key and 200 one-time pre-keys, disconnects
and logs in again. To write to someone it has no session with, it fetches their key bundle
and sends a ``pkmsg``; later messages are ``msg``; in a group it sends one ``skmsg`` (its
sender key) plus a ``pkmsg``/``msg`` per member that does not have the sender key yet. The
node tap sees the ciphertext, the driver's layer the plaintext (``text`` events).
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import TYPE_CHECKING

import pytest

from simulator.jid import user_jid
from simulator.server import Group, Server, open_server
from simulator.wire.node import Node
from tests.interop.conftest import (
    E2E_CLIENTS,
    PASSWORD,
    Driver,
    Event,
    YowsupClient,
    run_driver,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

pytestmark = [pytest.mark.interop, pytest.mark.real_clock]

PHONES = ("491110000011", "491110000012", "491110000013")
JIDS = tuple(user_jid(p) for p in PHONES)
ACCOUNTS = [(phone, PASSWORD, f"User {i}") for i, phone in enumerate(PHONES)]


@pytest.fixture(params=[pytest.param(c, id=c.name) for c in E2E_CLIENTS])
def e2e_client(request: pytest.FixtureRequest) -> YowsupClient:
    client: YowsupClient = request.param
    if not (client.path / "axolotl" / "__init__.py").is_file():
        pytest.fail(f"{client.path} has no axolotl: run `python3 dev.py setup`", pytrace=False)
    return client


def text_from(sender: str, body: str) -> Callable[[Event], bool]:
    return lambda e: e["from"] == sender and e["body"] == body


async def ready(driver: Driver) -> None:
    await driver.wait_event("ready_for_commands", lambda e: e["ready"])


def enc_types(node: Node) -> list[str]:
    """The ``<enc type>`` of a message as the sender wrote it, ``<participants>`` included."""
    types = [c.get("type", "") for c in node.children_named("enc")]
    for participants in node.children_named("participants"):
        for entry in participants.children_named("to"):
            types += [f"{entry.get('jid')}:{c.get('type')}" for c in entry.children_named("enc")]
    return types


class Wire:
    """Every message a client sent to the server (the ciphertext), in order."""

    def __init__(self, server: Server) -> None:
        self.sent: list[tuple[str, Node]] = []
        server.tap(self._observe)

    def _observe(self, direction: str, jid: str, node: Node) -> None:
        if direction == "in" and node.tag == "message":
            self.sent.append((jid, node))

    def of(self, jid: str, msg_id: str) -> Node:
        return next(n for sender, n in self.sent if sender == jid and n.get("id") == msg_id)


async def start(
    stack: AsyncExitStack, client: YowsupClient, port: int, home: Path, phone: str
) -> Driver:
    driver = await stack.enter_async_context(
        run_driver(client, "user.py", "--e2e", port=port, home=home, phone=phone)
    )
    await ready(driver)
    return driver


async def test_two_yowsup_clients_talk_end_to_end_encrypted(
    e2e_client: YowsupClient, tmp_path: Path
) -> None:
    """Keys at the first (passive) login; ``pkmsg`` to start a session, ``msg`` after it,
    both ways; the server relays ciphertext it cannot read."""
    async with open_server(accounts=ACCOUNTS) as server:
        wire = Wire(server)
        _host, port = await server.listen_tcp("127.0.0.1", 0)
        async with AsyncExitStack() as stack:
            a = await start(stack, e2e_client, port, tmp_path / "a", PHONES[0])
            b = await start(stack, e2e_client, port, tmp_path / "b", PHONES[1])
            for jid in JIDS[:2]:
                assert len(server.state.encryption_keys[jid].prekeys) == 200
            await a.command("send", to=JIDS[1], text="hello, encrypted")
            first = await b.wait_event("text", text_from(JIDS[0], "hello, encrypted"))
            await b.command("send", to=JIDS[0], text="hello back")
            back = await a.wait_event("text", text_from(JIDS[1], "hello back"))
            await a.command("send", to=JIDS[1], text="second")
            second = await b.wait_event("text", text_from(JIDS[0], "second"))
            for driver in (a, b):
                assert driver.all("error") == [], driver.report()
    assert enc_types(wire.of(JIDS[0], first["id"])) == ["pkmsg"]
    assert enc_types(wire.of(JIDS[1], back["id"])) == ["msg"]
    assert enc_types(wire.of(JIDS[0], second["id"])) == ["msg"]
    assert b"hello" not in repr(wire.of(JIDS[0], first["id"])).encode()
    assert len(server.state.encryption_keys[JIDS[1]].prekeys) == 199  # one was handed out


async def test_three_yowsup_clients_in_an_encrypted_group(
    e2e_client: YowsupClient, tmp_path: Path
) -> None:
    """A group message is one ``skmsg`` (the sender key) plus, for each member without
    that key, a ``pkmsg`` carrying it; the server gives each member its own entry."""
    async with open_server(accounts=ACCOUNTS) as server:
        wire = Wire(server)
        _host, port = await server.listen_tcp("127.0.0.1", 0)
        made = server.clock.now() - 60
        gjid = f"{PHONES[0]}-{made}@g.us"
        server.state.groups[gjid] = Group(
            jid=gjid,
            subject="Secret",
            creator=JIDS[0],
            creation=made,
            subject_owner=JIDS[0],
            subject_time=made,
            participants={JIDS[0]: "admin", JIDS[1]: None, JIDS[2]: None},
        )
        async with AsyncExitStack() as stack:
            a, b, c = [
                await start(stack, e2e_client, port, tmp_path / str(i), phone)
                for i, phone in enumerate(PHONES)
            ]
            await a.command("send", to=gjid, text="to the group")
            for member in (b, c):
                got = await member.wait_event("text", text_from(gjid, "to the group"))
                assert got["participant"] == JIDS[0]
            await a.command("send", to=gjid, text="again")
            for member in (b, c):
                again = await member.wait_event("text", text_from(gjid, "again"))
            await b.command("send", to=gjid, text="from b")
            for member in (a, c):
                await member.wait_event("text", text_from(gjid, "from b"))
            for driver in (a, b, c):
                assert driver.all("error") == [], driver.report()
    # yowsup 2.5.7 writes a group message once per key bundle it fetched (entries for
    # itself included) and again for each retry receipt: every copy carries the sender
    # key message or per-member pkmsg entries, and together they reach both members.
    copies = [enc_types(n) for j, n in wire.sent if j == JIDS[0] and n.get("id") == got["id"]]
    assert any("skmsg" in c for c in copies), copies
    entries = {t for c in copies for t in c if ":" in t}
    assert {f"{JIDS[1]}:pkmsg", f"{JIDS[2]}:pkmsg"} <= entries, copies
    later = [enc_types(n) for j, n in wire.sent if j == JIDS[0] and n.get("id") == again["id"]]
    assert later[0] == ["skmsg"], later  # the members hold A's sender key by now


async def test_a_reinstall_with_a_fresh_store_uploads_new_keys_and_retries_reach_the_sender(
    e2e_client: YowsupClient, tmp_path: Path
) -> None:
    """B is installed again with a fresh store (a new ``HOME``, so an empty ``~/.yowsup``)
    and logs in: it uploads a new identity.
    A's next message is a ``msg`` of the old session, which B cannot read: B answers with a
    ``retry`` receipt, which reaches A, and A fetches B's keys again; the server hands out
    the new identity. yowsup 2.5.7 then refuses it (``Ignoring message with untrusted
    identity``: its identity store never trusts a changed key), the client's own limit."""
    async with open_server(accounts=ACCOUNTS) as server:
        wire = Wire(server)
        fetched: list[Node] = []
        server.tap(
            lambda d, j, n: (
                fetched.append(n)
                if d == "out" and j == JIDS[0] and n.tag == "iq" and n.child("list") is not None
                else None
            )
        )
        _host, port = await server.listen_tcp("127.0.0.1", 0)
        async with AsyncExitStack() as outer:
            a = await start(outer, e2e_client, port, tmp_path / "a", PHONES[0])
            async with AsyncExitStack() as stack:
                b = await start(stack, e2e_client, port, tmp_path / "b", PHONES[1])
                await a.command("send", to=JIDS[1], text="before")
                await b.wait_event("text", text_from(JIDS[0], "before"))
                old_identity = server.state.encryption_keys[JIDS[1]].identity
            async with AsyncExitStack() as stack:
                b = await start(stack, e2e_client, port, tmp_path / "new-phone", PHONES[1])
                new_identity = server.state.encryption_keys[JIDS[1]].identity
                assert new_identity != old_identity
                # The new identity replaced every key of the old install (none handed out).
                assert len(server.state.encryption_keys[JIDS[1]].prekeys) == 200
                await a.command("send", to=JIDS[1], text="after")
                retry = await a.wait_event("receipt", lambda e: e.get("type") == "retry")
                assert retry["from"] == JIDS[1]
                await b.wait_event(
                    "sent", lambda e: e["tag"] == "receipt" and e.get("type") == "retry"
                )
                # A asks for B's keys again (the result carries B's new identity).
                await a.wait_event(
                    "node",
                    lambda e: (
                        e["tag"] == "iq" and e.get("children") == ["list"] and len(fetched) >= 2
                    ),
                )
    assert len(fetched) >= 2, fetched  # B's bundle: before the first message, after the retry
    identities = [
        identity.data
        for node in fetched
        for user in node.children[0].children_named("user")
        if (identity := user.child("identity")) is not None
    ]
    assert identities[0] == old_identity and identities[-1] == new_identity
    # Until B answers, A keeps writing pkmsg built on B's old bundle, which B cannot read.
    to_b = [enc_types(n) for j, n in wire.sent if j == JIDS[0] and n.get("to") == JIDS[1]]
    assert to_b[:2] == [["pkmsg"], ["pkmsg"]], to_b
