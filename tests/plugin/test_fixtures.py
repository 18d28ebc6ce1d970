"""The fixtures: a server, users by name, the bot under test, virtual time; their misuse."""

from __future__ import annotations

import pytest

from tests.plugin.conftest import configure, scenario, write

pytest_plugins = ["pytester"]

ECHO_TEST = """
import time

import trio

from simulator.server import DEFAULT_EPOCH


async def test_alice_talks_to_the_bot(simulator_user, simulator_bot, simulator_server):
    async with simulator_user("alice") as alice:
        msg_id = await alice.send_text(simulator_bot.jid, "hello")
        reply = await alice.wait_for_message(timeout=5)
        assert (reply.from_, reply.text, reply.notify) == (simulator_bot.jid, "hello", "Bot")
        assert (await alice.wait_for_receipt(msg_id, timeout=5)).from_ == simulator_bot.jid
        assert simulator_bot.name == "Bot" and simulator_bot.phone == "491119999999"


async def test_an_hour_passes_in_no_time(simulator_user, simulator_server, autojump_clock):
    wall = time.perf_counter()
    async with simulator_user("alice") as alice, simulator_user("bob") as bob:
        start = trio.current_time()
        assert simulator_server.clock.now() == DEFAULT_EPOCH
        await trio.sleep(3600)
        assert trio.current_time() - start == 3600
        await alice.send_text(simulator_user.jid("bob"), "an hour later")
        message = await bob.wait_for_message(timeout=5)
        assert (message.text, message.t) == ("an hour later", DEFAULT_EPOCH + 3600)
    assert time.perf_counter() - wall < 1
"""


@pytest.fixture
def fixtures_project(project: pytest.Pytester) -> pytest.Pytester:
    """The project, with ``simulator_bot = "mybot:echo"`` and no scenario files."""
    configure(project, 'simulator_bot = "mybot:echo"')
    return project


@pytest.fixture
def botless_project(project: pytest.Pytester) -> pytest.Pytester:
    """The project with no bot and no scenario files configured."""
    configure(project, "")
    return project


def test_users_talk_to_the_bot_and_time_is_virtual(fixtures_project: pytest.Pytester) -> None:
    fixtures_project.makepyfile(test_bot=ECHO_TEST)
    fixtures_project.runpytest().assert_outcomes(passed=2)


def test_a_bot_that_answers_an_hour_later(fixtures_project: pytest.Pytester) -> None:
    fixtures_project.makepyfile(
        test_bot="""
        import time

        import trio

        async def test_late_answer(simulator_user, simulator_bot, autojump_clock):
            wall = time.perf_counter()
            async with simulator_user("alice") as alice:
                await alice.send_text(simulator_bot.jid, "hello")
                reply = await alice.wait_for_message(timeout=2 * 3600)
                assert reply.text == "hello"
                assert trio.current_time() == 3600
            assert time.perf_counter() - wall < 1

        async def test_no_answer_within_the_timeout(simulator_user, simulator_bot, autojump_clock):
            async with simulator_user("alice") as alice:
                await alice.send_text(simulator_bot.jid, "hello")
                with trio.move_on_after(3599):
                    await alice.wait_for_message()
                    raise AssertionError("answered too early")
        """
    )
    fixtures_project.runpytest("--simulator-bot", "mybot:sleepy").assert_outcomes(passed=2)


def test_login_world_config_and_names(botless_project: pytest.Pytester) -> None:
    project = botless_project
    project.makeconftest(
        """
        import pytest

        from simulator.server import ServerConfig
        from simulator.testing import AccountSpec, World

        @pytest.fixture
        def simulator_world():
            return World(accounts=[AccountSpec(phone="4930111", name="Dora"),
                                   AccountSpec(phone="4930222", name="Emil")])

        @pytest.fixture
        def simulator_config():
            return ServerConfig(epoch=1_450_000_000, seed=7)
        """
    )
    project.makepyfile(
        test_users="""
        import pytest

        async def test_login_lasts_the_whole_test(simulator_user, simulator_server):
            assert simulator_server.clock.now() == 1_450_000_000
            dora = await simulator_user.login("DORA")
            emil = await simulator_user.login("4930222@s.whatsapp.net", push_name="E.")
            await dora.send_text(simulator_user.jid("emil"), "hi")
            message = await emil.wait_for_message(timeout=5)
            assert (message.from_, message.notify) == ("4930111@s.whatsapp.net", "Dora")
            await emil.send_text(dora.jid, "hello")
            assert (await dora.wait_for_message(timeout=5)).notify == "E."

        async def test_the_full_byte_wire(simulator_user):
            async with simulator_user("dora", transport="bytes") as dora:
                assert dora.jid == "4930111@s.whatsapp.net"

        async def test_unknown_names(simulator_user):
            with pytest.raises(LookupError, match="no account 'alice' in the simulator's world"
                               r" \\(accounts: dora, emil\\)"):
                simulator_user("alice")
        """
    )
    project.runpytest().assert_outcomes(passed=3)


