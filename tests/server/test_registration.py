"""Registration over HTTP: /v2/code, /v2/register, /v2/exist, every status and reason (§4.8)."""

from __future__ import annotations

import base64
import json

import pytest
import trio
import trio.testing

from simulator.client import (
    CodeRegisterFailed,
    CodeRequestFailed,
    CodeRequestFailedTooManyGuesses,
    CodeRequestFailedTooRecent,
    CodeSent,
    Credentials,
    CredentialsBad,
    LoginFailed,
    check_credentials,
    code_register,
    code_request,
)
from simulator.client import events as ev
from simulator.client.registration import DEFAULT_USER_AGENT
from simulator.server import Server, ServerConfig, open_server
from simulator.server.flows.account import PRICE_VALIDITY
from simulator.wire.node import Node
from tests.server.conftest import ALICE, PASSWORD, OpenUser

CC, NUMBER = "49", "1110000009"
PHONE = CC + NUMBER
JID = f"{PHONE}@s.whatsapp.net"
ALICE_JID = f"{ALICE}@s.whatsapp.net"
DEVICE = "0123456789abcdef0123456789abcdef"  # yowsup 2.0.53: 32-char md5 hex


async def register(server: Server, identity: str | bytes = DEVICE) -> Credentials:
    sent = await code_request(server, CC, NUMBER, identity=identity)
    assert isinstance(sent, CodeSent)
    code = server.http.registrar.code_for(PHONE)
    assert code is not None
    return await code_register(server, CC, NUMBER, code, identity=identity)


# -------------------------------------------------------------------- the happy path


async def test_code_request_sends_a_six_digit_code(server: Server) -> None:
    sent = await code_request(server, CC, NUMBER, identity=DEVICE, method="voice")
    assert isinstance(sent, CodeSent)
    assert dict(sent.answer) == {
        "status": "sent",
        "length": 6,
        "method": "voice",
        "retry_after": 65,
        "sms_wait": 65,
        "voice_wait": 65,
    }
    assert (sent.method, sent.length, sent.retry_after) == ("voice", 6, 65)
    code = server.http.registrar.code_for(PHONE)
    assert code is not None and len(code) == 6 and code.isdigit()


async def test_register_issues_a_password_that_logs_in(server: Server, user: OpenUser) -> None:
    await code_request(server, CC, NUMBER, identity=DEVICE)
    code = server.http.registrar.code_for(PHONE)
    assert code is not None
    creds = await code_register(server, CC, NUMBER, f"{code[:3]}-{code[3:]}", identity=DEVICE)
    now = server.clock.now()
    account = server.state.account(PHONE)
    assert account is not None
    assert dict(creds.answer) == {
        "status": "ok",
        "login": PHONE,
        "pw": account.password_b64,
        "type": "new",
        "expiration": now + 365 * 86_400,
        "kind": "free",
        "price": "EUR€0.99",
        "cost": "0.89",
        "currency": "EUR",
        "price_expiration": now + PRICE_VALIDITY,
    }
    assert len(base64.b64decode(creds.password)) == 20
    assert account.identity == DEVICE
    async with user(PHONE, password=creds.password) as bot:
        assert bot.login is not None and bot.login.status == "active"
    assert server.http.registrar.code_for(PHONE) is None  # a code is good once


async def test_registering_tells_users_who_synced_the_number(
    server: Server, user: OpenUser
) -> None:
    server.state.contacts[ALICE_JID] = [PHONE]
    async with user(ALICE) as alice:
        await register(server)
        added = await alice.wait_for(ev.Event, lambda e: e.node.tag == "notification", timeout=5)
    assert added.node == Node(
        "notification",
        {
            "from": ALICE_JID,
            "type": "contacts",
            "id": added.node.get("id", ""),
            "t": str(server.clock.now()),
        },
        [Node("add", {"jid": JID})],
    )


async def test_re_registration_is_existing_with_a_new_password(
    server: Server, user: OpenUser, autojump_clock: trio.testing.MockClock
) -> None:
    first = await register(server)
    server.state.contacts[ALICE_JID] = [PHONE]
    await trio.sleep(65)  # the next code may go out
    async with user(ALICE) as alice:
        second = await register(server, identity="another-device")
        updated = await alice.wait_for(ev.Event, lambda e: e.node.tag == "notification", timeout=5)
    assert (first.type, second.type) == ("new", "existing")
    assert second.password != first.password
    assert [c.tag for c in updated.node.children] == ["update"]
    with pytest.raises(LoginFailed):
        async with user(PHONE, password=first.password):
            pass
    async with user(PHONE, password=second.password):
        pass


