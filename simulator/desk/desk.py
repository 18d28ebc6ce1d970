"""The desk's engine: a running server, users the page plays, the stanza log, the clock.

:class:`Desk` taps the server (every stanza becomes a ``stanza`` message to every open
page), logs users in with the client library in-process when the page acts as them, and
runs the page's requests (see the protocol in ``simulator.desk``). It knows nothing of
HTTP: :mod:`simulator.desk.web` carries its messages.
"""

from __future__ import annotations

import base64
import datetime
import json
import math
import os
import subprocess
import sys
import traceback
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, final

import trio

from simulator.client import Client, open_client
from simulator.desk.web import Response
from simulator.errors import SimulatorError
from simulator.jid import user_jid
from simulator.records import record
from simulator.scenario.record import find_account
from simulator.scenario.record_writer import RecordOptions, dump_scenario, iso_time
from simulator.server.fault_spec import ACTIONS, FaultSpec, parse_selector
from simulator.server.http import HttpRequest
from simulator.transport import MemoryConnector
from simulator.wire.node import Node
from simulator.world import load_world

if TYPE_CHECKING:
    from trio.testing import MockClock

    from simulator.scenario.plan import BotFunction
    from simulator.scenario.record import LiveRecorder
    from simulator.server import Server

__all__ = ["BotSpec", "Desk", "DeskError", "Outbox", "node_json"]

OUTBOX_SLACK: Final = 10_000
"""Messages a page may fall behind (beyond the backlog it is sent on connecting) before
the desk drops it."""
INLINE_DATA: Final = 256 * 1024
"""Binary node data up to this size is sent to the page (base64); larger, only its size."""
MAX_ADVANCE: Final = 400 * 86_400.0
"""The most one ``advance`` may move the clock (seconds)."""


class DeskError(Exception):
    """A request of the page that cannot be done; the message is one sentence for the page."""


@final
@record
class BotSpec:
    """The bot: an in-process function, a program the desk starts (it connects over TCP),
    or neither: an account a real client of yours logs in as (for the page and the
    recording, which need to know which account is the bot)."""

    account: str
    """The bot's JID."""
    function: BotFunction | None = None
    target: str = ""
    """``MOD:FN`` (in-process) or the command line (external)."""
    argv: tuple[str, ...] = ()

    @property
    def runs(self) -> bool:
        """The desk runs it; otherwise it is a real client that connects by itself."""
        return self.function is not None or bool(self.argv)


@final
class Outbox:
    """What the desk publishes to one page, in order; dropped when the page falls behind."""

    def __init__(self, size: int) -> None:
        self._send, self.receive = trio.open_memory_channel[str](size)

    def put(self, message: str) -> bool:
        try:
            self._send.send_nowait(message)
        except trio.WouldBlock:
            self._send.close()
            return False
        except trio.ClosedResourceError:
            return False
        return True

    def close(self) -> None:
        self._send.close()


@record(frozen=False)
class _Player:
    """A user the page plays: a logged-in client held open until logout."""

    client: Client
    scope: trio.CancelScope
    done: trio.Event = field(default_factory=trio.Event)


def node_json(node: Node) -> dict[str, Any]:
    """A node for the page: ``{"t": tag, "a": attrs, "c": children, "d": text}``.

    Data that is not UTF-8 text goes as base64 in ``"b"`` (or only its size in ``"n"``
    above :data:`INLINE_DATA`).
    """
    out: dict[str, Any] = {"t": node.tag}
    if node.attrs:
        out["a"] = dict(node.attrs)
    if node.children:
        out["c"] = [node_json(child) for child in node.children]
    if node.data is not None:
        try:
            out["d"] = node.data.decode("utf-8")
        except UnicodeDecodeError:
            if len(node.data) <= INLINE_DATA:
                out["b"] = base64.b64encode(node.data).decode()
            else:
                out["n"] = len(node.data)
    return out


