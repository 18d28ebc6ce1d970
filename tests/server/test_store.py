"""The state file (``simulator.server.store``): everything a user made survives a restart
from the file, old files are migrated, unusable files are refused with one sentence."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest

from simulator.client import Client, CodeSent, code_register, code_request, open_client
from simulator.client import events as ev
from simulator.client._api_encrypt import PreKey, SignedPreKey
from simulator.server import Server, open_server
from simulator.server.clock import IdSource, SecretSource
from simulator.server.store import SCHEMA_VERSION, Store, StoreError, snapshot
from simulator.transport import MemoryConnector
from tests.server.conftest import ALICE, BOB, CAROL, PASSWORD

ALICE_JID = f"{ALICE}@s.whatsapp.net"
BOB_JID = f"{BOB}@s.whatsapp.net"
CAROL_JID = f"{CAROL}@s.whatsapp.net"
ACCOUNTS = [(ALICE, PASSWORD, "Alice"), (BOB, PASSWORD, "Bob"), (CAROL, PASSWORD, "Carol")]
IMAGE = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
DEVICE = "0123456789abcdef0123456789abcdef"
SIGNED = SignedPreKey(0x000102, bytes(range(100, 132)), bytes(range(64, 128)))


@asynccontextmanager
async def served(path: Path, *, first: bool = False) -> AsyncIterator[Server]:
    """A server on the state file ``path`` (the accounts registered on the first run)."""
    store = Store.open(path)
    try:
        async with open_server(store=store, accounts=ACCOUNTS if first else ()) as server:
            server.http.advertise("https://mmg.whatsapp.net")  # media over the server itself
            yield server
    finally:
        store.close()


def user(server: Server, phone: str) -> AbstractAsyncContextManager[Client]:
    return open_client(MemoryConnector(server, mode="bytes"), phone, PASSWORD)


async def test_every_kind_of_state_survives_a_restart_from_the_file(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    async with served(path, first=True) as server:
        async with user(server, ALICE) as alice, user(server, CAROL) as carol:
            await alice.sync_contacts(["+" + BOB, "+" + CAROL])
            gjid = await alice.create_group("Release team", [BOB_JID, CAROL_JID])
            await alice.promote(gjid, [CAROL_JID])
            await alice.send_broadcast([BOB_JID, CAROL_JID], "to everyone")
            await alice.set_privacy_settings(last="contacts", status="none")
            await alice.set_blocked(["491119999999@s.whatsapp.net"])
            picture_id = await alice.set_profile_picture(IMAGE, IMAGE[:64])
            await alice.set_status("on call")
            await alice.upload_keys(
                bytes(range(32)), 0x3039, SIGNED, [PreKey(i, bytes([i]) * 32) for i in (1, 2)]
            )
            sent = await alice.upload_media(BOB_JID, IMAGE, "image", via=server)
            await alice.send_text(BOB_JID, "while you were away")
            await carol.wait_for(ev.GetMessage, timeout=5)  # the broadcast, acked by Carol
        before = snapshot(server.state)
        ids_before = {server.ids.stanza_id() for _ in range(50)}
        server.persist()
        counter_before = server.ids.counter()
        nonce_before = server.state.accounts[ALICE_JID].next_nonce

    async with served(path) as server:
        assert snapshot(server.state) == before  # every kept entity, exactly
        assert server.state.accounts[ALICE_JID].next_nonce == nonce_before
        assert server.ids.counter() > counter_before  # counters go on from the file
        assert not ids_before & {server.ids.stanza_id() for _ in range(50)}
        async with user(server, BOB) as bob:
            # undelivered stanzas come in their order: the group news, the broadcast, the
            # media message, the text
            media = await bob.wait_for(ev.GetImage, timeout=5)
            text = await bob.wait_for(ev.GetMessage, lambda e: e.text != "to everyone", timeout=5)
            assert text.text == "while you were away"
            assert await bob.download_media(media.url or "", via=server) == IMAGE
            assert media.id == sent.id
            groups = await bob.get_groups()
            assert [(g.jid, g.subject) for g in groups] == [(gjid, "Release team")]
            info = await bob.group_info(gjid)
            assert set(info.admins) == {ALICE_JID, CAROL_JID}
            pictures = await bob.get_profile_picture(ALICE_JID, large=True)
            assert pictures is not None and (pictures.id, pictures.data) == (picture_id, IMAGE)
            bundles = await bob.get_key_bundles(ALICE_JID)
            bundle = bundles[ALICE_JID]
            assert (bundle.identity, bundle.signed_prekey) == (bytes(range(32)), SIGNED)
            assert bundle.prekey == PreKey(1, b"\x01" * 32)
        async with user(server, ALICE) as alice:
            assert await alice.get_privacy_settings() == {
                "last": "contacts",
                "status": "none",
                "profile": "all",
            }
            assert await alice.get_blocked() == ["491119999999@s.whatsapp.net"]
            lists = await alice.get_broadcast_lists()
            assert [sorted(bl.recipients) for bl in lists] == [[BOB_JID, CAROL_JID]]
            statuses = await alice.get_statuses([ALICE_JID])
            assert statuses[ALICE_JID].text == "on call"
        # what Bob acknowledged is gone for good, on disk too
        assert len(server.state.mailbox(BOB_JID)) == 0
    async with served(path) as server:
        assert len(server.state.mailbox(BOB_JID)) == 0
        assert server.state.key_fetches  # Bob's fetch counts after a restart too


def test_seeded_ids_and_secrets_differ_from_run_to_run_of_one_file() -> None:
    first, second = IdSource(7), IdSource(7, run=1, counter=41)
    assert first.stanza_id() != second.stanza_id()
    assert second.counter() == 42
    assert SecretSource(7).nonce() != SecretSource(7, run=1).nonce()
    assert SecretSource(7, run=1).nonce() == SecretSource(7, run=1).nonce()


def test_a_version_0_file_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("CREATE TABLE state(kind TEXT, key TEXT, value TEXT, PRIMARY KEY (kind, key))")
    db.execute("INSERT INTO meta VALUES ('schema', '0')")
    db.execute("INSERT INTO state VALUES ('contacts', ?, ?)", (ALICE_JID, '["491110000002"]'))
    db.commit()
    db.close()
    store = Store.open(path)
    try:
        assert store.state.contacts == {ALICE_JID: ["491110000002"]}
        assert store.opened == 1
    finally:
        store.close()
    db = sqlite3.connect(path)
    assert db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == (
        str(SCHEMA_VERSION),
    )
    db.close()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"this is not a database, just text" * 200, "is not a simulator state file"),
        (b"", None),  # an empty file is a new state file
    ],
)
def test_a_file_that_is_not_a_state_file_is_one_sentence(
    tmp_path: Path, content: bytes, expected: str | None
) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(content)
    if expected is None:
        Store.open(path).close()
        return
    with pytest.raises(StoreError) as caught:
        Store.open(path)
    assert expected in str(caught.value) and "\n" not in str(caught.value)


def test_a_newer_schema_and_a_foreign_database_are_refused(tmp_path: Path) -> None:
    newer = tmp_path / "newer.db"
    Store.open(newer).close()
    db = sqlite3.connect(newer)
    db.execute("UPDATE meta SET value = '99' WHERE key = 'schema'")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="schema version 99, newer than"):
        Store.open(newer)
    foreign = tmp_path / "foreign.db"
    db = sqlite3.connect(foreign)
    db.execute("CREATE TABLE songs(title TEXT)")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="damaged: it has no meta table"):
        Store.open(foreign)


def test_a_file_in_use_by_another_server_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = Store.open(path)
    try:
        with pytest.raises(StoreError, match="in use by another server"):
            Store.open(path)
    finally:
        store.close()
    Store.open(path).close()  # free again once the first one closed


async def test_a_registered_account_and_a_pending_code_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    async with served(path, first=True) as server:
        sent = await code_request(server, "49", "1110000009", identity=DEVICE)
        assert isinstance(sent, CodeSent)
        code = server.http.registrar.code_for("491110000009")
        assert code is not None
        await code_request(server, "49", "1110000008", identity=DEVICE)
        waiting = server.http.registrar.code_for("491110000008")
    async with served(path) as server:
        # the code sent before the restart is still the one that registers
        creds = await code_register(server, "49", "1110000009", code, identity=DEVICE)
        assert server.http.registrar.code_for("491110000008") == waiting
        async with open_client(
            MemoryConnector(server, mode="bytes"), "491110000009", creds.password
        ) as new:
            nonce = new.next_nonce
    async with served(path) as server:
        # the issued password and the nonce for a fast re-login are in the file
        assert server.state.accounts["491110000009@s.whatsapp.net"].next_nonce == nonce
        async with open_client(
            MemoryConnector(server, mode="bytes"), "491110000009", creds.password
        ) as again:
            assert again.login is not None