async def test_code_request_with_the_registered_identity_answers_the_credentials(
    server: Server,
) -> None:
    creds = await register(server)
    again = await code_request(server, CC, NUMBER, identity=DEVICE)
    assert isinstance(again, Credentials)
    assert (again.type, again.login, again.password) == ("existing", PHONE, creds.password)
    assert server.http.registrar.code_for(PHONE) is None  # no new code went out


async def test_raw_identity_bytes_survive_the_url_encoding(server: Server) -> None:
    identity = bytes(range(236, 256)) + b"&=%+ "  # yowsup 2.5 / Chat-API: 20 random bytes
    creds = await register(server, identity=identity)
    good = await check_credentials(server, CC, NUMBER, identity=identity)
    assert good.password == creds.password
    with pytest.raises(CredentialsBad):
        await check_credentials(server, CC, NUMBER, identity=identity[:-1])


async def test_registration_over_tcp_with_a_base_url(server: Server, user: OpenUser) -> None:
    host, port = await server.listen_http()
    base = f"http://{host}:{port}"
    sent = await code_request(base, CC, NUMBER, identity=DEVICE)
    assert isinstance(sent, CodeSent)
    code = server.http.registrar.code_for(PHONE)
    assert code is not None
    creds = await code_register(base, CC, NUMBER, code, identity=DEVICE)
    assert (await check_credentials(base, CC, NUMBER, identity=DEVICE)).password == creds.password
    async with user(PHONE, password=creds.password):
        pass


# -------------------------------------------------------------------- /v2/code failures


@pytest.mark.parametrize("param", ["cc", "in", "id", "token"])
async def test_code_request_names_a_missing_parameter(server: Server, param: str) -> None:
    answer = await raw_get(server, "/v2/code", omit=param)
    assert answer == {"status": "fail", "reason": "missing", "param": param}


@pytest.mark.parametrize(
    ("cc", "number", "method", "param"),
    [
        ("4x", NUMBER, "sms", "cc"),
        ("4949", NUMBER, "sms", "cc"),
        (CC, "11-1000", "sms", "in"),
        (CC, "12", "sms", "in"),
        (CC, NUMBER, "telegram", "method"),
    ],
)
async def test_code_request_bad_param(
    server: Server, cc: str, number: str, method: str, param: str
) -> None:
    with pytest.raises(CodeRequestFailed) as info:
        await code_request(server, cc, number, identity=DEVICE, method=method)
    assert type(info.value) is CodeRequestFailed
    assert dict(info.value.answer) == {"status": "fail", "reason": "bad_param", "param": param}
    assert (info.value.reason, info.value.param) == ("bad_param", param)


async def test_code_request_bad_token(server: Server) -> None:
    with pytest.raises(CodeRequestFailed) as info:
        await code_request(server, CC, NUMBER, identity=DEVICE, token="")
    assert dict(info.value.answer) == {"status": "fail", "reason": "bad_token"}


async def test_old_client_builds_are_refused(server: Server) -> None:
    server.http.registrar.min_version = (2, 12, 0)
    old = "WhatsApp/2.11.473 Android/4.3 Device/GalaxyS3"
    with pytest.raises(CodeRequestFailed) as info:
        await code_request(server, CC, NUMBER, identity=DEVICE, user_agent=old)
    assert dict(info.value.answer) == {"status": "fail", "reason": "old_version"}
    sent = await code_request(server, CC, NUMBER, identity=DEVICE, user_agent=DEFAULT_USER_AGENT)
    assert isinstance(sent, CodeSent)
    code = server.http.registrar.code_for(PHONE)
    assert code is not None
    with pytest.raises(CodeRegisterFailed) as refused:
        await code_register(server, CC, NUMBER, code, identity=DEVICE, user_agent=old)
    assert dict(refused.value.answer) == {"status": "fail", "reason": "old_version"}


