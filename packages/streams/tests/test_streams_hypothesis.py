"""StreamReader against asyncio's: random chunkings and read sequences give the same results."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import corolla.streams

chunks = st.binary(max_size=12).map(lambda b: bytes(b"ab\n"[x % 3] for x in b))
separators = st.sampled_from([b"\n", b"a", b"ab", b"b\n", b"\n\n", b"aab"])
op_kinds = [
    st.tuples(st.just("read"), st.integers(-1, 10)),
    st.tuples(st.just("readline"), st.none()),
    st.tuples(st.just("readexactly"), st.integers(0, 12)),
    st.tuples(st.just("readuntil"), separators),
]
if sys.version_info >= (3, 13):  # asyncio takes a tuple of separators since 3.13
    op_kinds.append(
        st.tuples(st.just("readuntil"), st.lists(separators, min_size=1, max_size=3).map(tuple))
    )
read_ops = st.one_of(op_kinds)


class Transport:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def pause_reading(self) -> None:
        self.calls.append("pause")

    def resume_reading(self) -> None:
        self.calls.append("resume")


def outcome(exc: BaseException) -> tuple[Any, ...]:
    if isinstance(exc, asyncio.IncompleteReadError):
        return ("incomplete", exc.partial, exc.expected)
    if isinstance(exc, asyncio.LimitOverrunError):
        return ("overrun", exc.consumed, str(exc))
    return (type(exc).__name__, str(exc))


async def scenario(
    module: Any,
    limit: int,
    groups: list[list[bytes]],
    ops: list[tuple[str, Any]],
    error_at: int | None,
) -> tuple[list[Any], bytes, list[str], bool]:
    reader = module.StreamReader(limit=limit)
    transport = Transport()
    reader.set_transport(transport)
    results: list[Any] = []

    async def consume() -> None:
        for name, arg in ops:
            method = getattr(reader, name)
            try:
                results.append(await (method() if arg is None else method(arg)))
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as e:
                results.append(outcome(e))
            except OSError as e:
                results.append(outcome(e))
                return

    consumer = asyncio.ensure_future(consume())
    for index, group in enumerate([*groups, []]):
        # Feed only while the consumer waits for data (or is finished): deterministic.
        while reader._waiter is None and not consumer.done():
            await asyncio.sleep(0)
        if index == error_at:
            reader.set_exception(OSError("boom"))
            break
        if index == len(groups):
            reader.feed_eof()
            break
        for chunk in group:
            reader.feed_data(chunk)
    await consumer
    return results, bytes(reader._buffer), transport.calls, reader.at_eof()


@settings(max_examples=300, deadline=None)
@given(
    limit=st.integers(1, 8),
    groups=st.lists(st.lists(chunks, max_size=3), max_size=8),
    ops=st.lists(read_ops, max_size=10),
    error_at=st.one_of(st.none(), st.integers(0, 8)),
)
def test_same_as_asyncio(
    limit: int, groups: list[list[bytes]], ops: list[tuple[str, Any]], error_at: int | None
) -> None:
    loop = asyncio.new_event_loop()
    try:
        ours = loop.run_until_complete(scenario(corolla.streams, limit, groups, ops, error_at))
        theirs = loop.run_until_complete(scenario(asyncio, limit, groups, ops, error_at))
    finally:
        loop.close()
    assert ours == theirs