def test_the_bot_callable_fixture_can_be_overridden(botless_project: pytest.Pytester) -> None:
    project = botless_project
    project.makeconftest(
        """
        import pytest

        @pytest.fixture
        def simulator_bot_account():
            return "carol"

        @pytest.fixture
        def simulator_bot_callable():
            async def polite(client):
                message = await client.wait_for_message()
                await client.send_text(message.from_, "thank you")
            return polite
        """
    )
    project.makepyfile(
        test_polite="""
        async def test_polite(simulator_user, simulator_bot):
            assert simulator_bot.jid == "491110000003@s.whatsapp.net"
            async with simulator_user("bob") as bob:
                await bob.send_text(simulator_bot.jid, "here you are")
                assert (await bob.wait_for_message(timeout=5)).text == "thank you"
        """
    )
    project.runpytest().assert_outcomes(passed=1)


def test_a_crashing_bot_fails_the_test(fixtures_project: pytest.Pytester) -> None:
    fixtures_project.makepyfile(
        test_crash="""
        async def test_crash(simulator_user, simulator_bot, autojump_clock):
            async with simulator_user("alice") as alice:
                await alice.send_text(simulator_bot.jid, "hello")
                await alice.wait_for_message()
        """
    )
    result = fixtures_project.runpytest("--simulator-bot", "mybot:crash")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            '      |   File "*mybot.py", line *, in crash',
            "      | RuntimeError: the bot fell over",
            "FAILED test_crash.py::test_crash - RuntimeError('the bot fell over')*",
        ]
    )


# -------------------------------------------------------------------- misuse


def test_no_bot_to_run_is_a_usage_error(botless_project: pytest.Pytester) -> None:
    project = botless_project
    project.makepyfile(test_bot="async def test_bot(simulator_bot):\n    pass\n")
    result = project.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*_ ERROR at setup of test_bot _*",
            "E   pytest.UsageError: the simulator_bot fixture has no bot to run:"
            ' set simulator_bot = "package.module:run" in the pytest configuration,'
            " pass --simulator-bot, or override the simulator_bot_callable fixture",
        ]
    )
    result = project.runpytest("--simulator-bot-command", "python bot.py")
    result.stdout.fnmatch_lines(
        [
            "E   pytest.UsageError: the simulator_bot fixture runs in-process bots only;"
            " --simulator-bot-command names a program*",
        ]
    )


def test_an_unknown_bot_account_is_a_usage_error(fixtures_project: pytest.Pytester) -> None:
    fixtures_project.makeconftest(
        """
        import pytest

        @pytest.fixture
        def simulator_bot_account():
            return "zed"
        """
    )
    fixtures_project.makepyfile(test_bot="async def test_bot(simulator_bot):\n    pass\n")
    result = fixtures_project.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*_ ERROR at setup of test_bot _*",
            "E   pytest.UsageError: simulator_bot_account: no account 'zed' in the simulator's"
            " world (accounts: alice, bob, carol, bot)",
        ]
    )


NOT_TRIO = """
import pytest

def test_sync(simulator_server):
    pass

async def test_unmarked(simulator_user):
    pass

@pytest.mark.trio
async def test_marked(simulator_server):
    pass

def test_world(simulator_world):
    assert [a.name for a in simulator_world.accounts] == ["Alice", "Bob", "Carol", "Bot"]
"""


def test_trio_fixtures_outside_trio_tests_are_a_usage_error(project: pytest.Pytester) -> None:
    configure(project, "", trio_mode=False)
    project.makepyfile(test_misuse=NOT_TRIO)
    result = project.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.stderr.lines == [
        "ERROR: the simulator's fixtures (simulator_bot, simulator_server, simulator_user) are"
        " trio fixtures; these tests are not trio tests:",
        "  test_misuse.py::test_sync",
        "  test_misuse.py::test_unmarked",
        "make them async and mark them @pytest.mark.trio, or set trio_mode = true in the pytest"
        " configuration",
        "",
    ]
    # Deselected tests do not count; a marked one runs.
    project.runpytest("-k", "marked and not unmarked or world").assert_outcomes(
        passed=2, deselected=2
    )