async def test_blocked_numbers_get_blocked_everywhere(server: Server) -> None:
    await register(server)
    server.http.registrar.blocked.add(PHONE)
    with pytest.raises(CodeRequestFailed) as requested:
        await code_request(server, CC, NUMBER, identity="new-device")
    with pytest.raises(CodeRegisterFailed) as registered:
        await code_register(server, CC, NUMBER, "123456", identity=DEVICE)
    with pytest.raises(CredentialsBad) as checked:
        await check_credentials(server, CC, NUMBER, identity=DEVICE)
    for failure in (requested, registered, checked):
        assert dict(failure.value.answer) == {"status": "fail", "reason": "blocked"}


async def test_no_routes_for_a_country(server: Server) -> None:
    server.http.registrar.no_routes.add("49")
    with pytest.raises(CodeRequestFailed) as info:
        await code_request(server, CC, NUMBER, identity=DEVICE)
    assert dict(info.value.answer) == {"status": "fail", "reason": "no_routes"}
    sent = await code_request(server, "34", "123456789", identity=DEVICE)
    assert isinstance(sent, CodeSent)


async def test_too_recent_counts_down_on_the_server_clock(
    server: Server, autojump_clock: trio.testing.MockClock
) -> None:
    await code_request(server, CC, NUMBER, identity=DEVICE)
    first_code = server.http.registrar.code_for(PHONE)
    with pytest.raises(CodeRequestFailedTooRecent) as info:
        await code_request(server, CC, NUMBER, identity=DEVICE)
    assert dict(info.value.answer) == {"status": "fail", "reason": "too_recent", "retry_after": 65}
    await trio.sleep(20)
    with pytest.raises(CodeRequestFailedTooRecent) as later:
        await code_request(server, CC, NUMBER, identity=DEVICE)
    assert later.value.retry_after == 45
    await trio.sleep(45)
    sent = await code_request(server, CC, NUMBER, identity=DEVICE)
    assert isinstance(sent, CodeSent) and sent.retry_after == 65
    assert server.http.registrar.code_for(PHONE) is not None
    assert server.http.registrar.code_for(PHONE) != first_code


async def test_too_many_codes_in_a_day(
    server: Server, autojump_clock: trio.testing.MockClock
) -> None:
    server.http.registrar.codes_per_day = 3
    for _ in range(3):
        assert isinstance(await code_request(server, CC, NUMBER, identity=DEVICE), CodeSent)
        await trio.sleep(65)
    with pytest.raises(CodeRequestFailed) as info:
        await code_request(server, CC, NUMBER, identity=DEVICE)
    assert dict(info.value.answer) == {"status": "fail", "reason": "too_many"}
    await trio.sleep(24 * 3600)
    assert isinstance(await code_request(server, CC, NUMBER, identity=DEVICE), CodeSent)


async def test_too_many_guesses_locks_the_number(
    server: Server, autojump_clock: trio.testing.MockClock
) -> None:
    await code_request(server, CC, NUMBER, identity=DEVICE)
    code = server.http.registrar.code_for(PHONE)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(4):
        with pytest.raises(CodeRegisterFailed) as mismatch:
            await code_register(server, CC, NUMBER, wrong, identity=DEVICE)
        assert dict(mismatch.value.answer) == {"status": "fail", "reason": "mismatch"}
    with pytest.raises(CodeRegisterFailed) as locked:
        await code_register(server, CC, NUMBER, wrong, identity=DEVICE)
    assert dict(locked.value.answer) == {
        "status": "fail",
        "reason": "too_many_guesses",
        "retry_after": 3600,
    }
    await trio.sleep(600)
    with pytest.raises(CodeRegisterFailed) as still:
        await code_register(server, CC, NUMBER, str(code), identity=DEVICE)
    assert (still.value.reason, still.value.retry_after) == ("too_many_guesses", 3000)
    with pytest.raises(CodeRequestFailedTooManyGuesses) as requested:
        await code_request(server, CC, NUMBER, identity=DEVICE)
    assert dict(requested.value.answer) == {
        "status": "fail",
        "reason": "too_many_guesses",
        "retry_after": 3000,
    }
    await trio.sleep(3000)
    assert isinstance(await register(server), Credentials)


# -------------------------------------------------------------------- /v2/register failures


