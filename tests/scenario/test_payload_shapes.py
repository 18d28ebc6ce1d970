"""A scenario step and the client library send the same payload: one shape, built once."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import pytest
import trio

from simulator.client import Client
from simulator.scenario import load_scenario, run_scenario_sync
from tests.scenario.conftest import WriteScenario

ALICE = "491110000001@s.whatsapp.net"


def media_sent_by(transcript: str, party: str) -> list[str]:
    """The payloads (children) of the messages ``party`` sent (tx lines)."""
    pattern = re.compile(rf"^\S+\s+{party}\s+--> tx\s+<message [^>]*>(.*)</message>$")
    return [m.group(1) for line in transcript.split("\n") if (m := pattern.match(line))]


@pytest.mark.parametrize(
    ("step", "send"),
    [
        pytest.param(
            "location: {latitude: 52.520008, longitude: 13.404954, name: Berlin}",
            lambda c: c.send_location(ALICE, 52.520008, 13.404954, name="Berlin"),
            id="location-full-precision",
        ),
        pytest.param(
            "location: {latitude: 52.0, longitude: -0.1, url: 'http://m.example/x'}",
            lambda c: c.send_location(ALICE, 52.0, -0.1, url="http://m.example/x"),
            id="location-whole-degrees",
        ),
        pytest.param(
            'vcard: {name: Bob, card: "BEGIN:VCARD\\nFN:Bob\\nEND:VCARD"}',
            lambda c: c.send_vcard(ALICE, "Bob", "BEGIN:VCARD\nFN:Bob\nEND:VCARD"),
            id="vcard",
        ),
    ],
)
def test_a_send_step_and_the_client_send_the_same_payload(
    write: WriteScenario, step: str, send: Callable[[Client], Awaitable[str]]
) -> None:
    async def bot(client: Client) -> None:
        await send(client)
        await trio.sleep_forever()

    path = write(
        f"""
        - login: alice
        - expect: {{to: alice, message: {{from: bot, type: media}}}}
        - send: {{from: alice, to: bot, {step}}}
        - expect: {{to: bot, message: {{from: alice, type: media}}}}
        """,
        bot="",
        head="bot: {account: echo}\n",
    )
    result = run_scenario_sync(load_scenario(path), bot_override=bot)
    assert result.passed, result.report
    by_bot = media_sent_by(result.transcript_text, "bot")
    by_alice = media_sent_by(result.transcript_text, "alice")
    assert len(by_bot) == len(by_alice) == 1, result.transcript_text
    assert by_alice == by_bot