def test_without_pytest_trio_the_error_says_so(pytester: pytest.Pytester) -> None:
    configure(pytester, "", trio_mode=None)
    pytester.makepyfile(test_misuse="async def test_server(simulator_server):\n    pass\n")
    result = pytester.runpytest("-p", "no:trio")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["install pytest-trio (pip install pytest-trio) and make the tests trio tests"]
    )


def test_fixture_tests_get_the_simulator_marker(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_marked="""
        import pytest

        @pytest.fixture
        async def alice(simulator_user):
            return await simulator_user.login("alice")

        async def test_direct(simulator_server):
            pass

        async def test_through_a_fixture(alice):
            assert alice.jid == "491110000001@s.whatsapp.net"

        def test_unrelated():
            pass
        """
    )
    result = project.runpytest("-v", "-m", "simulator")
    result.assert_outcomes(passed=3, deselected=1)
    result.stdout.fnmatch_lines(
        [
            "scenarios/echo.yaml::the echo bot answers PASSED*",
            "test_marked.py::test_direct PASSED*",
            "test_marked.py::test_through_a_fixture PASSED*",
        ]
    )


# -------------------------------------------------------------------- xdist


@pytest.mark.slow
def test_scenarios_and_fixtures_under_xdist(project: pytest.Pytester) -> None:
    configure(project, 'simulator_scenarios = ["scenarios"]\nsimulator_bot = "mybot:echo"')
    for index in range(4):
        write(project, f"scenarios/echo_{index}.yaml", scenario(f"echo number {index}", bot=None))
    project.makepyfile(test_bot=ECHO_TEST)
    result = project.runpytest_subprocess("-p", "xdist", "-n", "2", "-v")
    result.assert_outcomes(passed=7)
    result.stdout.fnmatch_lines(["created: 2/2 workers"])
    result.stdout.fnmatch_lines(["*PASSED scenarios/echo_3.yaml::echo number 3*"])
    result.stdout.no_fnmatch_line("*Different tests were collected*")


def test_a_server_bug_fails_the_test_loudly_but_the_test_body_ran_on(
    botless_project: pytest.Pytester,
) -> None:
    """Under the fixtures a handler crash answers 500 and the session goes on, and the
    test then fails with the traceback (a server bug must never hide)."""
    project = botless_project
    project.makepyfile(
        test_bug="""
        from simulator.errors import IqError
        from simulator.wire.node import Node

        async def crash(ctx, node):
            raise RuntimeError("boom in a handler")

        async def test_crash(simulator_user, simulator_server):
            simulator_server.router.add("iq", crash, type="get", xmlns="test:crash")
            alice = await simulator_user.login("alice")
            try:
                await alice.iq(Node("iq", {"type": "get", "xmlns": "test:crash"}))
            except IqError as exc:
                assert exc.code == 500
            else:
                raise AssertionError("no error answer")
            await alice.ping(timeout=5)
            print("the body went on")
        """
    )
    result = project.runpytest("-s")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*the body went on*", "*ServerBug*", "*boom in a handler*"])


SCHEDULING_TEST = """
import json
from pathlib import Path

import trio


async def test_order(simulator_server):
    order = []

    async def party(n):
        for round_ in range(12):
            order.append(n)
            await trio.sleep(0)

    async with trio.open_nursery() as nursery:
        for n in range(4):
            nursery.start_soon(party, n)
    Path("order.json").write_text(json.dumps(order))
"""


def test_same_instant_turns_repeat_from_run_to_run(fixtures_project: pytest.Pytester) -> None:
    """The server fixture seeds trio's scheduler (which otherwise flips the order of each
    batch of ready tasks at random, from a fresh seed in every process), so two parties
    ready at one instant take their turns in the same order in every run of a test."""
    fixtures_project.makepyfile(test_order=SCHEDULING_TEST)
    orders = []
    for _ in range(2):  # two processes: trio's RNG starts from a fresh seed in each
        fixtures_project.runpytest_subprocess("-p", "no:randomly").assert_outcomes(passed=1)
        orders.append((fixtures_project.path / "order.json").read_text())
    assert orders[0] == orders[1]
