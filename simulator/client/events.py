"""Typed events of the client library, named after the documented Chat-API events.

Each class says which documented event it stands for (``onGetMessage`` -> :class:`GetMessage`)
and keeps the whole stanza in ``node`` for anything the fields do not cover. The table
that maps every documented event to these classes (or says why there is none) is
generated from :data:`DOCUMENTED` — see ``simulator routes``.
"""

from __future__ import annotations

from dataclasses import field
from typing import Final

# The base classes live in _events_base; the families' events (their own modules, built
# on it) are public here: every event a bot can meet imports from this module.
from simulator.client._events_account import (
    CallReceived,
    CallUpdate,
    Dirty,
    GetFeature,
    MediaMessageSent,
    MediaUploadFailed,
    PaidAccount,
    PaymentRecieved,
    PreKeysLow,
    WebSync,
)
from simulator.client._events_base import Event, Unhandled, int_attr
from simulator.client._events_contacts import (
    ContactNotification,
    GetStatus,
    NumberWasAdded,
    NumberWasRemoved,
    NumberWasUpdated,
    PictureNotification,
    ProfilePictureChanged,
    ProfilePictureDeleted,
)
from simulator.client._events_groups import (
    GetGroupsSubject,
    GroupInfo,
    GroupisCreated,
    GroupNotification,
    GroupsParticipantChangedNumber,
    GroupsParticipantsAdd,
    GroupsParticipantsDemote,
    GroupsParticipantsPromote,
    GroupsParticipantsRemove,
)
from simulator.records import record
from simulator.wire.node import Node

__all__ = [
    "DOCUMENTED",
    "CallReceived",
    "CallUpdate",
    "ContactNotification",
    "Dirty",
    "Disconnected",
    "Event",
    "GetAudio",
    "GetError",
    "GetFeature",
    "GetGroupAudio",
    "GetGroupImage",
    "GetGroupLocation",
    "GetGroupMessage",
    "GetGroupVCard",
    "GetGroupVideo",
    "GetGroupsSubject",
    "GetImage",
    "GetLocation",
    "GetMessage",
    "GetReceipt",
    "GetStatus",
    "GetVCard",
    "GetVideo",
    "GroupInfo",
    "GroupMessageComposing",
    "GroupMessagePaused",
    "GroupNotification",
    "GroupisCreated",
    "GroupsParticipantChangedNumber",
    "GroupsParticipantsAdd",
    "GroupsParticipantsDemote",
    "GroupsParticipantsPromote",
    "GroupsParticipantsRemove",
    "LoginSuccess",
    "MediaEvent",
    "MediaMessageSent",
    "MediaUploadFailed",
    "MessageComposing",
    "MessageEvent",
    "MessagePaused",
    "MessageReceivedClient",
    "MessageReceivedServer",
    "NumberWasAdded",
    "NumberWasRemoved",
    "NumberWasUpdated",
    "OfflineDone",
    "PaidAccount",
    "PaymentRecieved",
    "PictureNotification",
    "Ping",
    "PreKeysLow",
    "PresenceAvailable",
    "PresenceUnavailable",
    "ProfilePictureChanged",
    "ProfilePictureDeleted",
    "StreamError",
    "Unhandled",
    "WebSync",
    "int_attr",
]


# -------------------------------------------------------------------- session


@record(kw_only=True)
class LoginSuccess(Event):
    """onLoginSuccess: the server accepted the login (``<success>``)."""

    kind: str
    status: str
    creation: int
    expiration: int
    t: int


@record(kw_only=True)
class StreamError(Event):
    """onStreamError: the server sent ``<stream:error>`` and will close (e.g. ``conflict``)."""

    reason: str


@record(kw_only=True)
class Disconnected(Event):
    """onDisconnect: the connection is gone."""

    reason: str


@record(kw_only=True)
class OfflineDone(Event):
    """The server finished replaying stored stanzas (``<ib><offline count/></ib>``)."""

    count: int


@record(kw_only=True)
class Ping(Event):
    """onPing: a server ping; the client answers it by itself (onSendPong)."""

    id: str


@record(kw_only=True)
class GetError(Event):
    """onGetError: an ``<iq type="error">`` no pending request was waiting for."""

    id: str
    code: int | None
    text: str


# -------------------------------------------------------------------- messages


@record(kw_only=True)
class MessageEvent(Event):
    """Fields every incoming message has. ``from_`` is the sender (a user JID, or the group
    JID for group messages, whose author is then ``participant``)."""

    from_: str
    id: str
    t: int
    notify: str
    offline: bool
    participant: str | None = None

    @property
    def author(self) -> str:
        """The user who wrote the message (the participant in a group)."""
        return self.participant or self.from_

    @property
    def chat(self) -> str:
        """Where to answer: the group for group messages, else the sender."""
        return self.from_


@record(kw_only=True)
class GetMessage(MessageEvent):
    """onGetMessage: a 1:1 text message. ``body`` is the raw bytes; ``text`` decodes UTF-8."""

    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


@record(kw_only=True)
class GetGroupMessage(GetMessage):
    """onGetGroupMessage: a text message in a group (``from_`` group, ``participant`` author)."""


@record(kw_only=True)
class MediaEvent(MessageEvent):
    """A media message; ``media`` is the ``<media>`` child with every attribute."""

    media: Node = field(repr=False, compare=False)

    @property
    def url(self) -> str | None:
        return self.media.get("url")

    @property
    def caption(self) -> str | None:
        return self.media.get("caption")


