"""simulator.transport.memory: the in-memory byte stream pair behind ``connect_bytes`` and
the in-process HTTP connection (trio.testing's, without importing pytest)."""

from __future__ import annotations

import subprocess
import sys

import pytest
import trio
import trio.testing

from simulator.transport.memory import memory_stream_pair


async def test_bytes_arrive_in_order_in_chunks_of_at_most_max_bytes() -> None:
    left, right = memory_stream_pair()
    await left.send_all(b"hello ")
    await left.send_all(memoryview(b"world"))
    assert await right.receive_some(4) == b"hell"
    assert await right.receive_some() == b"o world"
    await right.send_all(bytearray(b"back"))
    assert await left.receive_some(100) == b"back"


async def test_a_receiver_waits_for_data_and_wakes_when_it_comes() -> None:
    left, right = memory_stream_pair()
    got: list[bytes | bytearray] = []

    async def reader() -> None:
        got.append(await right.receive_some(10))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(reader)
        await trio.testing.wait_all_tasks_blocked()
        assert got == []
        await left.send_all(b"ping")
    assert got == [b"ping"]


async def test_eof_comes_after_the_data_sent_before_it() -> None:
    left, right = memory_stream_pair()
    await left.send_all(b"last words")
    await left.send_eof()
    assert await right.receive_some(100) == b"last words"
    assert await right.receive_some(100) == b""
    assert await right.receive_some(100) == b""
    with pytest.raises(trio.ClosedResourceError):
        await left.send_all(b"more")
    await right.send_all(b"the other way still works")
    assert await left.receive_some() == b"the other way still works"


async def test_closing_one_end_ends_the_peers_reads_and_breaks_its_writes() -> None:
    left, right = memory_stream_pair()
    await left.send_all(b"bye")
    await left.aclose()
    assert await right.receive_some() == b"bye"
    assert await right.receive_some() == b""
    with pytest.raises(trio.BrokenResourceError):
        await right.send_all(b"anyone there?")
    with pytest.raises(trio.ClosedResourceError):
        await left.send_all(b"x")
    with pytest.raises(trio.ClosedResourceError):
        await left.receive_some()
    await left.aclose()  # closing twice is allowed


async def test_closing_an_end_wakes_its_own_blocked_reader() -> None:
    left, _right = memory_stream_pair()
    raised: list[BaseException] = []

    async def reader() -> None:
        try:
            await left.receive_some()
        except trio.ClosedResourceError as exc:
            raised.append(exc)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(reader)
        await trio.testing.wait_all_tasks_blocked()
        await left.aclose()
    assert len(raised) == 1


async def test_two_readers_on_one_end_are_refused() -> None:
    _left, right = memory_stream_pair()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(right.receive_some)
        await trio.testing.wait_all_tasks_blocked()
        with pytest.raises(trio.BusyResourceError):
            await right.receive_some()
        nursery.cancel_scope.cancel()


async def test_a_blocked_read_can_be_cancelled_and_the_stream_still_works() -> None:
    left, right = memory_stream_pair()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(right.receive_some)
        await trio.testing.wait_all_tasks_blocked()
        nursery.cancel_scope.cancel()
    await left.send_all(b"after")
    assert await right.receive_some() == b"after"


async def test_bad_max_bytes_is_refused() -> None:
    _left, right = memory_stream_pair()
    with pytest.raises(ValueError, match="max_bytes"):
        await right.receive_some(0)


def test_importing_it_imports_neither_trio_testing_nor_pytest() -> None:
    code = (
        "import sys, simulator.transport.memory;"
        "print(sorted(m for m in ('pytest', 'trio.testing') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