async def test_register_without_a_code_request_is_missing(server: Server) -> None:
    with pytest.raises(CodeRegisterFailed) as info:
        await code_register(server, CC, NUMBER, "123456", identity=DEVICE)
    assert dict(info.value.answer) == {"status": "fail", "reason": "missing"}
    assert (info.value.status, info.value.param) == ("fail", None)


async def test_register_names_a_missing_parameter(server: Server) -> None:
    answer = await raw_get(server, "/v2/register", omit="code")
    assert answer == {"status": "fail", "reason": "missing", "param": "code"}


async def test_register_with_another_identity_is_a_mismatch(server: Server) -> None:
    await code_request(server, CC, NUMBER, identity=DEVICE)
    code = server.http.registrar.code_for(PHONE)
    assert code is not None
    with pytest.raises(CodeRegisterFailed) as info:
        await code_register(server, CC, NUMBER, code, identity="someone-else")
    assert dict(info.value.answer) == {"status": "fail", "reason": "mismatch"}
    assert isinstance(await code_register(server, CC, NUMBER, code, identity=DEVICE), Credentials)


async def test_an_old_code_is_stale(server: Server, autojump_clock: trio.testing.MockClock) -> None:
    await code_request(server, CC, NUMBER, identity=DEVICE)
    code = server.http.registrar.code_for(PHONE)
    assert code is not None
    await trio.sleep(server.http.registrar.code_lifetime)
    with pytest.raises(CodeRegisterFailed) as info:
        await code_register(server, CC, NUMBER, code, identity=DEVICE)
    assert dict(info.value.answer) == {"status": "fail", "reason": "stale"}
    with pytest.raises(CodeRegisterFailed) as again:
        await code_register(server, CC, NUMBER, code, identity=DEVICE)
    assert again.value.reason == "missing"  # a stale code is gone


# -------------------------------------------------------------------- /v2/exist


async def test_exist_answers_the_current_credentials(server: Server) -> None:
    creds = await register(server)
    good = await check_credentials(server, CC, NUMBER, identity=DEVICE)
    assert dict(good.answer) == {**creds.answer, "type": "existing"}


async def test_exist_with_a_wrong_identity_or_unknown_number_is_incorrect(server: Server) -> None:
    await register(server)
    for cc, number, identity in ((CC, NUMBER, "other"), ("34", "600000000", DEVICE)):
        with pytest.raises(CredentialsBad) as info:
            await check_credentials(server, cc, number, identity=identity)
        assert dict(info.value.answer) == {"status": "fail", "reason": "incorrect"}


async def test_exist_names_a_missing_parameter(server: Server) -> None:
    assert await raw_get(server, "/v2/exist", omit="id") == {
        "status": "fail",
        "reason": "missing",
        "param": "id",
    }


async def test_preset_accounts_have_no_identity_until_registered(server: Server) -> None:
    # World accounts were never registered over HTTP: no identity matches them.
    with pytest.raises(CredentialsBad):
        await check_credentials(server, "49", ALICE[2:], identity="")
    account = server.state.account(ALICE)
    assert account is not None and account.password_b64 == PASSWORD


# -------------------------------------------------------------------- helpers


async def raw_get(server: Server, path: str, *, omit: str) -> object:
    """GET ``path`` with every parameter of ``/v2/code`` and ``/v2/register`` but ``omit``."""
    params = {"cc": CC, "in": NUMBER, "id": DEVICE, "token": "t", "code": "123456"}
    del params[omit]
    query = "&".join(f"{k}={v}" for k, v in params.items())
    stream = await server.connect_http()
    await stream.send_all(f"GET {path}?{query} HTTP/1.1\r\nHost: v.whatsapp.net\r\n\r\n".encode())
    data = b""
    while chunk := await stream.receive_some():
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    return json.loads(body)


async def test_codes_and_passwords_come_from_the_seeded_id_source() -> None:
    issued: list[tuple[str | None, str]] = []
    for seed in (7, 7, 8):
        async with open_server(config=ServerConfig(seed=seed)) as fresh:
            await code_request(fresh, CC, NUMBER, identity=DEVICE)
            code = fresh.http.registrar.code_for(PHONE)
            creds = await code_register(fresh, CC, NUMBER, str(code), identity=DEVICE)
            issued.append((code, creds.password))
    assert issued[0] == issued[1]
    assert issued[0] != issued[2]