@record(kw_only=True)
class GetImage(MediaEvent):
    """onGetImage."""


@record(kw_only=True)
class GetGroupImage(GetImage):
    """onGetGroupImage."""


@record(kw_only=True)
class GetAudio(MediaEvent):
    """onGetAudio."""


@record(kw_only=True)
class GetGroupAudio(GetAudio):
    """onGetGroupAudio."""


@record(kw_only=True)
class GetVideo(MediaEvent):
    """onGetVideo."""


@record(kw_only=True)
class GetGroupVideo(GetVideo):
    """onGetGroupVideo."""


@record(kw_only=True)
class GetLocation(MediaEvent):
    """onGetLocation: ``latitude``/``longitude`` as sent."""

    @property
    def latitude(self) -> float:
        return float(self.media.get("latitude") or 0)

    @property
    def longitude(self) -> float:
        return float(self.media.get("longitude") or 0)

    @property
    def name(self) -> str | None:
        return self.media.get("name")


@record(kw_only=True)
class GetGroupLocation(GetLocation):
    """onGetGroupLocation."""


@record(kw_only=True)
class GetVCard(MediaEvent):
    """onGetvCard: ``name`` and the vCard text."""

    @property
    def name(self) -> str:
        card = self.media.child("vcard")
        return (card.get("name") or "") if card is not None else ""

    @property
    def vcard(self) -> bytes:
        card = self.media.child("vcard")
        return (card.data or b"") if card is not None else b""


@record(kw_only=True)
class GetGroupVCard(GetVCard):
    """onGetGroupvCard."""


# -------------------------------------------------------------------- acks and receipts


@record(kw_only=True)
class MessageReceivedServer(Event):
    """onMessageReceivedServer: the server acked a message we sent (one tick)."""

    to: str
    id: str
    t: int


@record(kw_only=True)
class GetReceipt(Event):
    """onGetReceipt: a receipt stanza. ``ids`` lists every message it confirms."""

    from_: str
    id: str
    ids: tuple[str, ...]
    type: str
    """``delivery`` (no type on the wire), ``read``, ``played`` or ``retry``."""
    participant: str | None
    offline: bool
    t: int


@record(kw_only=True)
class MessageReceivedClient(Event):
    """onMessageReceivedClient: one message we sent was delivered/read (once per id)."""

    from_: str
    id: str
    type: str
    participant: str | None
    t: int


# -------------------------------------------------------------------- presence, chat states


@record(kw_only=True)
class PresenceAvailable(Event):
    """onPresenceAvailable: a watched user is online."""

    from_: str


@record(kw_only=True)
class PresenceUnavailable(Event):
    """onPresenceUnavailable: a watched user is offline; ``last`` is a time or ``deny``."""

    from_: str
    last: str


@record(kw_only=True)
class MessageComposing(Event):
    """onMessageComposing: a user is typing to us."""

    from_: str


@record(kw_only=True)
class MessagePaused(Event):
    """onMessagePaused: a user stopped typing."""

    from_: str


@record(kw_only=True)
class GroupMessageComposing(Event):
    """onGroupMessageComposing: ``participant`` is typing in group ``from_``."""

    from_: str
    participant: str


@record(kw_only=True)
class GroupMessagePaused(Event):
    """onGroupMessagePaused."""

    from_: str
    participant: str


DOCUMENTED: Final[dict[str, type[Event]]] = {
    "onLoginSuccess": LoginSuccess,
    "onStreamError": StreamError,
    "onDisconnect": Disconnected,
    "onPing": Ping,
    "onGetError": GetError,
    "onGetMessage": GetMessage,
    "onGetGroupMessage": GetGroupMessage,
    "onGetImage": GetImage,
    "onGetGroupImage": GetGroupImage,
    "onGetAudio": GetAudio,
    "onGetGroupAudio": GetGroupAudio,
    "onGetVideo": GetVideo,
    "onGetGroupVideo": GetGroupVideo,
    "onGetLocation": GetLocation,
    "onGetGroupLocation": GetGroupLocation,
    "onGetvCard": GetVCard,
    "onGetGroupvCard": GetGroupVCard,
    "onMessageReceivedServer": MessageReceivedServer,
    "onMessageReceivedClient": MessageReceivedClient,
    "onGetReceipt": GetReceipt,
    "onPresenceAvailable": PresenceAvailable,
    "onPresenceUnavailable": PresenceUnavailable,
    "onMessageComposing": MessageComposing,
    "onMessagePaused": MessagePaused,
    "onGroupMessageComposing": GroupMessageComposing,
    "onGroupMessagePaused": GroupMessagePaused,
}
"""Documented event name -> the class raised for it."""


RETURNED_BY: Final[dict[str, str]] = {
    "onLoginFailed": "`open_client` raises `LoginFailed(reason)`",
    "onAccountExpired": '`Client.login.status == "expired"` after `open_client`',
    "onGetServerProperties": "`Client.get_server_properties()` returns the props",
    "onGetNormalizedJid": "`Client.normalize()` returns the number",
    "onGetPrivacyBlockedList": "`Client.get_blocked()` returns the list",
    "onGetProfilePicture": "`Client.get_profile_picture()` returns the picture",
    "onGetSyncResult": "`Client.sync_contacts()` returns a `SyncResult`",
}
"""Documented events that answer our own iqs: the method's return value stands for them."""
