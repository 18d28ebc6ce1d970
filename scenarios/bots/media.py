"""A media bot: it downloads each image it gets and answers with its size and checksum;
``send me the logo`` makes it upload an image of its own and send it.

Media travel over the service's HTTP side (upload slot, POST, download URL); a client
opened in-process reaches it without sockets, so this runs under virtual time too.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Final

from simulator.client import Client
from simulator.client.events import GetImage, GetMessage

LOGO: Final = Path(__file__).resolve().parent.parent / "media" / "logo.png"
LOGO_BYTES: Final = LOGO.read_bytes()
"""Read once at import: under virtual time a bot must not wait for threads (``trio.Path``
reads in one), as the clock jumps ahead while it waits."""


async def run(client: Client) -> None:
    """Answer images and requests until the connection ends."""
    async for event in client.events():
        if isinstance(event, GetImage):
            await client.send_text(event.chat, await describe(client, event))
        elif isinstance(event, GetMessage):
            if event.text.strip().casefold() == "send me the logo":
                await client.upload_media(
                    event.chat, LOGO_BYTES, "image", filename=LOGO.name, caption="Our logo"
                )
            else:
                await client.send_text(event.chat, "Send me an image, or say: send me the logo")


async def describe(client: Client, image: GetImage) -> str:
    """Fetch the file and say what it is; the checksum is compared with the message's."""
    data = await client.download_media(image.url or "")
    digest = hashlib.sha256(data).digest()
    claimed = image.media.get("filehash")
    check = "checksum ok" if claimed == base64.b64encode(digest).decode() else "CHECKSUM MISMATCH"
    size = f"{image.media.get('width')}x{image.media.get('height')} pixels"
    caption = f" ({image.caption})" if image.caption else ""
    checksum = digest.hex()[:12]
    return f"Got your image{caption}: {len(data)} bytes, {size}, sha256 {checksum}, {check}"
