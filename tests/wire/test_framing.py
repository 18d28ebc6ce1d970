"""Frame headers and the incremental frame buffer (PROTOCOL.md §1.3)."""

from __future__ import annotations

import doctest
from typing import Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.errors import LocalProtocolError, RemoteProtocolError
from simulator.wire import framing
from simulator.wire.codec import XML_NOT_WELL_FORMED
from simulator.wire.framing import (
    ENCRYPTED,
    HEADER_SIZE,
    MAX_PAYLOAD,
    Frame,
    FrameBuffer,
    frame_header,
)
from tests.golden import Session, sessions


def test_docstring_examples() -> None:
    assert doctest.testmod(framing).failed == 0


@pytest.mark.parametrize(
    ("length", "encrypted", "header"),
    [
        (0, False, "000000"),
        (5, False, "000005"),
        (0x12345, False, "012345"),
        (76, True, "80004c"),
        (MAX_PAYLOAD, True, "8fffff"),
    ],
)
def test_frame_header(length: int, encrypted: bool, header: str) -> None:
    assert frame_header(length, encrypted=encrypted).hex() == header


@pytest.mark.parametrize("length", [-1, MAX_PAYLOAD + 1])
def test_frame_header_refuses_impossible_lengths(length: int) -> None:
    with pytest.raises(LocalProtocolError, match="exceeds"):
        frame_header(length, encrypted=False)


def frame_bytes(payload: bytes, *, encrypted: bool = False) -> bytes:
    return frame_header(len(payload), encrypted=encrypted) + payload


def drain(buf: FrameBuffer) -> list[Frame]:
    frames = []
    while (frame := buf.next_frame()) is not None:
        frames.append(frame)
    return frames


def check_three_ways(stream: bytes, expected: list[Frame], *, preamble: int = 0) -> None:
    """h11's reader check: whole, one byte at a time, and with trailing bytes left alone."""
    # Whole.
    buf = FrameBuffer()
    buf.feed(stream)
    assert buf.take_exact(preamble) == stream[:preamble]
    assert drain(buf) == expected
    assert len(buf) == 0

    # One byte at a time: nothing comes out before its last byte is in.
    buf = FrameBuffer()
    got: list[Frame] = []
    ends = {f.offset + HEADER_SIZE + len(f.payload) for f in expected}
    for i in range(len(stream)):
        buf.feed(stream[i : i + 1])
        if i + 1 == preamble:
            assert buf.take_exact(preamble) == stream[:preamble]
        elif i + 1 < preamble:
            assert buf.take_exact(preamble) is None
            continue
        frames = drain(buf)
        assert len(frames) == (1 if i + 1 in ends else 0)
        got += frames
    assert got == expected

    # Trailing bytes: an incomplete next frame stays in the buffer, untouched.
    trailing = frame_bytes(b"next frame")[:-1]
    buf = FrameBuffer()
    buf.feed(stream + trailing)
    assert buf.take_exact(preamble) == stream[:preamble]
    assert drain(buf) == expected
    assert len(buf) == len(trailing)
    assert buf.offset == len(stream)
    assert buf.take_exact(len(trailing)) == trailing


def test_frames_three_ways() -> None:
    payloads = [b"\xf8\x01\x02", b"", b"x" * 300, b"\x00" * 3]
    stream = b"WA\x01\x06"
    expected = []
    for i, payload in enumerate(payloads):
        encrypted = i % 2 == 1
        expected.append(Frame(ENCRYPTED if encrypted else 0, payload, len(stream)))
        stream += frame_bytes(payload, encrypted=encrypted)
    check_three_ways(stream, expected, preamble=4)


@pytest.mark.parametrize("session", sessions(), ids=lambda s: s.file)
@pytest.mark.parametrize("direction", ["c2s", "s2c"])
def test_recorded_streams_three_ways(session: Session, direction: Literal["c2s", "s2c"]) -> None:
    recorded = [f for f in session.frames if f.direction == direction]
    preamble = 4 if direction == "c2s" else 0
    expected = []
    offset = preamble
    for f in recorded:
        expected.append(Frame(ENCRYPTED if f.encrypted else 0, f.wire[HEADER_SIZE:], offset))
        offset += len(f.wire)
    check_three_ways(session.stream(direction), expected, preamble=preamble)


def test_largest_frame() -> None:
    payload = bytes(range(256)) * (MAX_PAYLOAD // 256) + bytes(MAX_PAYLOAD % 256)
    buf = FrameBuffer()
    buf.feed(frame_bytes(payload, encrypted=True))
    assert buf.next_frame() == Frame(ENCRYPTED, payload, 0)


def test_frame_properties() -> None:
    frame = Frame(ENCRYPTED, b"abc", 10)
    assert frame.encrypted
    assert frame.payload_offset == 13
    assert not Frame(0, b"", 0).encrypted


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (0x4, "compressed frame (flags 0x4)"),
        (0xC, "compressed frame (flags 0xC)"),
        (0x1, "frame with unknown flags 0x1"),
        (0x2, "frame with unknown flags 0x2"),
        (0xA, "frame with unknown flags 0xA"),
    ],
)
def test_bad_flags_are_refused_at_the_first_header_byte(flags: int, message: str) -> None:
    buf = FrameBuffer()
    buf.feed(b"WA\x01\x05" + frame_bytes(b"ok"))
    assert buf.take_exact(4) is not None
    assert buf.next_frame() == Frame(0, b"ok", 4)
    buf.feed(bytes([flags << 4]))  # only the first header byte
    with pytest.raises(RemoteProtocolError) as info:
        buf.next_frame()
    assert str(info.value) == f"{message} at offset 9"
    assert info.value.offset == 9
    assert info.value.reply_hint == XML_NOT_WELL_FORMED


def test_take_exact_waits_for_all_bytes() -> None:
    buf = FrameBuffer()
    assert buf.take_exact(4) is None
    buf.feed(b"WA\x01")
    assert buf.take_exact(4) is None
    assert len(buf) == 3
    buf.feed(b"\x05\x00")
    assert buf.take_exact(4) == b"WA\x01\x05"
    assert buf.offset == 4
    assert len(buf) == 1


def test_offsets_survive_compaction() -> None:
    # Enough small frames to make the buffer drop what it has read, with a frame split
    # across every feed so the buffer is never empty when it compacts.
    frame = frame_bytes(b"0123456789")
    stream = frame * 20_000
    buf = FrameBuffer()
    frames: list[Frame] = []
    for start in range(0, len(stream), 7_001):
        buf.feed(stream[start : start + 7_001])
        frames += drain(buf)
    assert len(frames) == 20_000
    assert frames[-1] == Frame(0, b"0123456789", len(stream) - len(frame))
    assert all(f.offset == i * len(frame) for i, f in enumerate(frames))


@given(st.lists(st.binary(max_size=40), max_size=8), st.data())
def test_any_split_gives_the_same_frames(payloads: list[bytes], data: st.DataObject) -> None:
    stream = b"".join(frame_bytes(p) for p in payloads)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    buf = FrameBuffer()
    got: list[bytes] = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        buf.feed(stream[start:end])
        got += [f.payload for f in drain(buf)]
    assert got == payloads