@final
class Desk:
    """The engine of the page; see the module docstring."""

    def __init__(
        self,
        server: Server,
        nursery: trio.Nursery,
        *,
        clock: MockClock | None = None,
        bot: BotSpec | None = None,
        recorder: LiveRecorder | None = None,
        world: Path | None = None,
    ) -> None:
        self.server = server
        self.clock = clock
        self.bot = bot
        self.recorder = recorder
        self.world = world
        self._nursery = nursery
        self._pages: set[Outbox] = set()
        self._log: list[str] = []
        """Every ``stanza`` message so far, as sent (a page that connects gets them all)."""
        self._text: list[str] = []
        """The transcript lines."""
        self._players: dict[str, _Player] = {}
        self._logging_in: dict[str, trio.Lock] = {}
        self._changed = trio.Event()
        self.bot_state = "none" if bot is None else "starting" if bot.runs else "external"
        self.bot_error = ""
        self._untap = server.tap(self._on_tap)
        # A fault's hits and its running out change what the page lists.
        self._unobserve = server.faults.observe(lambda _hit: self.changed())

    def close(self) -> None:
        self._untap()
        self._unobserve()
        for page in self._pages:
            page.close()

    async def run(self) -> None:
        """Publish the world when it changed, until cancelled (start it in a nursery)."""
        while True:
            await self._changed.wait()
            self._changed = trio.Event()
            await trio.lowlevel.checkpoint()  # let a burst of stanzas settle first
            self._publish(self.world_message())

    # ---------------------------------------------------------------- pages

    def subscribe(self) -> Outbox:
        """A new page: it gets the world, every stanza so far, then everything live."""
        outbox = Outbox(len(self._log) + OUTBOX_SLACK)
        outbox.put(self.world_message())
        for message in self._log:
            outbox.put(message)
        self._pages.add(outbox)
        return outbox

    def unsubscribe(self, outbox: Outbox) -> None:
        self._pages.discard(outbox)
        outbox.close()

    def _publish(self, message: str) -> None:
        for page in list(self._pages):
            if not page.put(message):
                self._pages.discard(page)

    def changed(self) -> None:
        self._changed.set()

    def _on_tap(self, direction: Literal["in", "out"], jid: str, node: Node) -> None:
        now = self.server.clock.epoch + trio.current_time()
        seq = len(self._log) + 1
        message = json.dumps(
            {
                "type": "stanza",
                "seq": seq,
                "dir": direction,
                "jid": jid,
                "at": round(now, 3),
                "text": str(node),
                "pretty": node.to_text(indent=2),
                "node": node_json(node),
            },
            separators=(",", ":"),
        )
        self._log.append(message)
        arrow = "tx" if direction == "in" else "rx"
        self._text.append(f"{_clock_text(now)} {arrow} {jid} {node}")
        self._publish(message)
        if node.tag in ("notification", "presence", "iq", "success"):
            self.changed()

    # ---------------------------------------------------------------- the world

    def world_message(self) -> str:
        state = self.server.state
        accounts = []
        for jid, account in state.accounts.items():
            status = state.statuses.get(jid)
            accounts.append(
                {
                    "jid": jid,
                    "phone": account.phone,
                    "name": account.push_name,
                    "status": status.text.decode("utf-8", "replace") if status else "",
                    "online": account.online,
                    "connected": jid in self.server.sessions,
                    "played": jid in self._players,
                    "last_seen": account.last_seen,
                    "picture": jid in state.pictures,
                    "blocked": list(state.blocked.get(jid, ())),
                    "contacts": list(state.contacts.get(jid, ())),
                }
            )
        groups = [
            {
                "jid": group.jid,
                "subject": group.subject,
                "creator": group.creator,
                "participants": [
                    {"jid": member, "admin": role == "admin"}
                    for member, role in group.participants.items()
                ],
            }
            for group in state.groups.values()
        ]
        return json.dumps(
            {
                "type": "world",
                "accounts": accounts,
                "groups": groups,
                "bot": self.bot.account if self.bot else None,
                "bot_target": self.bot.target if self.bot else "",
                "bot_state": self.bot_state,
                "bot_error": self.bot_error,
                "now": self.server.clock.epoch + trio.current_time(),
                "can_advance": self.clock is not None,
                "recording": self.recorder is not None,
                "faults": [fault.as_json() for fault in self.server.faults],
                "restarts": self.server.restarts,
            },
            separators=(",", ":"),
        )

    # ---------------------------------------------------------------- requests

    async def handle_message(self, message: object) -> str | None:
        """Run one request of a page; returns the answer (a ``result`` message)."""
        ref: object = None
        try:
            if not isinstance(message, dict) or not isinstance(message.get("op"), str):
                raise DeskError('a request is a JSON object with an "op"')
            ref = message.get("ref")
            op = message["op"]
            action = self._actions().get(op)
            if action is None:
                raise DeskError(f"no operation {op!r}")
            value = await action(_Args(message))
        except DeskError as exc:
            reply = {"type": "result", "ref": ref, "ok": False, "error": str(exc)}
        except (SimulatorError, ValueError, LookupError) as exc:
            reply = {"type": "result", "ref": ref, "ok": False, "error": _sentence(exc)}
        except Exception as exc:  # a bug here must not end the desk: say it, carry on
            traceback.print_exc()
            error = f"internal error (the desk's output has the traceback): {exc!r}"
            reply = {"type": "result", "ref": ref, "ok": False, "error": error}
        else:
            reply = {"type": "result", "ref": ref, "ok": True, "value": value}
        self.changed()
        return json.dumps(reply, separators=(",", ":"))

    def _actions(self) -> Mapping[str, Callable[[_Args], Awaitable[object]]]:
        return {
            "login": self._login,
            "logout": self._logout,
            "send": self._send,
            "send_media": self._send_media,
            "send_location": self._send_location,
            "send_vcard": self._send_vcard,
            "chatstate": self._chatstate,
            "read": self._read,
            "presence": self._presence,
            "subscribe": self._subscribe,
            "last_seen": self._last_seen,
            "block": self._block,
            "status": self._status,
            "name": self._name,
            "picture": self._picture,
            "sync": self._sync,
            "group_create": self._group_create,
            "group_add": self._group_members("add"),
            "group_remove": self._group_members("remove"),
            "group_promote": self._group_members("promote"),
            "group_demote": self._group_members("demote"),
            "group_subject": self._group_subject,
            "group_leave": self._group_leave,
            "advance": self._advance,
            "fault": self._fault,
            "fault_clear": self._fault_clear,
            "disconnect": self._disconnect,
            "restart": self._restart,
        }

    # ---------------------------------------------------------------- users

    def _account_jid(self, ref: str) -> str:

        account = find_account(self.server.state, ref)
        if account is None:
            raise DeskError(f"no account {ref!r}")
        return account.jid

    async def player(self, ref: str) -> Client:
        """The client of the user ``ref`` (phone, JID or name); logs it in if needed."""
        jid = self._account_jid(ref)
        if self.bot is not None and jid == self.bot.account:
            raise DeskError("that is the bot's account: the bot plays it")
        # One login at a time per user: requests that come meanwhile wait for it.
        async with self._logging_in.setdefault(jid, trio.Lock()):
            player = self._players.get(jid)
            if player is None or player.done.is_set():
                account = self.server.state.accounts[jid]
                opening = open_client(
                    MemoryConnector(self.server),
                    account.phone,
                    account.password,
                    push_name=account.push_name,
                )
                player = await self._nursery.start(self._hold, jid, opening)
        client: Client = player.client
        return client

    async def _hold(
        self,
        jid: str,
        opening: AbstractAsyncContextManager[Client],
        task_status: trio.TaskStatus[_Player],
    ) -> None:
        scope = trio.CancelScope()
        player: _Player | None = None
        try:
            with scope:
                async with opening as client:
                    player = _Player(client, scope)
                    self._players[jid] = player
                    task_status.started(player)
                    # The page sees everything through the tap; drain the client's events.
                    async for _event in client.events():
                        pass
        finally:
            if player is not None:
                player.done.set()
                if self._players.get(jid) is player:
                    del self._players[jid]
            self.changed()

    async def _login(self, args: _Args) -> object:
        client = await self.player(args.text("user"))
        return client.jid

    async def _logout(self, args: _Args) -> object:
        jid = self._account_jid(args.text("user"))
        player = self._players.get(jid)
        if player is None:
            raise DeskError(f"{jid} is not logged in from the desk")
        player.scope.cancel()
        await player.done.wait()
        return jid

    async def _send(self, args: _Args) -> object:
        client = await self.player(args.text("as"))
        return await client.send_text(self._chat(args.text("to")), args.text("text"))

    async def _send_media(self, args: _Args) -> object:
        client = await self.player(args.text("as"))
        data = _b64(args.text("data"))
        name = args.text("name", "file")
        mimetype = args.text("mimetype", "") or None
        kind = _media_kind(mimetype or "")
        sent = await client.upload_media(
            self._chat(args.text("to")),
            data,
            kind,
            filename=name,
            mimetype=mimetype,
            caption=args.text("caption", "") or None,
        )
        return sent.id

    async def _send_location(self, args: _Args) -> object:
        client = await self.player(args.text("as"))
        return await client.send_location(
            self._chat(args.text("to")),
            args.number("latitude"),
            args.number("longitude"),
            name=args.text("name", "") or None,
        )

    async def _send_vcard(self, args: _Args) -> object:
        client = await self.player(args.text("as"))
        name = args.text("name")
        vcard = args.text("vcard", "") or _vcard(name, args.text("phone", ""))
        return await client.send_vcard(self._chat(args.text("to")), name, vcard)

    async def _chatstate(self, args: _Args) -> object:
        client = await self.player(args.text("as"))
        state = args.text("state")
        if state not in ("composing", "paused"):
            raise DeskError("a chat state is composing or paused")
        await client.send_chatstate(self._chat(args.text("to")), state)
        return state

    async def _read(self, args: _Args) -> object:
        client = await self.player(args.text("as"))
        ids = args.strings("ids")
        if not ids:
            raise DeskError("nothing to mark read")
        participant = args.text("participant", "") or None
        await client.mark_read(self._chat(args.text("to")), ids, participant=participant)
        return len(ids)

    async def _presence(self, args: _Args) -> object:
        client = await self.player(args.text("as"))
        kind = args.text("type")
        if kind not in ("available", "unavailable"):
            raise DeskError("presence is available or unavailable")
        await client.set_presence(kind)
        return kind

    async def _subscribe(self, args: _Args) -> object:
        client = await self.player(args.text("as"))
        await client.subscribe(self._account_jid(args.text("jid")))
        return True

    async def _last_seen(self, args: _Args) -> object:
        client = await self.player(args.text("as"))
        return await client.last_seen(self._account_jid(args.text("jid")))

    async def _block(self, args: _Args) -> object:
        client = await self.player(args.text("as"))
        jid = self._account_jid(args.text("jid"))
        if args.flag("blocked", True):
            await client.block(jid)
        else:
            await client.unblock(jid)
        return jid

    async def _status(self, args: _Args) -> object:
        client = await self.player(args.text("as"))
        await client.set_status(args.text("text"))
        return True

    async def _name(self, args: _Args) -> object:
        client = await self.player(args.text("as"))
        name = args.text("name").strip()
        if not name:
            raise DeskError("a name cannot be empty")
        await client.set_name(name)
        self.server.state.set_push_name(client.jid, name)
        return name

    async def _picture(self, args: _Args) -> object:
        client = await self.player(args.text("as"))
        image = _b64(args.text("data"))
        return await client.set_profile_picture(image, image)

    async def _sync(self, args: _Args) -> object:
        client = await self.player(args.text("as"))
        numbers = [n.strip() for n in args.strings("numbers") if n.strip()]
        result = await client.sync_contacts(numbers)
        return {"existing": result.existing, "non_existing": result.non_existing}

    # ---------------------------------------------------------------- groups

    async def _group_create(self, args: _Args) -> object:
        client = await self.player(args.text("as"))
        members = [self._account_jid(m) for m in args.strings("participants")]
        return await client.create_group(args.text("subject"), members)

    def _group_members(self, what: str) -> Callable[[_Args], Awaitable[object]]:
        async def action(args: _Args) -> object:
            client = await self.player(args.text("as"))
            group = self._group(args.text("group"))
            jids = [self._account_jid(m) for m in args.strings("jids")]
            if not jids:
                raise DeskError(f"whom to {what}?")
            method = {
                "add": client.add_participants,
                "remove": client.remove_participants,
                "promote": client.promote,
                "demote": client.demote,
            }[what]
            result = await method(group, jids)
            return result if result is not None else jids

        return action

    async def _group_subject(self, args: _Args) -> object:
        client = await self.player(args.text("as"))
        await client.set_group_subject(self._group(args.text("group")), args.text("subject"))
        return True

    async def _group_leave(self, args: _Args) -> object:
        client = await self.player(args.text("as"))
        return await client.leave_groups(self._group(args.text("group")))

    def _group(self, ref: str) -> str:
        groups = self.server.state.groups
        if ref in groups:
            return ref
        for group in groups.values():
            if group.subject.casefold() == ref.casefold():
                return group.jid
        raise DeskError(f"no group {ref!r}")

    def _chat(self, ref: str) -> str:
        """A chat partner: a group (JID or subject) or an account."""
        if ref.endswith("@g.us"):
            return ref
        if ref.endswith("@s.whatsapp.net") or ref.isdigit():
            return user_jid(ref)
        try:
            return self._account_jid(ref)
        except DeskError:
            return self._group(ref)

    # ---------------------------------------------------------------- time

    async def _advance(self, args: _Args) -> object:
        if self.clock is None:
            raise DeskError("this service runs on the wall clock: it cannot be advanced")
        seconds = args.number("seconds")
        if not 0 < seconds <= MAX_ADVANCE:
            raise DeskError(f"advance by more than 0 and at most {MAX_ADVANCE:.0f} seconds")
        self.clock.jump(seconds)
        await trio.lowlevel.checkpoint()
        return self.server.clock.epoch + trio.current_time()

    # ---------------------------------------------------------------- faults

    async def _fault(self, args: _Args) -> object:
        """Set a fault the way ``simulator control fault add`` does: an action, a selector
        (``message from alice``, ``<receipt/> to bot``, ``anything``) and its options."""
        action = args.text("action")
        if action not in ACTIONS:
            raise DeskError(f"no fault action {action!r}; one of {', '.join(ACTIONS)}")
        spec: dict[str, object] = {"action": action}
        spec.update(parse_selector(action, args.text("selector", "")))
        for name in ("times", "seconds", "backoff", "code"):
            if args.has(name):
                spec[name] = args.number(name)
        for name in ("reason", "text"):
            if args.has(name):
                spec[name] = args.text(name)
        fault = FaultSpec.model_validate(spec).add_to(self.server.faults)
        return fault.as_json()

    async def _fault_clear(self, args: _Args) -> object:
        """Clear one fault (``id``) or every fault; what they held goes on."""
        if not args.has("id"):
            return self.server.faults.clear()
        number = args.number("id")
        fault = self.server.faults.get(int(number))
        if fault is None or number != int(number):
            raise DeskError(f"there is no fault #{number:g}")
        return fault.clear()

    async def _disconnect(self, args: _Args) -> object:
        """Close a user's (or the bot's) connection now, without a goodbye."""
        jid = self._account_jid(args.text("user"))
        if not self.server.faults.disconnect(jid):
            raise DeskError(f"{jid} is not connected")
        await trio.lowlevel.checkpoint()
        return jid

    async def _restart(self, args: _Args) -> object:
        """Restart the service: every connection drops, the state stays; the page's users
        log in again when next played."""
        dropped = self.server.restart(goodbye=args.flag("goodbye", False))
        await trio.lowlevel.checkpoint()
        return dropped

    # ---------------------------------------------------------------- the bot

    async def run_bot(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Run the bot until cancelled; its death is shown on the page, the desk runs on."""
        bot = self.bot
        assert bot is not None
        try:
            if bot.function is not None:
                await self._python_bot(bot, bot.function, task_status)
            else:
                await self._command_bot(bot, task_status)
        finally:
            self.changed()

    async def _python_bot(
        self, bot: BotSpec, function: BotFunction, task_status: trio.TaskStatus[None]
    ) -> None:
        account = self.server.state.accounts[bot.account]
        started = False
        try:
            async with open_client(
                MemoryConnector(self.server),
                account.phone,
                account.password,
                push_name=account.push_name,
            ) as client:
                self.bot_state = "running"
                task_status.started()
                started = True
                await function(client)
                self.bot_state = "returned"
        except Exception as exc:
            tb = exc.__traceback__.tb_next if exc.__traceback__ else None
            self.bot_state = "died"
            self.bot_error = "".join(traceback.format_exception(type(exc), exc, tb))
            if not started:
                task_status.started()

    async def _command_bot(self, bot: BotSpec, task_status: trio.TaskStatus[None]) -> None:

        host, port = await self.server.listen_tcp("127.0.0.1", 0)
        account = self.server.state.accounts[bot.account]
        env = {
            **os.environ,
            "SIM_HOST": host,
            "SIM_PORT": str(port),
            "SIM_PHONE": account.phone,
            "SIM_PASSWORD": account.password_b64,
            "SIM_JID": account.jid,
            "SIM_HTTP": self.server.http.base_url or "",
        }
        argv = list(bot.argv)
        if argv[0] == "python":
            argv[0] = sys.executable
        try:
            process = await trio.lowlevel.open_process(
                argv,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=2,  # its output: our stderr
            )
        except OSError as exc:
            self.bot_state = "died"
            self.bot_error = f"cannot start {bot.target}: {exc.strerror or exc}"
            task_status.started()
            return
        self.bot_state = "running"
        task_status.started()
        try:
            code = await process.wait()
        finally:
            with trio.CancelScope(shield=True):
                if process.returncode is None:
                    process.terminate()
                    with trio.move_on_after(5):
                        await process.wait()
                    if process.returncode is None:
                        process.kill()
                        await process.wait()
        self.bot_state = "returned" if code == 0 else "died"
        if code != 0:
            self.bot_error = f"the bot process exited with code {code}"

    # ---------------------------------------------------------------- downloads

    def transcript(self) -> str:
        """Every stanza so far, one a line: time, tx (to the service) or rx, user, node."""
        return "".join(line + "\n" for line in self._text)

    def scenario_text(self) -> str:
        """The session so far as a scenario file (the recorder's rules)."""

        recorder = self.recorder
        if recorder is None:
            raise DeskError("this desk does not record")
        events = recorder.events
        start = iso_time(events[0].at if events else recorder.started)
        options = RecordOptions(
            name=f"desk session {start}",
            description=f"Recorded with simulator desk from {start}.",
            seed=self.server.config.seed or 0,  # an unseeded served server replays with 0
        )
        if self.world is not None:
            # The world file keeps what the accounts alone do not (groups, contacts...);
            # the download can be saved anywhere, so it is referred to by its full path.

            known = {user_jid(a.phone) for a in load_world(self.world).accounts}
            if all(user_jid(a.phone) in known for a in recorder.accounts()):
                options = replace(options, world=self.world.resolve().as_posix())
        try:
            recording = recorder.scenario(options)
        except ValueError as exc:
            raise DeskError(f"nothing to save: {exc}") from None
        scenario = recording.scenario
        if self.bot is not None and self.bot.function is not None and scenario.bot is not None:
            bot = scenario.bot.model_copy(update={"python": self.bot.target})
            scenario = scenario.model_copy(update={"bot": bot})
        text = dump_scenario(scenario, schema=options.schema)
        notes = "".join(f"# warning: {w}\n" for w in recording.warnings)
        return notes + text

    def scenario_download(self) -> Response:

        try:
            text = self.scenario_text()
        except DeskError as exc:
            return Response.text(409, str(exc))
        return Response(200, text.encode(), "application/yaml", filename="desk-session.yaml")

    def media(self, url: str) -> Response:
        """A file the service stores, by its media URL (for the page to show)."""

        path = "/" + url.split("://", 1)[-1].partition("/")[2]
        answer = self.server.http.respond(HttpRequest("GET", path, {}, {}))
        if answer.status != 200:
            return Response.text(404, "no such media file")
        return Response(200, answer.body, answer.content_type)


@final
class _Args:
    """The arguments of one request, checked as they are read."""

    def __init__(self, message: dict[str, Any]) -> None:
        self._message = message

    def has(self, name: str) -> bool:
        return self._message.get(name) is not None

    def text(self, name: str, default: str | None = None) -> str:
        value = self._message.get(name, default)
        if value is None:
            raise DeskError(f'"{name}" is missing')
        if not isinstance(value, str):
            raise DeskError(f'"{name}" must be a string')
        return value

    def number(self, name: str) -> float:
        value = self._message.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise DeskError(f'"{name}" must be a number')
        if not math.isfinite(value):
            raise DeskError(f'"{name}" must be a finite number')
        return float(value)

    def flag(self, name: str, default: bool) -> bool:
        value = self._message.get(name, default)
        if not isinstance(value, bool):
            raise DeskError(f'"{name}" must be true or false')
        return value

    def strings(self, name: str) -> list[str]:
        value = self._message.get(name, [])
        if isinstance(value, str):
            value = [v for v in value.replace(",", " ").split() if v]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise DeskError(f'"{name}" must be a list of strings')
        return value


def _b64(text: str) -> bytes:
    try:
        data = base64.b64decode(text, validate=True)
    except ValueError:
        raise DeskError("the file must be base64") from None
    if not data:
        raise DeskError("the file is empty")
    return data


def _media_kind(mimetype: str) -> str:
    head = mimetype.partition("/")[0]
    if head not in ("image", "audio", "video"):
        raise DeskError(f"the service carries images, audio and video, not {mimetype or 'this'}")
    return head


def _vcard(name: str, phone: str) -> str:
    lines = ["BEGIN:VCARD", "VERSION:3.0", f"FN:{name}"]
    if phone:
        lines.append(f"TEL;type=CELL;waid={phone}:+{phone}")
    lines.append("END:VCARD")
    return "\n".join(lines)


def _sentence(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0]


def _clock_text(at: float) -> str:

    moment = datetime.datetime.fromtimestamp(at, datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"
