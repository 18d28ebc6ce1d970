"""``simulator decode``: print the node held by hex bytes captured from the wire.

simulator decode --dialect 1.6 f8 03 01 3f 9b
echo 000005f803013f9b | simulator decode --dialect 1.6 --frame
"""

from __future__ import annotations

import re
import sys
from typing import TYPE_CHECKING, Final

from simulator.errors import FatalError, RemoteProtocolError
from simulator.wire.codec import decode
from simulator.wire.framing import HEADER_SIZE, FrameBuffer
from simulator.wire.tokens import Dialect

if TYPE_CHECKING:
    import argparse

    from simulator.cli import Subparsers
    from simulator.wire.node import Node

__all__ = ["NAME", "add_parser", "decode_bytes", "parse_hex", "run"]

NAME: Final = "decode"
HELP: Final = "print the node held by hex bytes (a node, or a whole plaintext frame)"
EPILOG: Final = """\
The input is the node bytes of one frame: a plaintext frame's payload, or an encrypted
frame's payload after decryption. With --frame it is a whole plaintext frame instead,
3-byte header included. Whitespace in the hex is ignored. Error offsets count bytes
from the start of the input.
"""

_NOT_HEX: Final = re.compile(r"[^0-9A-Fa-f\s]")


def add_parser(subparsers: Subparsers[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(NAME, help=HELP, description=HELP, epilog=EPILOG)
    parser.add_argument(
        "--dialect",
        required=True,
        choices=[d.value for d in Dialect],
        help="the connection's dialect: 1.5 (preamble WA 1 5) or 1.6 (WA 1 6)",
    )
    parser.add_argument(
        "--frame", action="store_true", help="the input starts with a plaintext frame header"
    )
    parser.add_argument(
        "--compact", action="store_true", help="print on one line (default: indented)"
    )
    parser.add_argument("hex", nargs="*", metavar="HEX", help="the bytes (default: stdin)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    text = " ".join(args.hex) if args.hex else sys.stdin.read()
    node = decode_bytes(parse_hex(text), Dialect(args.dialect), frame=args.frame)
    print(node.to_text(indent=None if args.compact else 2))
    return 0


def parse_hex(text: str) -> bytes:
    """Hex digits with any whitespace between them, or ``FatalError``."""
    bad = _NOT_HEX.search(text)
    if bad:
        raise FatalError(f"the input is not hex: {bad.group()!r} at character {bad.start()}")
    digits = "".join(text.split())
    if not digits:
        raise FatalError("no bytes to decode: give them as HEX arguments or on stdin")
    if len(digits) % 2:
        raise FatalError(f"the input has an odd number of hex digits ({len(digits)})")
    return bytes.fromhex(digits)


def decode_bytes(data: bytes, dialect: Dialect, *, frame: bool) -> Node:
    """The node in ``data`` (node bytes, or a whole plaintext frame), or ``FatalError``."""
    try:
        if frame:
            return _decode_frame(data, dialect)
        return decode(data, dialect)
    except RemoteProtocolError as exc:
        raise FatalError(f"cannot decode: {exc}") from None


def _decode_frame(data: bytes, dialect: Dialect) -> Node:
    buf = FrameBuffer()
    buf.feed(data)
    frame = buf.next_frame()
    if frame is None:
        if len(data) < HEADER_SIZE:
            raise FatalError(f"{len(data)} bytes are too short for a frame header")
        announced = int.from_bytes(data[:HEADER_SIZE], "big") & 0xFFFFF
        raise FatalError(
            f"the frame header announces {announced} bytes but {len(data) - HEADER_SIZE} follow"
        )
    if frame.encrypted:
        raise FatalError(
            "the frame at offset 0 is encrypted (flag 0x8): decrypt it and pass the node bytes"
            " without --frame"
        )
    if len(buf):
        raise FatalError(f"{len(buf)} bytes follow the frame, from offset {buf.offset}")
    return decode(frame.payload, dialect, base_offset=frame.payload_offset)
