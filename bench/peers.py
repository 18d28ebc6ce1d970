"""The peers the simulator is compared with, where they are installed.

* dpytest (``pip install dpytest discord.py``): discord.py's test library; a bot that
  echoes every message back, driven by ``dpytest.message`` (no acks, no receipts).
* Prosody (``apt-get install prosody``) with slixmpp clients (``pip install slixmpp``):
  a real XMPP server on a loopback port with a throwaway configuration and data folder;
  one user sends to an echo bot (plain ``<message>`` stanzas, no receipts), sequentially
  and with ``WINDOW`` messages in flight.

Nothing is installed here: :func:`missing_dpytest` and :func:`missing_prosody` say exactly
what is not there, and the runner prints that instead of a figure.
"""

from __future__ import annotations

import asyncio
import importlib.util
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

WINDOW = 64
DOMAIN = "localhost"
PASSWORD = "bench-secret"
INSTALL = "see bench/README.md: pip install -e '.[bench]' in .venv-bench"


def _missing_modules(*names: str) -> str | None:
    absent = [name for name in names if importlib.util.find_spec(name) is None]
    if absent:
        return f"Python module {', '.join(absent)} not found ({INSTALL})"
    return None


def missing_dpytest() -> str | None:
    """Why the dpytest echo cannot run here, or None."""
    try:
        return _missing_modules("discord", "discord.ext.test")
    except ModuleNotFoundError as exc:  # find_spec imports the parent package
        return f"Python module {exc.name} not found ({INSTALL})"


def missing_prosody() -> str | None:
    """Why the Prosody echo cannot run here, or None."""
    for program in ("prosody", "prosodyctl"):
        if shutil.which(program) is None:
            return f"program {program} not on PATH (apt-get install prosody)"
    return _missing_modules("slixmpp")


# ------------------------------------------------------------------ dpytest


def dpytest_echo(rounds: int) -> float:
    """Echo round trips per second through dpytest's fake Discord backend."""
    import discord
    import discord.ext.test as dpytest

    async def main() -> float:
        intents = discord.Intents.default()
        intents.members = True
        intents.message_content = True
        bot = discord.Client(intents=intents)

        async def on_message(message: discord.Message) -> None:
            if message.author != bot.user:
                await message.channel.send(message.content)

        bot.event(on_message)

        await bot._async_setup_hook()
        dpytest.configure(bot)
        for _ in range(10):  # warm-up
            await dpytest.message("warm-up")
            dpytest.get_message()
        start = time.perf_counter()
        for _ in range(rounds):
            await dpytest.message("x" * 64)
            echoed = dpytest.get_message()
        elapsed = time.perf_counter() - start
        if echoed.content != "x" * 64:
            raise RuntimeError(f"the dpytest bot echoed {echoed.content!r}")
        await dpytest.empty_queue()
        return rounds / elapsed

    return asyncio.run(main())


# ------------------------------------------------------------------ Prosody


def _free_port() -> int:
    """A loopback port the OS picks (closed again: Prosody binds it right after)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _config(folder: Path, port: int) -> str:
    return f"""
pidfile = "{folder}/prosody.pid"
data_path = "{folder}/data"
certificates = "{folder}/certs"
log = {{ error = "{folder}/prosody.log" }}
interfaces = {{ "127.0.0.1" }}
c2s_interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {port} }}
s2s_ports = {{ }}
http_ports = {{ }}
https_ports = {{ }}
modules_enabled = {{ "roster", "saslauth", "disco", "ping" }}
modules_disabled = {{ "s2s", "http", "offline", "posix" }}
c2s_require_encryption = false
authentication = "internal_hashed"
storage = "internal"
run_as_root = true
VirtualHost "{DOMAIN}"
"""


@contextmanager
def prosody(users: tuple[str, ...] = ("user", "echo")) -> Iterator[int]:
    """Run Prosody on a loopback port with a throwaway config; yields the port."""
    with tempfile.TemporaryDirectory(prefix="bench-prosody-") as tmp:
        folder = Path(tmp)
        (folder / "data").mkdir()
        (folder / "certs").mkdir()
        port = _free_port()
        config = folder / "prosody.cfg.lua"
        config.write_text(_config(folder, port))
        for user in users:
            subprocess.run(
                ["prosodyctl", "--config", str(config), "register", user, DOMAIN, PASSWORD],
                check=True,
                capture_output=True,
            )
        process = subprocess.Popen(
            ["prosody", "--config", str(config), "-F"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        log = (folder / "prosody.log").read_text(errors="replace")[-500:]
                        raise RuntimeError(f"Prosody did not start: {log}") from None
                    time.sleep(0.05)
            yield port
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def slixmpp_echo(port: int, rounds: int) -> dict[str, float]:
    """Echo round trips per second through Prosody: sequential and pipelined."""
    import slixmpp

    def client(user: str) -> Any:
        # Prosody offers SCRAM without TLS on this loopback-only port (no certificates).
        plugins = {"feature_mechanisms": {"unencrypted_scram": True}}
        xmpp = slixmpp.ClientXMPP(f"{user}@{DOMAIN}/bench", PASSWORD, plugin_config=plugins)
        xmpp.enable_direct_tls = False
        xmpp.enable_starttls = False
        xmpp.enable_plaintext = True
        return xmpp

    async def main() -> dict[str, float]:
        echo, user = client("echo"), client("user")
        replies: asyncio.Queue[str] = asyncio.Queue()

        def on_echo_message(msg: Any) -> None:
            if msg["type"] in ("chat", "normal"):
                msg.reply(msg["body"]).send()

        def on_user_message(msg: Any) -> None:
            replies.put_nowait(msg["body"])

        echo.add_event_handler("message", on_echo_message)
        user.add_event_handler("message", on_user_message)
        for xmpp in (echo, user):
            started: asyncio.Future[str] = asyncio.get_running_loop().create_future()

            def settle(_event: Any, outcome: str, future: asyncio.Future[str] = started) -> None:
                if not future.done():
                    future.set_result(outcome)

            xmpp.add_event_handler("session_start", lambda e, s=settle: s(e, "ok"))
            xmpp.add_event_handler("failed_all_auth", lambda e, s=settle: s(e, "refused"))
            xmpp.add_event_handler("disconnected", lambda e, s=settle: s(e, "disconnected"))
            xmpp.connect("127.0.0.1", port)
            outcome = await asyncio.wait_for(started, 20)
            if outcome != "ok":
                raise RuntimeError(f"slixmpp could not log in to Prosody: {outcome}")
            xmpp.send_presence()
        target = f"echo@{DOMAIN}/bench"
        payload = "x" * 64

        async def sequential(count: int) -> float:
            start = time.perf_counter()
            for _ in range(count):
                user.send_message(mto=target, mbody=payload, mtype="chat")
                await replies.get()
            return count / (time.perf_counter() - start)

        async def pipelined(count: int) -> float:
            window = asyncio.Semaphore(WINDOW)

            async def sender() -> None:
                for _ in range(count):
                    await window.acquire()
                    user.send_message(mto=target, mbody=payload, mtype="chat")

            start = time.perf_counter()
            task = asyncio.create_task(sender())
            for _ in range(count):
                await replies.get()
                window.release()
            await task
            return count / (time.perf_counter() - start)

        await sequential(10)  # warm-up
        result = {"sequential": await sequential(rounds), "pipelined": await pipelined(rounds)}
        for xmpp in (echo, user):
            xmpp.disconnect(wait=1)
        return result

    return asyncio.run(main())
