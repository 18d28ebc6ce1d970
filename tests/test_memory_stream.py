"""simulator.transport.memory: the in-memory byte stream pair behind ``connect_bytes`` and
the in-process HTTP connection (trio.testing's, without importing pytest)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
import trio
import trio.testing
from hypothesis import example, given, settings
from hypothesis import strategies as st

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
    await right.send_all(b"")  # nothing to deliver: no error (h11's empty end of message)
    await right.wait_send_all_might_not_block()
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


# -------------------------------------------------------------------- same as trio.testing's

Op = tuple[int, str, bytes | int | None]

OPS = st.tuples(
    st.integers(0, 1),
    st.sampled_from(["send", "send", "receive", "receive", "send_eof", "aclose"]),
    st.one_of(st.none(), st.integers(1, 8), st.binary(max_size=6)),
)


async def _one(stream: Any, op: str, arg: bytes | int | None, result: list[str]) -> None:
    try:
        if op == "send":
            await stream.send_all(arg if isinstance(arg, bytes) else b"x")
            result.append("sent")
        elif op == "receive":
            size = arg if isinstance(arg, int) else None
            result.append(repr(bytes(await stream.receive_some(size))))
        else:
            await getattr(stream, op)()
            result.append("done")
    except trio.Cancelled:
        result.append("blocked")
        raise
    except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
        result.append(type(exc).__name__)


async def _outcomes(pair: Callable[[], tuple[Any, Any]], ops: list[Op]) -> list[str]:
    """What each operation gives: its result, the error it raised, or "blocked"."""
    ends = pair()
    seen: list[str] = []
    for side, op, arg in ops:
        result: list[str] = []
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_one, ends[side], op, arg, result)
            await trio.testing.wait_all_tasks_blocked()
            nursery.cancel_scope.cancel()
        seen.append(result[0] if result else "blocked")
    return seen


@settings(max_examples=200)
@given(st.lists(OPS, max_size=12))
@example([(0, "aclose", None), (1, "send", b"")])  # h11's empty end of message, peer gone
@example([(1, "send", b"ab"), (1, "send_eof", None), (0, "receive", 1), (0, "receive", None)])
def test_every_sequence_of_calls_gives_what_trio_testing_gives(ops: list[Op]) -> None:
    ours = trio.run(_outcomes, memory_stream_pair, ops)
    theirs = trio.run(_outcomes, trio.testing.memory_stream_pair, ops)
    assert ours == theirs
