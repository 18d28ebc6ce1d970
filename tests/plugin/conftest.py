"""A user's project for the plugin tests: a pyproject, a bot module and scenario files.

Every test runs pytest on such a project through ``pytester`` (enabled by the
``pytest_plugins`` line of each test module: pytest refuses it in a non-root conftest).
The inner runs inherit nothing from our own configuration, so the project's pyproject
asks for what ours does: strict markers and config, and every warning an error, but one:
an in-process run finds the ``simulator.egg-info`` of our checkout (the outer run put the
checkout on ``sys.path``), marks ``simulator`` for assertion rewriting and warns that the
outer run imported it already. A user's installed copy has no such twin.
"""

from __future__ import annotations

import textwrap

import pytest

# An in-process pytester run puts ``sys.modules`` back as it found it afterwards, so what
# it imported is imported afresh by the next run. cryptography's Rust core keeps the ARC4
# class of the first import and refuses the second one's, and a module imported afresh
# next to a package that kept the old one as its attribute makes twin classes. Imported
# here, the simulator's modules (and their dependencies) stay loaded across runs: the
# loader and the runner, not just ``simulator.scenario``, which loads its names on use.
import simulator.scenario.loader
import simulator.scenario.runner
import simulator.testing  # noqa: F401

BOTS = '''\
"""The bots under test."""

import trio

from simulator.client import Client
from simulator.client.events import GetMessage


async def echo(client: Client) -> None:
    async for event in client.events():
        if isinstance(event, GetMessage):
            await client.send_text(event.chat, event.body)


async def shout(client: Client) -> None:
    async for event in client.events():
        if isinstance(event, GetMessage):
            await client.send_text(event.chat, event.text.upper())


async def crash(client: Client) -> None:
    await client.wait_for(GetMessage)
    raise RuntimeError("the bot fell over")


async def sleepy(client: Client) -> None:
    """Answers after an hour."""
    async for event in client.events():
        if isinstance(event, GetMessage):
            await trio.sleep(3600)
            await client.send_text(event.chat, event.body)


async def spin(client: Client) -> None:
    """Loops for ever, never awaiting, on the first message."""
    await client.wait_for(GetMessage)
    while True:
        pass
'''

TCP_BOT = '''\
"""A bot run as a program: it fails at once, as a misconfigured one does."""

import sys

print("cannot start: no configuration", flush=True)
sys.exit(2)
'''


def scenario(name: str = "the echo bot answers", *, bot: str | None = "mybot:echo") -> str:
    """A scenario file: Alice says hello to the bot and expects hello back."""
    python = f"\n  python: {bot}" if bot else ""
    return f"""\
name: {name}
world:
  accounts:
    - {{phone: "491110000001", name: Alice}}
    - {{phone: "491119999999", name: Echo}}
bot:
  account: echo{python}
steps:
  - login: alice
  - send: {{from: alice, to: bot, text: hello}}
  - expect: {{to: alice, message: {{from: bot, body: hello}}}}
"""


def configure(
    pytester: pytest.Pytester,
    ini: str = 'simulator_scenarios = ["scenarios"]',
    *,
    trio_mode: bool | None = True,
) -> None:
    """Write the project's pyproject.toml with ``ini`` added to its pytest options.

    ``trio_mode=None`` leaves the option out (for runs without pytest-trio).
    """
    pytester.makepyprojecttoml(
        textwrap.dedent(
            """\
            [tool.pytest.ini_options]
            addopts = ["--strict-markers", "--strict-config"]
            filterwarnings = [
                "error",
                "ignore:Module already imported so cannot be rewritten; simulator",
            ]
            """
        )
        + ("" if trio_mode is None else f"trio_mode = {str(trio_mode).lower()}\n")
        + textwrap.dedent(ini)
        + "\n"
    )


def write(pytester: pytest.Pytester, path: str, text: str) -> None:
    """Write a file of the project (directories made as needed)."""
    target = pytester.path / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, "utf-8")


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A project with ``simulator_scenarios = ["scenarios"]``, mybot.py and one scenario."""
    configure(pytester)
    write(pytester, "mybot.py", BOTS)
    write(pytester, "scenarios/echo.yaml", scenario())
    return pytester
