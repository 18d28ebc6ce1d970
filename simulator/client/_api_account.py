"""Client methods of one flow family: account, media upload and calls (§3.8, §3.9, §3.18, §4.7).

Registration needs no login and lives in ``simulator.client.registration``.

Media travel over HTTP: :meth:`AccountApi.upload_media` asks for an upload slot (``w:m``),
POSTs the file to the URL it got (or skips that when the service already has the file),
and sends the media message with the served URL. HTTP goes through the client's
connector (in-process without sockets for a client opened in-process, else TCP to the
URL's host and port), or through ``via`` when given (a connector, or a
:class:`~simulator.server.Server` standing for its in-process connector).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable
from pathlib import PurePath
from typing import TYPE_CHECKING, Final

import trio

from simulator import stanzas
from simulator.client._events_account import (
    CallReceived,
    MediaMessageSent,
    MediaUploadFailed,
)
from simulator.client._http import HttpError, http_request
from simulator.client.core import ClientCore
from simulator.errors import IqError
from simulator.jid import SERVER, user_jid
from simulator.records import record
from simulator.wire.node import Node

if TYPE_CHECKING:
    from simulator.server.server import Server
    from simulator.transport.connectors import HttpOpener

__all__ = ["AccountApi", "AccountInfo", "ServicePricing", "UploadTicket"]

ACCOUNT: Final = "urn:xmpp:whatsapp:account"
BOUNDARY: Final = "zzXXzzYYzzXXzzQQ"
"""The multipart boundary every real client used (§4.7)."""

MIMETYPES: Final = {
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "mp3": "audio/mpeg",
    "ogg": "audio/ogg",
    "opus": "audio/ogg",
    "aac": "audio/aac",
    "amr": "audio/amr",
    "m4a": "audio/mp4",
    "wav": "audio/wav",
    "mp4": "video/mp4",
    "3gp": "video/3gpp",
    "mov": "video/quicktime",
}
DEFAULT_EXT: Final = {"image": "jpg", "audio": "mp3", "video": "mp4"}


@record(kw_only=True)
class AccountInfo:
    """onGetExtendAccount: the account's terms (``<account kind status creation expiration/>``)."""

    kind: str
    status: str
    creation: int
    expiration: int

    @classmethod
    def from_node(cls, node: Node | None) -> AccountInfo:
        node = node or Node("account")
        return cls(
            kind=node.get("kind", ""),
            status=node.get("status", ""),
            creation=int(node.get("creation") or 0),
            expiration=int(node.get("expiration") or 0),
        )


@record(kw_only=True)
class ServicePricing:
    """onGetServicePricing: the price of a year of service."""

    price: str
    cost: str
    currency: str
    expiration: int


@record(kw_only=True)
class UploadTicket:
    """The answer to an upload request: where to upload, or the stored duplicate."""

    url: str
    """The upload URL, or for a duplicate the URL the file is served at."""
    duplicate: bool
    ip: str | None = None
    type: str | None = None
    mimetype: str | None = None
    size: int | None = None
    filehash: str | None = None
    width: str | None = None
    height: str | None = None


