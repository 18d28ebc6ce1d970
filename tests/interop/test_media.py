"""Media and registration over HTTPS with real yowsup clients and ``simulator serve --tls``.

``simulator serve --tls`` makes a local CA, serves the HTTP side over TLS and writes the CA
certificate; the yowsup drivers trust it through ``SSL_CERT_FILE`` (Python's ssl and
urllib read it). Media URLs are advertised as ``https://mmg.whatsapp.net/...``
(``--media-url``), the way the real service named them; yowsup always speaks to port 443
of a URL's host, so the drivers redirect the service hosts to the simulator's HTTPS port
inside their own process (``yowdriver.redirect_service_hosts``; tests/interop/README.md
lists every workaround).
"""

from __future__ import annotations

import hashlib
import io
import math
import struct
import wave
import zlib
from typing import TYPE_CHECKING

import pytest

from simulator.server import open_server
from simulator.server.tls import make_local_ca
from tests.interop.conftest import (
    ACCOUNTS,
    BOT_PHONE,
    USER_JID,
    USER_PHONE,
    Driver,
    Event,
    YowsupClient,
    clients_where,
    run_driver,
    simulator_serve,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

pytestmark = [pytest.mark.interop, pytest.mark.real_clock]

MEDIA_HOST = "https://mmg.whatsapp.net"


def png(width: int, height: int) -> bytes:
    """A small valid PNG (a grey gradient), made here: no image library needed."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(
        b"\x00" + b"".join(bytes((x * 255 // width,) * 3) for x in range(width))
        for _ in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def spoken_wav(seconds: float = 0.3, rate: int = 8000) -> bytes:
    """What a text-to-speech step would hand the bot: a mono 16-bit WAV (a 440 Hz tone)."""
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        frames = (
            int(8000 * math.sin(2 * math.pi * 440 * n / rate)) for n in range(int(seconds * rate))
        )
        wav.writeframes(b"".join(struct.pack("<h", f) for f in frames))
    return out.getvalue()


def media_of(kind: str) -> Callable[[Event], bool]:
    return lambda e: e["fields"].get("mediaType") == kind


async def send_and_fetch(
    sender: Driver, receiver: Driver, kind: str, path: Path, data: bytes, **extra: object
) -> Event:
    """The sender uploads ``path`` and sends it; the receiver gets the message and
    downloads the file from its URL; the bytes are the same."""
    await sender.command("media", to=USER_JID, type=kind, path=str(path), **extra)
    slot = await sender.wait_event("upload_slot")
    assert slot["url"].startswith(f"{MEDIA_HOST}/u/"), sender.report()
    uploaded = await sender.wait_event("uploaded", lambda e: e["path"] == str(path))
    got = await receiver.wait_event("media", media_of(kind))
    fields = got["fields"]
    assert fields["url"] == uploaded["url"] and fields["url"].startswith(f"{MEDIA_HOST}/d/")
    assert int(fields["size"]) == len(data)
    await receiver.command("download", url=fields["url"])
    downloaded = await receiver.wait_event("downloaded", lambda e: e["url"] == fields["url"])
    assert (downloaded["size"], downloaded["sha256"]) == (
        len(data),
        hashlib.sha256(data).hexdigest(),
    )
    return got


@pytest.mark.parametrize("yowsup", clients_where(lambda b: b.media_over_https), indirect=True)
async def test_a_yowsup_bot_sends_image_speech_video_location_and_vcard_over_https(
    yowsup: YowsupClient, tmp_path: Path
) -> None:
    """The acceptance case: a bot on yowsup uploads an image and a text-to-speech WAV (and
    a video) through ``simulator serve --tls``; the recipient, yowsup too, gets each
    message and downloads the file over HTTPS, byte for byte. Location and vCard follow."""
    ca = tmp_path / "ca.pem"
    options = ("--tls", "--http-port", "0", "--ca-cert", str(ca), "--media-url", MEDIA_HOST)
    image, speech, video = tmp_path / "cat.png", tmp_path / "answer.wav", tmp_path / "clip.mp4"
    files = {
        image: png(24, 16),
        speech: spoken_wav(),
        video: b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 4,
    }
    for path, data in files.items():
        path.write_bytes(data)
    async with simulator_serve(ACCOUNTS, tmp_path, *options) as serve:
        https = await serve.line_matching(r"https on (?P<host>\S+):(?P<port>\d+)")
        trust = await serve.line_matching(
            r"  yowsup / Python \(ssl, urllib, http.client\): SSL_CERT_FILE=(?P<ca>.+)"
        )
        assert trust["ca"] == str(ca.resolve()) and ca.read_bytes().startswith(
            b"-----BEGIN CERTIFICATE-----"
        )
        env = {"SIM_HTTP_PORT": https["port"], "SSL_CERT_FILE": str(ca)}
        async with (
            run_driver(
                yowsup, "user.py", port=serve.port, home=tmp_path / "bot", phone=BOT_PHONE, env=env
            ) as bot,
            run_driver(
                yowsup,
                "user.py",
                port=serve.port,
                home=tmp_path / "user",
                phone=USER_PHONE,
                env=env,
            ) as user,
        ):
            await bot.wait_event("authed")
            await user.wait_event("authed")
            shown = await send_and_fetch(
                bot, user, "image", image, files[image], width=24, height=16, caption="a cat"
            )
            assert (str(shown["fields"]["width"]), str(shown["fields"]["height"])) == ("24", "16")
            heard = await send_and_fetch(bot, user, "audio", speech, files[speech])
            assert heard["fields"]["mimeType"] in ("audio/x-wav", "audio/wav")  # per version
            await send_and_fetch(
                bot, user, "video", video, files[video], width=320, height=240, duration=2
            )

            await bot.command(
                "location", to=USER_JID, latitude="52.52393", longitude="13.41747", name="Berlin"
            )
            place = await user.wait_event("media", media_of("location"))
            assert (place["fields"]["latitude"], place["fields"]["longitude"]) == (
                "52.52393",
                "13.41747",
            )
            card = "BEGIN:VCARD\nVERSION:3.0\nFN:Alice\nTEL:+491110000001\nEND:VCARD"
            await bot.command("vcard", to=USER_JID, name="Alice", card=card)
            contact = await user.wait_event("media", media_of("vcard"))
            assert contact["fields"]["name"] == "Alice" and "FN:Alice" in str(
                contact["fields"]["card_data"]
            )
            for driver in (bot, user):
                assert driver.all("error") == [], driver.report()


@pytest.mark.parametrize("yowsup", clients_where(lambda b: b.media_over_https), indirect=True)
async def test_yowsup_registers_over_https_and_logs_in_with_the_password(
    yowsup: YowsupClient, tmp_path: Path
) -> None:
    """yowsup's ``WACodeRequest`` and ``WARegRequest``, unmodified, against the HTTPS side
    (certificate checked for ``v.whatsapp.net``); the issued password then logs in."""
    cc, number = "49", "1110000077"
    async with open_server(accounts=ACCOUNTS) as server:
        ca = make_local_ca()
        ca_path = tmp_path / "ca.pem"
        ca.write_ca(ca_path)
        _host, http_port = await server.listen_http(tls=ca.server_context())
        _host, port = await server.listen_tcp("127.0.0.1", 0)
        env = {
            "SIM_CC": cc,
            "SIM_NUMBER": number,
            "SIM_HTTP_PORT": str(http_port),
            "SSL_CERT_FILE": str(ca_path),
        }
        home = tmp_path / "phone"
        async with run_driver(
            yowsup, "register.py", "code", port=port, home=home, env=env
        ) as asked:
            assert await asked.wait_exit() == 0, asked.report()
        code_answer = asked.events[-1]
        assert code_answer["event"] == "code", asked.report()
        assert code_answer["result"]["status"] == "sent", asked.report()
        code = server.http.registrar.code_for(cc + number)
        assert code is not None
        async with run_driver(
            yowsup, "register.py", "register", code, port=port, home=home, env=env
        ) as registering:
            assert await registering.wait_exit() == 0, registering.report()
        result = registering.events[-1]["result"]
        assert (result["status"], result["login"], result["type"]) == ("ok", cc + number, "new")
        account = server.state.account(cc + number)
        assert account is not None and result["pw"] == account.password_b64
        async with run_driver(
            yowsup, "user.py", port=port, home=home, phone=cc + number, password=result["pw"]
        ) as phone:
            authed = await phone.wait_event("authed")
        assert int(authed["expiration"]) > int(authed["t"])
