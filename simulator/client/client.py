"""The client library's public class: :func:`open_client` and :class:`Client`.

    async with open_client(server, "491234567890", "AQIDBAUGBwgJCgsMDQ4PEBESExQ=") as bot:
        msg_id = await bot.send_text("491111111111", "hi")
        reply = await bot.wait_for(GetMessage, timeout=5)

:class:`Client` is the core (``core.py``: login, reader, events, ``send``, ``iq``) plus one
mixin per flow family with the methods a bot calls. The mapping from the documented
Chat-API function names to these methods is in ``simulator routes`` and the README.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Final, final

import trio

from simulator import stanzas
from simulator.client import payloads
from simulator.client._api_account import AccountApi
from simulator.client._api_contacts import ContactsApi
from simulator.client._api_encrypt import EncryptApi
from simulator.client._api_groups import GroupsApi
from simulator.client.core import ClientCore, ClientState
from simulator.collector import CLIENTS
from simulator.jid import SERVER, user_jid
from simulator.transport.connectors import (
    Connector,
    HttpOpener,
    MemoryConnector,
    TcpConnector,
)
from simulator.wire import events as wire
from simulator.wire.node import Node
from simulator.wire.tokens import Dialect

if TYPE_CHECKING:
    from simulator.server.server import Server

__all__ = ["Client", "ClientState", "MessagingApi", "open_client"]

DEFAULT_RESOURCE = {Dialect.V15: "S40-2.12.53", Dialect.V16: "S40-2.16.12"}
# Like yowsup 2.4.102 on 1.5 (an empty list there marks yowsup 2.0, which the server
# spares the notifications it cannot parse, §6.3), like 2.5.7 on 1.6.
DEFAULT_FEATURES = {
    Dialect.V15: Node(
        "stream:features",
        children=[Node("readreceipts"), Node("groups_v2"), Node("privacy"), Node("presence")],
    ),
    Dialect.V16: Node("stream:features"),
}


_OUR_CONNECTORS: Final = (TcpConnector, MemoryConnector)
"""Connectors known without asking the ``Connector`` and ``HttpOpener`` protocols:
``isinstance`` against a runtime-checkable protocol walks its members in Python, about
2 % of a TCP login's CPU."""


def _connector(target: Server | Connector | tuple[str, int] | str) -> Connector:
    if isinstance(target, _OUR_CONNECTORS):
        return target
    if isinstance(target, tuple):
        return TcpConnector(target[0], target[1])
    if isinstance(target, str):
        host, _, port = target.rpartition(":")
        return TcpConnector(host or "127.0.0.1", int(port))
    if isinstance(target, Connector):
        return target
    return MemoryConnector(target)  # a Server: reached in-process


def _password(password: str | bytes) -> bytes:
    return password if isinstance(password, bytes) else base64.b64decode(password)


