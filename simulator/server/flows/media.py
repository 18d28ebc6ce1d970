"""Media: the ``w:m`` upload request and download ack (§3.9), HTTP upload and download (§4.7).

A client asks for an upload slot with ``<media hash type size/>``. A file already stored
with the same hash and size is answered ``<duplicate .../>`` with its URL, and no upload
happens. Otherwise the answer is ``<media url="<base>/u/<token>"/>``: the client POSTs the
file there (multipart, fields ``to``, ``from``, ``file``), gets a JSON line with the
download URL ``<base>/d/<token>/<name>``, and sends a media message with it. Recipients
fetch the file with a plain GET on that URL.

Limits (§3.1 server properties): an image may be ``image_max_kbytes`` KiB, audio and
video ``media`` MiB. A larger request is refused ``406 not-acceptable`` (§4.2: "value out
of limits"). An upload whose bytes do not match the announced hash and size is refused
with HTTP 400 and a JSON ``error`` line (the client's upload fails, §3.9
onMediaUploadFailed); so is a POST to a token nobody was given (404).
"""

from __future__ import annotations

import base64
import hashlib
import struct
from typing import TYPE_CHECKING, Final

from simulator.errors import StanzaError
from simulator.records import record
from simulator.server.parse import int_or, parse_size
from simulator.server.state import MediaFile, UploadSlot
from simulator.server.web import HttpRefusal, HttpResponse
from simulator.wire.node import Node

if TYPE_CHECKING:
    from simulator.server.context import HandlerContext
    from simulator.server.router import Router
    from simulator.server.server import Server
    from simulator.server.web import HttpRequest

__all__ = [
    "DEFAULT_MIMETYPES",
    "DOWNLOAD_PREFIX",
    "MEDIA_TYPES",
    "UPLOAD_PREFIX",
    "UploadSlot",
    "http_download",
    "http_upload",
    "image_size",
    "register",
    "size_limit",
    "unknown_upload",
]

MEDIA_TYPES: Final = ("image", "audio", "video")
UPLOAD_PREFIX: Final = "/u/"
DOWNLOAD_PREFIX: Final = "/d/"
DEFAULT_MIMETYPES: Final = {"image": "image/jpeg", "audio": "audio/mpeg", "video": "video/mp4"}
"""The type a stored file gets when its upload part has no ``Content-Type``."""
MAX_SLOTS_PER_USER: Final = 64
"""Unused upload slots kept per user; asking for more forgets the oldest."""


def register(router: Router) -> None:
    router.add("iq", handle_request_upload, type="set", xmlns="w:m", child="media", section="§3.9")
    router.add("iq", handle_download_ack, type="set", xmlns="w:m", child="ack", section="§3.9")
    router.http_route(
        UPLOAD_PREFIX, http_upload, methods=("POST",), prefix=True, body_limit=upload_limit
    )
    router.http_route("/", http_download, prefix=True)  # a stored file, at the path of its URL


def upload_limit(server: Server, path: str) -> int:
    """The largest upload body: the slot's announced size plus the multipart form around
    it (never above ``http_max_body``); a token nobody was given is refused at once."""
    config = server.config
    slot = server.state.uploads.get(path[len(UPLOAD_PREFIX) :])
    if slot is None:
        raise HttpRefusal(unknown_upload())
    return min(config.http_max_body, slot.size + config.http_max_form)


def size_limit(server: Server, media_type: str) -> int:
    """Largest file of this type, in bytes: ``image_max_kbytes`` KiB or ``media`` MiB (§3.1)."""
    props = server.config.props
    if media_type == "image":
        return int_or(props.get("image_max_kbytes"), 5120) * 1024
    return int_or(props.get("media"), 16) * 1024 * 1024


async def handle_request_upload(ctx: HandlerContext, node: Node) -> None:
    """Hand out an upload slot, or the stored file's URL when it is a duplicate."""
    media = node.children[0]
    file_hash, media_type, size_text = media.get("hash"), media.get("type"), media.get("size", "")
    if not file_hash or media_type not in MEDIA_TYPES:
        raise StanzaError(400, "bad-request")
    size = parse_size(size_text, "size", maximum=2**63 - 1)
    if size > size_limit(ctx.server, media_type):
        raise StanzaError(406, "not-acceptable")
    stored = ctx.state.media.get(file_hash)
    if stored is not None and stored.size == size:
        ctx.result(node, [duplicate_node(stored)])
        return
    base = ctx.server.http.base_url
    if base is None:
        raise StanzaError(503, "service-unavailable")  # no HTTP endpoint to upload to
    token = ctx.server.secrets.token()
    slot = UploadSlot(token, ctx.jid, media_type, file_hash, size)
    ctx.state.open_upload(slot, MAX_SLOTS_PER_USER)
    ctx.result(node, [Node("media", {"url": f"{base}{UPLOAD_PREFIX}{token}"})])


def duplicate_node(stored: MediaFile) -> Node:
    """``<duplicate url type mimetype size filehash [width height]/>`` (§3.9)."""
    attrs = {
        "url": stored.url,
        "type": stored.type,
        "mimetype": stored.mimetype,
        "size": str(stored.size),
        "filehash": stored.hash,
    }
    if stored.width is not None and stored.height is not None:
        attrs.update(width=str(stored.width), height=str(stored.height))
    return Node("duplicate", attrs)


