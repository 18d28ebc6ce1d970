"""Media: the w:m upload request, the HTTP upload and download, duplicates, limits (§3.9, §4.7)."""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from pathlib import Path

import pytest
import trio
import trio.testing

from simulator.client import HttpError, IqError, open_client
from simulator.client import events as ev
from simulator.client.events import MediaMessageSent, MediaUploadFailed
from simulator.server import Server, ServerConfig, open_server
from simulator.server.flows.media import image_size
from simulator.server.http import MAX_BODY, REQUEST_TIMEOUT
from simulator.server.server import DEFAULT_PROPS
from simulator.wire.node import Node
from tests.server.conftest import ALICE, BOB, PASSWORD, OpenUser

ALICE_JID = f"{ALICE}@s.whatsapp.net"
BOB_JID = f"{BOB}@s.whatsapp.net"


def png(width: int, height: int, filler: bytes = b"pixels") -> bytes:
    """The start of a PNG file: signature and IHDR (enough for the size), then filler."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr + b"\0\0\0\0" + filler


def b64sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def recorder(server: Server, jid: str) -> list[Node]:
    """Every stanza the server queues for ``jid``."""
    seen: list[Node] = []
    server.tap(
        lambda direction, who, node: seen.append(node) if (direction, who) == ("out", jid) else None
    )
    return seen


async def http_exchange(stream: trio.abc.Stream, request: bytes) -> bytes:
    """Send raw bytes, read until the server closes."""
    await stream.send_all(request)
    data = b""
    with trio.fail_after(5):
        while chunk := await stream.receive_some():
            data += chunk
    return data


# -------------------------------------------------------------------- the whole flow


async def test_upload_send_and_download_an_image(server: Server, user: OpenUser) -> None:
    host, port = await server.listen_http()
    image = png(640, 480)
    to_alice = recorder(server, ALICE_JID)
    async with user(ALICE) as alice, user(BOB) as bob:
        sent = await alice.upload_media(BOB_JID, image, "image", filename="cat.png", caption="look")
        got = await bob.wait_for(ev.GetImage, timeout=5)
        fetched = await bob.download_media(got.url or "")
        event = await alice.wait_for(MediaMessageSent, timeout=5)
    token_url = next(n for n in to_alice if n.tag == "iq" and n.child("media") is not None)
    upload_url = token_url.children[0].get("url", "")
    token = upload_url.rsplit("/", 1)[-1]
    assert token_url == Node(
        "iq",
        {"from": "s.whatsapp.net", "id": token_url.get("id", ""), "type": "result"},
        [Node("media", {"url": f"http://{host}:{port}/u/{token}"})],
    )
    file_hash = b64sha256(image)
    served = f"http://{host}:{port}/d/{token}/{token}.png"
    assert got.media == Node(
        "media",
        {
            "type": "image",
            "url": served,
            "mimetype": "image/png",
            "filehash": file_hash,
            "size": str(len(image)),
            "file": f"{token}.png",
            "encoding": "raw",
            "width": "640",
            "height": "480",
            "caption": "look",
        },
    )
    assert fetched == image
    assert event == sent
    assert (sent.url, sent.filehash, sent.filesize, sent.duplicate) == (
        served,
        file_hash,
        len(image),
        False,
    )
    stored = server.state.media[file_hash]
    assert (stored.size, stored.mimetype, stored.type, stored.url, stored.data) == (
        len(image),
        "image/png",
        "image",
        served,
        image,
    )
    assert server.http.uploads == {}  # the slot is used up


async def test_a_path_and_voice_note_flags(server: Server, user: OpenUser, tmp_path: Path) -> None:
    await server.listen_http()
    path = tmp_path / "note.ogg"
    path.write_bytes(b"OggS voice")
    async with user(ALICE) as alice, user(BOB) as bob:
        await alice.upload_media(BOB_JID, path, "audio", voice=True, duration="3")
        got = await bob.wait_for(ev.GetAudio, timeout=5)
    assert got.media.get("mimetype") == "audio/ogg"
    assert got.media.get("origin") == "live"
    assert got.media.get("duration") == "3"
    assert got.media.get("width") is None


async def test_a_stored_file_is_a_duplicate_and_is_not_uploaded_again(
    server: Server, user: OpenUser
) -> None:
    await server.listen_http()
    image = png(32, 16)
    async with user(ALICE) as alice, user(BOB) as bob:
        first = await alice.upload_media(BOB_JID, image, "image")
        stored_before = dict(server.state.media)
        ticket = await bob.request_upload(b64sha256(image), "image", len(image))
        again = await bob.upload_media(ALICE_JID, image, "image")
        got = await alice.wait_for(ev.GetImage, timeout=5)
    stored = server.state.media[b64sha256(image)]
    assert ticket.duplicate
    assert (ticket.url, ticket.type, ticket.mimetype, ticket.size, ticket.filehash) == (
        stored.url,
        "image",
        "image/png",
        len(image),
        stored.hash,
    )
    assert (ticket.width, ticket.height) == ("32", "16")
    assert again.duplicate and again.url == first.url
    assert got.url == first.url and got.media.get("width") == "32"
    assert server.state.media == stored_before
    assert server.http.uploads == {}  # the duplicate handed out no slot


async def test_the_duplicate_node_is_exactly_as_documented(server: Server, user: OpenUser) -> None:
    await server.listen_http()
    image = png(2, 3)
    to_bob = recorder(server, BOB_JID)
    async with user(ALICE) as alice, user(BOB) as bob:
        await alice.upload_media(BOB_JID, image, "image")
        await bob.request_upload(b64sha256(image), "image", len(image))
    answer = next(n for n in to_bob if n.tag == "iq" and n.child("duplicate") is not None)
    stored = server.state.media[b64sha256(image)]
    assert answer.children == (
        Node(
            "duplicate",
            {
                "url": stored.url,
                "type": "image",
                "mimetype": "image/png",
                "size": str(len(image)),
                "filehash": stored.hash,
                "width": "2",
                "height": "3",
            },
        ),
    )


async def test_same_hash_other_size_is_not_a_duplicate(server: Server, user: OpenUser) -> None:
    await server.listen_http()
    image = png(1, 1)
    async with user(ALICE) as alice:
        await alice.upload_media(BOB_JID, image, "image")
        ticket = await alice.request_upload(b64sha256(image), "image", len(image) + 1)
    assert not ticket.duplicate and "/u/" in ticket.url


async def test_in_process_upload_with_an_advertised_url(server: Server, user: OpenUser) -> None:
    server.http.advertised_url = "https://mms.example.net/"
    async with user(ALICE) as alice, user(BOB) as bob:
        sent = await alice.upload_media(BOB_JID, b"\xff\xd8 not really", "image", via=server)
        got = await bob.wait_for(ev.GetImage, timeout=5)
        data = await bob.download_media(got.url or "", via=server)
    assert sent.url.startswith("https://mms.example.net/d/")
    assert got.url == sent.url and data == b"\xff\xd8 not really"
    assert got.media.get("width") == "0"  # no size could be read from these bytes


# -------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("media_type", "limit"),
    [("image", 5120 * 1024), ("audio", 16 * 1024 * 1024), ("video", 16 * 1024 * 1024)],
)
async def test_oversize_files_are_not_acceptable(
    server: Server, user: OpenUser, media_type: str, limit: int
) -> None:
    await server.listen_http()
    async with user(ALICE) as alice:
        ok = await alice.request_upload("aGFzaA==", media_type, limit)
        with pytest.raises(IqError) as info:
            await alice.request_upload("aGFzaA==", media_type, limit + 1)
    assert not ok.duplicate
    assert info.value.node.children == (Node("error", {"code": "406", "text": "not-acceptable"}),)


async def test_an_oversize_upload_fails_with_an_event() -> None:
    config = ServerConfig(props={**DEFAULT_PROPS, "image_max_kbytes": "1"})
    async with open_server(accounts=[(ALICE, PASSWORD), (BOB, PASSWORD)], config=config) as server:
        await server.listen_http()
        async with open_client(server, ALICE, PASSWORD) as alice:
            with pytest.raises(IqError) as info:
                await alice.upload_media(BOB_JID, png(4, 4, b"x" * 1024), "image")
            failed = await alice.wait_for(MediaUploadFailed, timeout=5)
    assert info.value.code == 406
    assert failed.node == info.value.node
    assert server.state.media == {}


@pytest.mark.parametrize(
    "media",
    [
        Node("media", {"type": "image", "size": "10"}),
        Node("media", {"hash": "aA==", "type": "sticker", "size": "10"}),
        Node("media", {"hash": "aA==", "type": "image", "size": "ten"}),
    ],
)
async def test_malformed_upload_requests_are_bad_requests(
    server: Server, user: OpenUser, media: Node
) -> None:
    async with user(ALICE) as alice:
        with pytest.raises(IqError) as info:
            await alice.iq(
                Node("iq", {"type": "set", "xmlns": "w:m", "to": "s.whatsapp.net"}, [media])
            )
    assert info.value.code == 400


async def test_without_an_http_endpoint_uploads_are_unavailable(
    server: Server, user: OpenUser
) -> None:
    async with user(ALICE) as alice:
        with pytest.raises(IqError) as info:
            await alice.request_upload("aGFzaA==", "image", 10)
    assert (info.value.code, info.value.text) == (503, "service-unavailable")


async def test_an_upload_that_does_not_match_the_request_is_refused(
    server: Server, user: OpenUser
) -> None:
    await server.listen_http()
    async with user(ALICE) as alice:
        ticket = await alice.request_upload(b64sha256(b"announced"), "image", len(b"announced"))
        with pytest.raises(HttpError) as info:
            await alice._post_file(ticket.url, BOB_JID, b"different", "jpg", "image/jpeg", None)
    assert info.value.status == 400
    assert json.loads(info.value.body) == {
        "error": "file does not match the announced hash and size"
    }
    assert server.state.media == {}


async def test_unknown_upload_slots_and_files_are_not_found(server: Server, user: OpenUser) -> None:
    host, port = await server.listen_http()
    async with user(ALICE) as alice:
        with pytest.raises(HttpError) as upload:
            await alice._post_file(
                f"http://{host}:{port}/u/nope", BOB_JID, b"x", "jpg", "image/jpeg", None
            )
        with pytest.raises(HttpError) as download:
            await alice.download_media(f"http://{host}:{port}/d/nope/x.jpg")
    assert (upload.value.status, download.value.status) == (404, 404)


async def test_the_download_ack_is_answered(server: Server, user: OpenUser) -> None:
    to_alice = recorder(server, ALICE_JID)
    async with user(ALICE) as alice:
        await alice.ack_download("http://127.0.0.1/d/x/x.jpg")
        with pytest.raises(IqError) as info:
            await alice.iq(
                Node("iq", {"type": "set", "xmlns": "w:m", "to": "s.whatsapp.net"}, [Node("ack")])
            )
    answers = [n for n in to_alice if n.tag == "iq"]
    assert answers[0] == Node(
        "iq", {"from": "s.whatsapp.net", "id": answers[0].get("id", ""), "type": "result"}
    )
    assert info.value.code == 400


# -------------------------------------------------------------------- the HTTP endpoint itself


async def test_yowsups_versionless_request_line_is_served(server: Server, user: OpenUser) -> None:
    host, port = await server.listen_http()
    image = png(7, 9)
    async with user(ALICE) as alice:
        ticket = await alice.request_upload(b64sha256(image), "image", len(image))
    boundary = "zzXXzzYYzzXXzzQQ"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="to"\r\n\r\n{BOB_JID}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="from"\r\n\r\n{ALICE}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="abc.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()
    body = head + image + f"\r\n--{boundary}--\r\n".encode()
    request = (
        f"POST {ticket.url}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Host: {host}\r\nUser-Agent: WhatsApp/2.12.53 S40Version/14.26 Device/Nokia302\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    stream = await trio.open_tcp_stream(host, port)
    async with stream:
        reply = await http_exchange(stream, request)  # returns only once the server closed
    assert reply.startswith(b"HTTP/1.1 200 OK\r\n")
    line = next(raw for raw in reply.decode().splitlines() if raw.startswith("{"))
    token = ticket.url.rsplit("/", 1)[-1]
    assert json.loads(line) == {
        "name": f"{token}.png",
        "url": f"http://{host}:{port}/d/{token}/{token}.png",
        "size": str(len(image)),
        "mimetype": "image/png",
        "type": "image",
        "filehash": b64sha256(image),
        "width": "7",
        "height": "9",
    }


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GARBAGE\x00\r\n\r\n", b"400"),
        (b"GET /v2/code HTTP/1.1\r\nbad header line\r\n\r\n", b"400"),
        (b"GET /nothing/here HTTP/1.1\r\nHost: x\r\n\r\n", b"404"),
        (b"DELETE /v2/code HTTP/1.1\r\nHost: x\r\n\r\n", b"405"),
        (b"GET /u/token HTTP/1.1\r\nHost: x\r\n\r\n", b"405"),
        (
            f"POST /u/x HTTP/1.1\r\nHost: x\r\nContent-Length: {MAX_BODY + 1}\r\n\r\n".encode(),
            b"413",
        ),
    ],
)
async def test_bad_requests_get_an_error_and_the_server_goes_on(
    server: Server, request_bytes: bytes, status: bytes
) -> None:
    reply = await http_exchange(await server.connect_http(), request_bytes)
    assert reply.startswith(b"HTTP/1.1 " + status + b" ")
    assert b"connection: close" in reply.lower()
    fine = await http_exchange(await server.connect_http(), b"GET /v2/exist?cc=1 HTTP/1.0\r\n\r\n")
    assert fine.startswith(b"HTTP/1.1 200 OK\r\n")


async def test_a_stalled_request_is_dropped(
    server: Server, autojump_clock: trio.testing.MockClock
) -> None:
    stream = await server.connect_http()
    await stream.send_all(b"POST /v2/code HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
    start = trio.current_time()
    assert await stream.receive_some() == b""  # closed without an answer
    assert trio.current_time() - start == pytest.approx(REQUEST_TIMEOUT)
    await trio.testing.wait_all_tasks_blocked()
    assert server.http.active == 0


async def test_a_peer_that_hangs_up_early_affects_nobody(server: Server) -> None:
    stream = await server.connect_http()
    await stream.send_all(b"GET /v2/co")
    await stream.aclose()
    fine = await http_exchange(await server.connect_http(), b"GET /v2/exist HTTP/1.0\r\n\r\n")
    assert fine.startswith(b"HTTP/1.1 200 OK\r\n")


def test_image_sizes_are_read_from_png_gif_and_jpeg_headers() -> None:
    gif = b"GIF89a" + struct.pack("<HH", 320, 200) + b"\0" * 8
    jpeg = (
        b"\xff\xd8"
        + b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
        + b"\xff\xc0\x00\x11\x08"
        + struct.pack(">HH", 480, 640)
        + b"\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    )
    assert image_size(png(10, 20)) == (10, 20)
    assert image_size(gif) == (320, 200)
    assert image_size(jpeg) == (640, 480)
    assert image_size(b"not an image") is None
    assert image_size(b"\xff\xd8\x00garbage") is None
