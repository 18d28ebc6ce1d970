"""Login security: throttled wrong passwords, unknown numbers that look known, and
secrets (nonces, codes, passwords) nobody can predict from what they see (§2, §4.8).

Time comes from trio's MockClock (``autojump_clock``): a lock of minutes passes at once.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import pytest
import trio

from simulator.cli import build_parser, main
from simulator.cli.serve import server_config
from simulator.client import LoginFailed, open_client
from simulator.server import Server, ServerConfig, open_server
from simulator.server.clock import IdSource, SecretSource
from simulator.server.flows.account import code_request
from simulator.server.throttle import LOCKED_REASON, LoginThrottle, LoginThrottler
from simulator.transport import MemoryConnector
from simulator.transport.link import Link
from simulator.wire.events import (
    Challenged,
    ConnectionClosed,
    Event,
    Login,
    LoginSucceeded,
    Response,
)
from simulator.wire.events import (
    LoginFailed as WireLoginFailed,
)
from tests.server.conftest import ALICE, PASSWORD

WRONG = "AAAAAAAAAAAAAAAAAAAAAAAAAAA="
UNKNOWN = "490000000000"
POLICY = LoginThrottle(max_failures=3, window=60, base_delay=10, max_delay=40)


@pytest.fixture(params=["nodes", "bytes"])
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def throttled() -> AsyncIterator[Server]:
    config = ServerConfig(login_throttle=POLICY)
    async with open_server(accounts=[(ALICE, PASSWORD, "Alice")], config=config) as server:
        yield server


async def login(server: Server, transport: str, phone: str, password: str) -> str:
    """``ok``, or the reason of the failure."""
    connector = MemoryConnector(server, mode=transport)  # type: ignore[arg-type]
    try:
        async with open_client(connector, phone, password):
            return "ok"
    except LoginFailed as exc:
        return exc.reason


async def raw_login(link: Link, phone: str, password: str) -> list[Event]:
    """Every handshake event the client side sees, answering the challenge if one comes."""
    await link.send(
        Login(
            user=phone,
            password=base64.b64decode(password),
            resource="S40-2.16.12",
            timestamp=1_420_070_400,
        )
    )
    seen: list[Event] = []
    while True:
        event = await link.receive()
        seen.append(event)
        if isinstance(event, Challenged):
            await link.send(Response())
        if isinstance(event, (WireLoginFailed, LoginSucceeded, ConnectionClosed)):
            await link.aclose()
            return seen


# -------------------------------------------------------------------- enumeration


@pytest.mark.parametrize("wire", ["nodes", "bytes"])
async def test_an_unknown_number_looks_like_a_known_one_with_a_wrong_password(wire: str) -> None:
    async with open_server(accounts=[(ALICE, PASSWORD)]) as server:
        connect = server.connect_nodes if wire == "nodes" else server.connect_bytes
        known = await raw_login(await connect(), ALICE, WRONG)
        unknown = await raw_login(await connect(), UNKNOWN, WRONG)
    assert [type(e) for e in known] == [type(e) for e in unknown]
    challenges = [e for e in (*known, *unknown) if isinstance(e, Challenged)]
    assert len(challenges) == 2 and all(len(c.nonce) == 20 for c in challenges)
    assert challenges[0].nonce != challenges[1].nonce
    for events in (known, unknown):
        failure = events[-1]
        assert isinstance(failure, WireLoginFailed) and failure.reason == "not-authorized"


async def test_an_unknown_number_is_refused_after_its_response(transport: str) -> None:
    async with open_server(accounts=[(ALICE, PASSWORD)]) as server:
        assert await login(server, transport, UNKNOWN, PASSWORD) == "not-authorized"
        assert await login(server, transport, ALICE, PASSWORD) == "ok"


# -------------------------------------------------------------------- throttling


async def test_wrong_passwords_lock_the_number_then_the_lock_passes(
    throttled: Server, transport: str, autojump_clock: trio.testing.MockClock
) -> None:
    reasons = [await login(throttled, transport, ALICE, WRONG) for _ in range(POLICY.max_failures)]
    assert reasons == ["not-authorized"] * POLICY.max_failures
    # Locked: even the right password is refused, unchecked, and says why.
    assert await login(throttled, transport, ALICE, PASSWORD) == LOCKED_REASON
    assert await login(throttled, transport, ALICE, WRONG) == LOCKED_REASON
    await trio.sleep(POLICY.base_delay)
    assert await login(throttled, transport, ALICE, PASSWORD) == "ok"
    # A success forgets the failures: the next wrong password is just a wrong password.
    assert await login(throttled, transport, ALICE, WRONG) == "not-authorized"
    assert await login(throttled, transport, ALICE, PASSWORD) == "ok"


async def test_a_fast_relogin_is_locked_too(
    throttled: Server, transport: str, autojump_clock: trio.testing.MockClock
) -> None:
    """The stored-nonce blob is a password check like any other: locked means refused."""
    connector = MemoryConnector(throttled, mode=transport)  # type: ignore[arg-type]
    async with open_client(connector, ALICE, PASSWORD) as alice:
        nonce = alice.next_nonce
    for _ in range(POLICY.max_failures):
        await login(throttled, transport, ALICE, WRONG)
    with pytest.raises(LoginFailed) as refused:
        async with open_client(connector, ALICE, PASSWORD, stored_nonce=nonce):
            pass  # pragma: no cover - never reached
    assert refused.value.reason == LOCKED_REASON
    await trio.sleep(POLICY.base_delay)
    async with open_client(connector, ALICE, PASSWORD, stored_nonce=nonce) as again:
        await again.ping(timeout=5)


async def test_each_further_failure_doubles_the_lock(
    throttled: Server, transport: str, autojump_clock: trio.testing.MockClock
) -> None:
    for _ in range(POLICY.max_failures):
        await login(throttled, transport, ALICE, WRONG)
    await trio.sleep(POLICY.base_delay)
    assert await login(throttled, transport, ALICE, WRONG) == "not-authorized"  # 4th: 20 s
    await trio.sleep(POLICY.base_delay * 2 - 1)
    assert await login(throttled, transport, ALICE, PASSWORD) == LOCKED_REASON
    await trio.sleep(1)
    assert await login(throttled, transport, ALICE, PASSWORD) == "ok"


async def test_an_unknown_number_is_throttled_exactly_like_a_known_one(
    throttled: Server, transport: str, autojump_clock: trio.testing.MockClock
) -> None:
    async def sequence(phone: str) -> list[str]:
        out = [await login(throttled, transport, phone, WRONG) for _ in range(4)]
        await trio.sleep(POLICY.max_delay + POLICY.window)
        return out

    assert await sequence(ALICE) == await sequence(UNKNOWN)


async def test_writing_the_number_another_way_shares_its_lock(
    throttled: Server, autojump_clock: trio.testing.MockClock
) -> None:
    for form in (ALICE, f"{ALICE}@s.whatsapp.net", ALICE):
        wrong = (await raw_login(await throttled.connect_nodes(), form, WRONG))[-1]
        assert isinstance(wrong, WireLoginFailed) and wrong.reason == "not-authorized"
    events = await raw_login(await throttled.connect_nodes(), f"{ALICE}@s.whatsapp.net", PASSWORD)
    failure = events[-1]
    assert isinstance(failure, WireLoginFailed) and failure.reason == LOCKED_REASON


async def test_one_number_locked_leaves_the_others_alone(
    transport: str, autojump_clock: trio.testing.MockClock
) -> None:
    config = ServerConfig(login_throttle=POLICY)
    accounts = [(ALICE, PASSWORD), ("491110000002", PASSWORD)]
    async with open_server(accounts=accounts, config=config) as server:
        for _ in range(POLICY.max_failures + 1):
            await login(server, transport, ALICE, WRONG)
        assert await login(server, transport, "491110000002", PASSWORD) == "ok"


async def test_without_a_throttle_wrong_passwords_are_never_locked(transport: str) -> None:
    """Scenarios and tests: off unless asked (``ServerConfig.login_throttle`` is None)."""
    assert ServerConfig().login_throttle is None
    async with open_server(accounts=[(ALICE, PASSWORD)]) as server:
        for _ in range(20):
            assert await login(server, transport, ALICE, WRONG) == "not-authorized"
        assert await login(server, transport, ALICE, PASSWORD) == "ok"


def test_the_throttle_table_stays_bounded() -> None:
    throttle = LoginThrottler(POLICY)
    for i in range(5000):
        throttle.failed(f"49{i:010d}", float(i))  # one failure each, a second apart
    assert len(throttle) < 2 * 1024 + 100  # old numbers left the window and were pruned
    throttle.prune(10_000.0)
    assert len(throttle) == 0


def test_a_nonsense_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="max_failures"):
        LoginThrottle(max_failures=0)
    with pytest.raises(ValueError, match="max_delay"):
        LoginThrottle(base_delay=10, max_delay=1)


# -------------------------------------------------------------------- serve's knobs


def serve_args(*argv: str) -> ServerConfig:
    return server_config(build_parser().parse_args(["serve", *argv]))


def test_serve_throttles_and_is_unpredictable_by_default() -> None:
    config = serve_args()
    assert config.seed is None
    assert config.login_throttle == LoginThrottle()
    assert config.epoch is None


def test_serve_knobs_tune_or_disable_the_throttle_and_fix_the_seed() -> None:
    config = serve_args("--login-failures", "7", "--login-window", "30", "--seed", "5")
    assert config.login_throttle == LoginThrottle(max_failures=7, window=30)
    assert config.seed == 5
    assert serve_args("--login-failures", "0").login_throttle is None


# -------------------------------------------------------------------- secrets


async def first_secrets(config: ServerConfig) -> tuple[bytes, str, str]:
    """The first challenge nonce, the first SMS code and the first stanza id of a server."""
    async with open_server(accounts=[(ALICE, PASSWORD)], config=config) as server:
        challenged = await raw_login(await server.connect_nodes(), ALICE, WRONG)
        nonce = next(e.nonce for e in challenged if isinstance(e, Challenged))
        params = {"cc": "49", "in": "1110000009", "id": "x" * 20, "token": "t", "method": "sms"}
        code_request(server, params, "WhatsApp/2.12.81 S40Version/14.26 Device/Nokia302")
        code = server.http.registrar.code_for("491110000009")
        assert code is not None and len(code) == 6 and code.isdigit()
        return nonce, code, server.ids.stanza_id()


async def test_unseeded_servers_draw_different_nonces_codes_and_ids() -> None:
    first = await first_secrets(ServerConfig(seed=None))
    second = await first_secrets(ServerConfig(seed=None))
    assert first[0] != second[0]
    assert first[2] != second[2]
    # Codes are six digits: tell two servers apart by a few draws, not by one.
    codes = {(await first_secrets(ServerConfig(seed=None)))[1] for _ in range(4)}
    assert len(codes) > 1


async def test_a_seed_makes_every_secret_and_id_repeatable() -> None:
    assert await first_secrets(ServerConfig(seed=7)) == await first_secrets(ServerConfig(seed=7))
    assert await first_secrets(ServerConfig(seed=7)) != await first_secrets(ServerConfig(seed=8))


def test_nonces_tell_nothing_about_codes_or_ids() -> None:
    """Structural: nonces, codes, passwords and ids come from independent streams, so
    drawing (seeing) any number of nonces leaves the next code and the next id as they
    were; and no stream is the seeded id generator."""
    quiet, busy = SecretSource(3), SecretSource(3)
    for _ in range(1000):
        busy.nonce()
    assert busy.digits(6) == quiet.digits(6)
    assert busy.password() == quiet.password()
    ids_quiet, ids_busy = IdSource(3), IdSource(3)
    secrets = SecretSource(3)
    for _ in range(1000):
        secrets.nonce()
        secrets.digits(6)
    assert [ids_busy.stanza_id() for _ in range(5)] == [ids_quiet.stanza_id() for _ in range(5)]
    # Seeded streams are HMAC outputs: the id generator's Mersenne Twister state (which a
    # peer can rebuild from enough ids) is not where they come from.
    import random

    twister = random.Random(3)
    assert SecretSource(3).nonce() not in {twister.randbytes(20) for _ in range(100)}


def test_unseeded_secrets_come_from_the_system() -> None:
    assert not SecretSource(None).seeded
    assert SecretSource(None).nonce() != SecretSource(None).nonce()
    assert len(SecretSource(None).token()) == 32


@pytest.mark.parametrize("argv", [["--login-failures", "-1"], ["--login-window", "0"]])
def test_a_bad_throttle_knob_is_one_sentence_and_exit_1(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", *argv]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: --login-failures must be 0 or more") and err.count("\n") == 1