async def handle_download_ack(ctx: HandlerContext, node: Node) -> None:
    """A client says it downloaded a file (Chat-API, after an image): acknowledged."""
    if not node.children[0].get("url"):
        raise StanzaError(400, "bad-request")
    ctx.result(node)


# -------------------------------------------------------------------- HTTP


def unknown_upload() -> HttpResponse:
    """The answer to a POST at a token no ``w:m`` iq handed out (or already used)."""
    return HttpResponse.json({"error": "unknown upload"}, 404)


def http_upload(server: Server, request: HttpRequest) -> HttpResponse:
    """Store the file POSTed to an upload slot; answer its download URL as a JSON line."""
    token = request.path[len(UPLOAD_PREFIX) :]
    slot = server.state.uploads.get(token)
    if slot is None:
        return unknown_upload()
    boundary = _boundary(request.headers.get("content-type", ""))
    if boundary is None:
        return HttpResponse.json({"error": "multipart/form-data expected"}, 400)
    part = _parse_multipart(request.body, boundary).get("file")
    if part is None:
        return HttpResponse.json({"error": "no file field"}, 400)
    data = part.content
    file_hash = base64.b64encode(hashlib.sha256(data).digest()).decode()
    if len(data) != slot.size or file_hash != slot.hash:
        return HttpResponse.json({"error": "file does not match the announced hash and size"}, 400)
    server.state.close_upload(token)
    stored = server.state.media.get(file_hash)
    if stored is None or stored.size != slot.size:
        stored = _store(server, slot, part, data)
    return HttpResponse.json(upload_answer(stored))


def _store(server: Server, slot: UploadSlot, part: _Part, data: bytes) -> MediaFile:
    base = server.http.base_url or ""
    ext = part.filename.rpartition(".")[2] if "." in part.filename else ""
    name = f"{slot.token}.{ext}" if ext.isalnum() else slot.token
    path = f"{DOWNLOAD_PREFIX}{slot.token}/{name}"
    dims = image_size(data) if slot.type == "image" else None
    stored = MediaFile(
        hash=slot.hash,
        size=slot.size,
        mimetype=part.content_type or DEFAULT_MIMETYPES[slot.type],
        type=slot.type,
        name=name,
        url=base + path,
        data=data,
        width=dims[0] if dims else None,
        height=dims[1] if dims else None,
    )
    server.state.store_upload(stored, path)
    return stored


def upload_answer(stored: MediaFile) -> dict[str, str]:
    """The upload's JSON answer (§4.7): every value a string, as the real service sent."""
    answer = {
        "name": stored.name,
        "url": stored.url,
        "size": str(stored.size),
        "mimetype": stored.mimetype,
        "type": stored.type,
        "filehash": stored.hash,
    }
    if stored.width is not None and stored.height is not None:
        answer.update(width=str(stored.width), height=str(stored.height))
    return answer


def http_download(server: Server, request: HttpRequest) -> HttpResponse:
    """A stored file at the path of its URL; 404 for anything else."""
    stored = _by_path(server, request.path)
    if stored is None:
        return HttpResponse.text(404)
    return HttpResponse(200, stored.data, stored.mimetype)


def _by_path(server: Server, path: str) -> MediaFile | None:
    state = server.state
    stored = state.media.get(state.media_paths.get(path, ""))
    if stored is not None and _url_path(stored.url) == path:
        return stored
    for stored in state.media.values():  # files put into the state directly
        if _url_path(stored.url) == path:
            state.store_upload(stored, path)  # indexes it: found at once next time
            return stored
    return None


def _url_path(url: str) -> str:
    rest = url.split("://", 1)[-1]
    slash = rest.find("/")
    return rest[slash:] if slash >= 0 else "/"


# -------------------------------------------------------------------- multipart


@record
class _Part:
    name: str
    filename: str
    content_type: str
    content: bytes


def _boundary(content_type: str) -> bytes | None:
    kind, _, params = content_type.partition(";")
    if kind.strip().lower() != "multipart/form-data":
        return None
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.lower() == "boundary" and value:
            return value.strip('"').encode("latin-1")
    return None


def _parse_multipart(body: bytes, boundary: bytes) -> dict[str, _Part]:
    """The parts of a ``multipart/form-data`` body by field name (RFC 7578), bytes untouched."""
    parts: dict[str, _Part] = {}
    sections = (b"\r\n" + body).split(b"\r\n--" + boundary)
    for section in sections[1:]:
        if section.startswith(b"--"):
            break  # the close delimiter
        head, sep, content = section.partition(b"\r\n\r\n")
        if not sep:
            continue
        headers: dict[str, str] = {}
        for line in head.decode("latin-1").split("\r\n")[1:]:
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        params = _disposition(headers.get("content-disposition", ""))
        if "name" in params:
            parts[params["name"]] = _Part(
                params["name"], params.get("filename", ""), headers.get("content-type", ""), content
            )
    return parts


def _disposition(value: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for item in value.split(";")[1:]:
        key, _, raw = item.strip().partition("=")
        params[key.lower()] = raw.strip().strip('"')
    return params


# -------------------------------------------------------------------- image dimensions


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG, GIF or JPEG file, or ``None`` if it is none of them."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return width, height
    if data[:2] == b"\xff\xd8":
        return _jpeg_size(data)
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC) and pos + 9 <= len(data):
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return width, height
        pos += 2 + length
    return None