class AccountApi(ClientCore):
    """Account, media upload and calls."""

    connector: HttpOpener | None = None
    """How this client reached the service (set by ``open_client``): media HTTP goes
    through it (in-process without sockets, or TCP) when no ``via`` is given."""

    # ---------------------------------------------------------------- media (§3.9, §4.7)

    async def request_upload(
        self, file_hash: str, media_type: str, size: int, *, orighash: str | None = None
    ) -> UploadTicket:
        """Ask for an upload slot for a file (``w:m``); says so if the service has it already."""
        attrs = {"hash": file_hash, "type": media_type, "size": str(size)}
        if orighash is not None:
            attrs["orighash"] = orighash
        answer = await self.iq(
            stanzas.iq.request("set", [Node("media", attrs)], xmlns="w:m", to=SERVER)
        )
        duplicate = answer.child("duplicate")
        if duplicate is not None:
            return UploadTicket(
                url=duplicate.get("url", ""),
                duplicate=True,
                ip=duplicate.get("ip"),
                type=duplicate.get("type"),
                mimetype=duplicate.get("mimetype"),
                size=int(duplicate.get("size") or size),
                filehash=duplicate.get("filehash"),
                width=duplicate.get("width"),
                height=duplicate.get("height"),
            )
        media = answer.child("media")
        if media is None or not media.get("url"):
            raise IqError(answer)
        return UploadTicket(url=media.get("url", ""), duplicate=False, ip=media.get("ip"))

    async def upload_media(
        self,
        to: str,
        media: bytes | str | PurePath,
        media_type: str,
        *,
        filename: str | None = None,
        mimetype: str | None = None,
        caption: str | None = None,
        thumbnail: bytes | None = None,
        voice: bool = False,
        via: HttpOpener | Server | None = None,
        **attrs: str,
    ) -> MediaMessageSent:
        """sendMessageImage / sendMessageAudio / sendMessageVideo: upload a file and send it.

        ``media`` is the file's bytes or a path. The ``w:m`` request comes first; the file
        is POSTed to the slot it names (unless the service has it already), then the media
        message goes out with the served URL. ``voice`` marks audio as a voice note
        (``origin="live"``); ``attrs`` adds attributes to ``<media>`` (``duration``...).
        The result is also raised as an event.

        Raises:
            IqError: the service refused the upload (e.g. 406 for an oversize file).
            HttpError: the HTTP upload failed.
            (Both raise :class:`MediaUploadFailed` as an event first.)
        """
        if isinstance(media, bytes):
            data = media
        else:
            data = await trio.Path(media).read_bytes()
            filename = filename or PurePath(media).name
        ext = (filename or "").rpartition(".")[2].lower() if filename and "." in filename else ""
        ext = ext or _sniff(data) or DEFAULT_EXT.get(media_type, "bin")
        mimetype = mimetype or MIMETYPES.get(ext, "application/octet-stream")
        file_hash = base64.b64encode(hashlib.sha256(data).digest()).decode()
        request = stanzas.iq.request("set", xmlns="w:m", to=SERVER)
        try:
            ticket = await self.request_upload(file_hash, media_type, len(data))
            info: dict[str, object]
            if ticket.duplicate:
                info = {
                    "url": ticket.url,
                    "mimetype": ticket.mimetype or mimetype,
                    "name": ticket.url.rsplit("/", 1)[-1],
                    "width": ticket.width,
                    "height": ticket.height,
                }
            else:
                info = await self._post_file(
                    ticket.url, to, data, ext, mimetype, via or self.connector
                )
        except (IqError, HttpError) as exc:
            failed = exc.node if isinstance(exc, IqError) else request
            self._emit(MediaUploadFailed(node=failed, reason=str(exc)))
            raise
        url = str(info["url"])
        filename = str(info.get("name") or f"{hashlib.md5(data).hexdigest()}.{ext}")
        media_attrs = {
            "mimetype": str(info.get("mimetype") or mimetype),
            "filehash": file_hash,
            "file": filename,
        }
        if caption is not None:
            media_attrs["caption"] = caption
        if voice:
            media_attrs["origin"] = "live"
        if media_type in ("image", "video"):
            media_attrs["width"] = str(attrs.pop("width", info.get("width") or 0))
            media_attrs["height"] = str(attrs.pop("height", info.get("height") or 0))
        media_attrs.update(attrs)
        payload = stanzas.message.media(
            media_type, url, size=len(data), thumbnail=thumbnail, **media_attrs
        )
        msg_id = self.new_id()
        message = stanzas.message.outgoing(user_jid(to), msg_id, [payload], type="media")
        await self.send(message)
        sent = MediaMessageSent(
            node=message,
            to=user_jid(to),
            id=msg_id,
            filetype=media_type,
            url=url,
            filename=filename,
            filesize=len(data),
            filehash=file_hash,
            caption=caption,
            duplicate=ticket.duplicate,
        )
        self._emit(sent)
        return sent

    async def _post_file(
        self,
        url: str,
        to: str,
        data: bytes,
        ext: str,
        mimetype: str,
        via: HttpOpener | Server | None,
    ) -> dict[str, object]:
        """The HTTP upload (§4.7): multipart ``to``, ``from``, ``file``; a JSON line back."""
        name = f"{hashlib.md5(data).hexdigest()}.{ext}"
        head = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="to"\r\n\r\n{user_jid(to)}\r\n'
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="from"\r\n\r\n{self.phone}\r\n'
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            f"Content-Type: {mimetype}\r\n\r\n"
        ).encode()
        body = head + data + f"\r\n--{BOUNDARY}--\r\n".encode()
        headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
        reply = await http_request("POST", url, via=via, headers=headers, body=body)
        answer = _json_line(reply.body)
        if reply.status != 200 or answer is None or not answer.get("url"):
            detail = answer.get("error") if answer else reply.body[:200]
            raise HttpError(
                f"upload refused: HTTP {reply.status} {detail}",
                status=reply.status,
                body=reply.body,
            )
        return answer

    async def download_media(self, url: str, *, via: HttpOpener | Server | None = None) -> bytes:
        """Fetch a media file by the URL a message carried (plain HTTP GET).

        Raises:
            HttpError: not found (``status`` 404) or not reachable.
        """
        reply = await http_request("GET", url, via=via or self.connector)
        if reply.status != 200:
            raise HttpError(f"GET {url}: HTTP {reply.status}", status=reply.status, body=reply.body)
        return reply.body

    async def ack_download(self, url: str) -> None:
        """Tell the service a media file was downloaded (``w:m <ack url/>``, as Chat-API does)."""
        await self.iq(
            stanzas.iq.request("set", [Node("ack", {"url": url})], xmlns="w:m", to=SERVER)
        )

    # ---------------------------------------------------------------- account (§3.8)

    async def change_number(self, old_phone: str, identity: str | bytes) -> AccountInfo:
        """sendChangeNumber: move the old number's account to this (newly registered) one.

        ``identity`` is the one the old number registered with. Returns the terms the
        account keeps.

        Raises:
            IqError: 401 (wrong identity) or 404 (no such number).
        """
        raw = identity.encode("latin-1") if isinstance(identity, str) else identity
        modify = Node(
            "modify", children=[Node("username", data=old_phone), Node("password", data=raw)]
        )
        answer = await self.iq(stanzas.iq.request("get", [modify], xmlns=ACCOUNT, to="c.us"))
        result = answer.child("modify")
        return AccountInfo.from_node(result.child("account") if result is not None else None)

    async def remove_account(
        self, *, feedback: str | None = None, lg: str = "en", lc: str = "US"
    ) -> None:
        """sendRemoveAccount: delete this account; the service then closes the connection."""
        children = [Node("body", {"lg": lg, "lc": lc}, data=feedback)] if feedback else []
        await self.iq(
            stanzas.iq.request("get", [Node("remove", children=children)], xmlns=ACCOUNT, to=SERVER)
        )

    async def get_service_pricing(self, lg: str = "en", lc: str = "US") -> ServicePricing:
        """sendGetServicePricing: the price of a year of service."""
        answer = await self.iq(
            stanzas.iq.request(
                "get", [Node("pricing", {"lg": lg, "lc": lc})], xmlns=ACCOUNT, to=SERVER
            )
        )
        pricing = answer.child("pricing") or Node("pricing")
        return ServicePricing(
            price=pricing.get("price", ""),
            cost=pricing.get("cost", ""),
            currency=pricing.get("currency", ""),
            expiration=int(pricing.get("expiration") or 0),
        )

    async def extend_account(self) -> AccountInfo:
        """sendExtendAccount: the account's terms (onGetExtendAccount)."""
        answer = await self.iq(
            stanzas.iq.request("set", [Node("extend")], xmlns=ACCOUNT, to=SERVER)
        )
        return AccountInfo.from_node(answer.child("account"))

    async def set_recovery_token(self, token: str | bytes) -> None:
        """sendSetRecoveryToken: store a token for recovering the account."""
        pin = Node("pin", {"xmlns": "w:ch:p"}, data=token)
        await self.iq(stanzas.iq.request("set", [pin], to=SERVER))

    async def clear_dirty(self, categories: Iterable[str]) -> None:
        """sendClearDirty: clear dirty flags (``groups``...) after re-fetching them."""
        cleans = [Node("clean", {"type": c}) for c in categories]
        await self.iq(stanzas.iq.request("set", cleans, xmlns="urn:xmpp:whatsapp:dirty", to=SERVER))

    # ---------------------------------------------------------------- calls (§3.18)

    async def confirm_call(self, call: CallReceived) -> None:
        """Confirm an incoming call offer with a receipt (yowsup and Chat-API do it unasked)."""
        offer = Node("offer", {"call-id": call.call_id})
        await self.send(stanzas.receipt.call_receipt(call.from_, call.id, offer))

    async def reject_call(self, call: CallReceived) -> None:
        """rejectCall: decline an incoming call; the caller is told if connected."""
        reject = Node("reject", {"call-id": call.call_id})
        await self.send(Node("call", {"to": call.from_, "id": call.id}, [reject]))


def _sniff(data: bytes) -> str | None:
    """The extension of a PNG, GIF or JPEG file, told by its first bytes."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    return None


def _json_line(body: bytes) -> dict[str, object] | None:
    """The first line that starts with ``{``, parsed (what yowsup looks for, §4.7)."""
    for line in body.decode("utf-8", "replace").splitlines():
        if line.startswith("{"):
            try:
                value = json.loads(line)
            except ValueError:
                return None
            return value if isinstance(value, dict) else None
    return None
