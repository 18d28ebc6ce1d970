"""A bot reads the service's time with ``client.now()``: virtual in scenarios, real
against a server on the real clock."""

from __future__ import annotations

import time

import pytest

from simulator.client import ClientError, open_client
from simulator.scenario import run_file
from simulator.server import ServerConfig, open_server
from simulator.transport import MemoryConnector
from simulator.world import World, build_state
from tests.scenario.conftest import WriteScenario


def test_a_bot_reads_virtual_time_in_a_scenario(write: WriteScenario) -> None:
    steps = """
    - login: alice
    - send: {from: alice, to: bot, text: time}
    - expect: {to: alice, message: {from: bot, body: "2016-03-01T09:00:00+00:00"}}
    - wait: 26h30m
    - send: {from: alice, to: bot, text: time}
    - expect: {to: alice, message: {from: bot, body: "2016-03-02T11:30:00+00:00"}}
    """
    path = write(
        steps, bot="tests.scenario.bots.clock:run", head="options: {start: 2016-03-01T09:00:00Z}\n"
    )
    result = run_file(path)
    assert result.passed, result.report


WORLD = World.model_validate({"accounts": [{"phone": "491110000001", "name": "Alice"}]})


@pytest.mark.real_clock
async def test_against_a_real_clock_the_time_is_the_real_time() -> None:
    before = time.time()
    async with (
        open_server(state=build_state(WORLD), config=ServerConfig(epoch=None)) as server,
        open_client(
            MemoryConnector(server), "491110000001", WORLD.accounts[0].effective_password
        ) as client,
    ):
        now = client.time()
    after = time.time()
    assert int(before) - 1 <= now <= after + 1  # login.t is whole seconds


async def test_the_time_needs_a_login() -> None:
    from simulator.client.core import ClientCore

    core = ClientCore.__new__(ClientCore)
    core.login = None
    with pytest.raises(ClientError, match="has not logged in"):
        core.time()