class MessagingApi(ClientCore):
    """Messages, receipts, chat states, presence and the basic iqs (§3.1, §3.10-§3.14)."""

    # ---------------------------------------------------------------- messages

    async def send_message(self, to: str, payload: Iterable[Node], *, type: str = "text") -> str:
        """Send a message with the given children; returns its id."""
        msg_id = self.new_id()
        await self.send(stanzas.message.outgoing(user_jid(to), msg_id, payload, type=type))
        return msg_id

    async def send_text(self, to: str, text: str | bytes) -> str:
        """sendMessage: a text message to a user or group; returns the message id."""
        return await self.send_message(to, [payloads.text(text)])

    async def send_media(
        self,
        to: str,
        media_type: str,
        url: str,
        *,
        size: int,
        mimetype: str = "",
        filehash: str = "",
        file: str = "",
        caption: str | None = None,
        thumbnail: bytes | None = None,
        **extra: str,
    ) -> str:
        """A media message pointing at a file already uploaded (``upload_media`` does it all)."""
        attrs = {
            k: v for k, v in (("mimetype", mimetype), ("filehash", filehash), ("file", file)) if v
        }
        if caption is not None:
            attrs["caption"] = caption
        node = payloads.media(media_type, url, size=size, thumbnail=thumbnail, **attrs, **extra)
        return await self.send_message(to, [node], type="media")

    async def send_location(
        self,
        to: str,
        latitude: float,
        longitude: float,
        *,
        name: str | None = None,
        url: str | None = None,
    ) -> str:
        """sendMessageLocation: a location (latitude, longitude, optional name and url)."""
        node = payloads.location(latitude, longitude, name=name, url=url)
        return await self.send_message(to, [node], type="media")

    async def send_vcard(self, to: str, name: str, vcard: str | bytes) -> str:
        """sendVcard: a contact card."""
        return await self.send_message(to, [payloads.vcard(name, vcard)], type="media")

    # ---------------------------------------------------------------- receipts and chat states

    async def send_receipt(
        self,
        to: str,
        ids: str | Sequence[str],
        *,
        type: str | None = None,
        participant: str | None = None,
    ) -> None:
        """A delivery receipt (or ``type="read"``/``"played"``) for one or several messages."""
        await self.send(stanzas.receipt.build(to, ids, type=type, participant=participant))

    async def mark_read(
        self, to: str, ids: str | Sequence[str], *, participant: str | None = None
    ) -> None:
        """sendMessageRead: blue ticks for one or several messages."""
        await self.send_receipt(to, ids, type="read", participant=participant)

    async def send_chatstate(self, to: str, state: str) -> None:
        """sendChatState: ``composing`` or ``paused``."""
        await self.send(stanzas.chatstate.build(user_jid(to), state))

    async def typing(self, to: str) -> None:
        """sendMessageComposing: tell ``to`` we are typing."""
        await self.send_chatstate(to, "composing")

    async def paused(self, to: str) -> None:
        """sendMessagePaused: tell ``to`` we stopped typing."""
        await self.send_chatstate(to, "paused")

    # ---------------------------------------------------------------- presence

    async def set_presence(self, type: str = "available", *, name: str | None = None) -> None:
        """sendPresence / sendAvailableForChat / sendActiveStatus / sendOfflineStatus: presence.

        ``available`` (with our push name) or ``active`` go online; ``unavailable`` or
        ``inactive`` go offline (§3.14).
        """
        name = self.push_name if name is None and type == "available" else name
        await self.send(stanzas.presence.available(type, name=name))

    async def set_name(self, name: str) -> None:
        """The nickname presence: change the push name others see."""
        self.push_name = name
        await self.send(stanzas.presence.name(name))

    async def subscribe(self, jid: str) -> None:
        """sendPresenceSubscription: watch a user's presence."""
        await self.send(stanzas.presence.subscribe(user_jid(jid)))

    async def unsubscribe(self, jid: str) -> None:
        """sendPresenceUnsubscription."""
        await self.send(stanzas.presence.unsubscribe(user_jid(jid)))

    # ---------------------------------------------------------------- simple iqs

    async def ping(self, *, timeout: float = 30) -> None:
        """sendPing: the keep-alive ping; returns when the server answered."""
        await self.iq(
            stanzas.iq.request("get", [Node("ping")], xmlns="w:p", to=SERVER),
            timeout=timeout,
        )

    async def get_server_properties(self) -> dict[str, str]:
        """sendGetServerProperties: the service's advertised limits."""
        answer = await self.iq(stanzas.iq.request("get", [Node("props")], xmlns="w", to=SERVER))
        props = answer.child("props")
        return {p.get("name", ""): p.get("value", "") for p in (props.children if props else ())}

    async def get_client_config(self) -> Node:
        """sendGetClientConfig: the stored push configuration (the iq result)."""
        return await self.iq(
            stanzas.iq.request("get", [Node("config")], xmlns="urn:xmpp:whatsapp:push", to=SERVER)
        )

    async def set_client_config(self, **config: str) -> None:
        """sendClientConfig / sendSetGCM: store push settings (platform, version, id...)."""
        await self.iq(
            stanzas.iq.request(
                "set", [Node("config", config)], xmlns="urn:xmpp:whatsapp:push", to=SERVER
            )
        )

    async def last_seen(self, jid: str) -> int:
        """Seconds since the user was last online (0 if online now)."""
        answer = await self.iq(
            stanzas.iq.request("get", [Node("query")], xmlns="jabber:iq:last", to=user_jid(jid))
        )
        query = answer.child("query")
        return int(query.get("seconds", "0") or 0) if query is not None else 0

    async def normalize(self, cc: str, number: str) -> str:
        """sendGetNormalizedJid: country code + national number -> phone number."""
        request = Node("normalize", children=[Node("cc", data=cc), Node("in", data=number)])
        answer = await self.iq(
            stanzas.iq.request("get", [request], xmlns="urn:xmpp:whatsapp:account", to=SERVER)
        )
        result = answer.child("normalize")
        return result.get("result", "") if result is not None else ""


@final
class Client(MessagingApi, GroupsApi, ContactsApi, AccountApi, EncryptApi):
    """A logged-in FunXMPP client. Create it with :func:`open_client`."""


@asynccontextmanager
async def open_client(
    target: Server | Connector | tuple[str, int] | str,
    phone: str,
    password: str | bytes,
    *,
    push_name: str = "",
    dialect: Dialect = Dialect.V16,
    resource: str | None = None,
    features: Node | None = None,
    passive: bool = False,
    stored_nonce: bytes | None = None,
    announce: bool = True,
    auto_ack: bool = True,
    auto_receipt: bool = True,
    auto_pong: bool = True,
    login_timeout: float = 30,
) -> AsyncIterator[Client]:
    """Connect, log in, and yield a :class:`Client`; close it when the block ends.

    Args:
        target: a :class:`~simulator.server.Server` (in-process), a connector, or a TCP
            address as ``(host, port)`` or ``"host:port"``.
        phone: the account's number, digits with country code.
        password: the account password, base64 text as issued, or its raw 20 bytes.
        push_name: the name others see (sent with the first presence).
        dialect: the protocol dialect to speak (``WA 1 5`` or ``WA 1 6``).
        features: the client's ``<stream:features>``; by default what yowsup 2.4.102
            (1.5) or 2.5.7 (1.6) sends. An empty one on 1.5 looks like yowsup 2.0, which
            the server spares the notifications that version cannot parse (§6.3).
        passive: a passive login (no offline delivery, not marked online, §2.12).
        stored_nonce: the nonce of an earlier login's ``success``: log in without a
            challenge (fast re-login, §2.8).
        announce: send ``<presence type="available" name=...>`` after the login.
        auto_ack / auto_receipt / auto_pong: behave like a real client (see module doc).

    Raises:
        LoginFailed: the server refused the login.
        ConnectionClosed: the connection ended during the login.
    """
    connector = _connector(target)
    link = await connector.connect(dialect)
    client = Client(
        link,
        phone,
        push_name=push_name,
        auto_ack=auto_ack,
        auto_receipt=auto_receipt,
        auto_pong=auto_pong,
    )
    if isinstance(connector, (*_OUR_CONNECTORS, HttpOpener)):  # ours end the check early
        client.connector = connector  # media HTTP the same way: in-process or TCP
    try:
        with trio.fail_after(login_timeout):
            await client._login(
                wire.Login(
                    user=phone,
                    password=_password(password),
                    resource=resource or DEFAULT_RESOURCE[dialect],
                    features=features or DEFAULT_FEATURES[dialect],
                    passive=passive,
                    timestamp=connector.now(),
                    stored_nonce=stored_nonce,
                )
            )
    except BaseException:
        with trio.CancelScope(shield=True):
            await link.aclose()
        raise
    # Counted among the process's clients while logged in (simulator.collector): many
    # idle clients are frozen out of the collector's scans as a server's sessions are.
    # (A try, not a context manager: no object held per idle client for it.)
    CLIENTS.opened()
    try:
        async with trio.open_nursery() as nursery:
            client._start_reading(nursery)
            if announce and not passive:
                await client.set_presence("available")
            try:
                yield client
            finally:
                with trio.CancelScope(shield=True):
                    await client.aclose()
                nursery.cancel_scope.cancel()
    finally:
        CLIENTS.closed()
