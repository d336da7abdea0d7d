"""StreamReader on its own: fed by hand, read by coroutines, on every loop."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from corolla.streams import StreamReader

Runner = Any  # the `run` fixture from conftest.py

DATA = b"line1\nline2\nline3\n"


class FakeTransport:
    """Records pause_reading/resume_reading calls (the reader's whole view of a transport)."""

    def __init__(self, can_pause: bool = True) -> None:
        self.can_pause = can_pause
        self.paused = False
        self.calls: list[str] = []

    def pause_reading(self) -> None:
        if not self.can_pause:
            raise NotImplementedError
        self.paused = True
        self.calls.append("pause")

    def resume_reading(self) -> None:
        self.paused = False
        self.calls.append("resume")


def test_limit_must_be_positive(run: Runner) -> None:
    async def main() -> None:
        for limit in (0, -1):
            with pytest.raises(ValueError, match="Limit cannot be <= 0"):
                StreamReader(limit=limit)

    run(main())


def test_read_variants(run: Runner) -> None:
    async def main() -> None:
        r = StreamReader()
        r.feed_data(b"")
        assert r._buffer == b""
        r.feed_data(DATA)
        assert await r.read(0) == b""
        assert await r.read(3) == b"lin"
        assert await r.read(100) == DATA[3:]
        r.feed_data(b"abc")
        r.feed_eof()
        assert await r.read() == b"abc"
        assert await r.read() == b""
        assert await r.read(5) == b""
        assert r.at_eof()

    run(main())


def test_read_waits_for_data_and_eof(run: Runner) -> None:
    async def main() -> None:
        r = StreamReader()
        task = asyncio.ensure_future(r.read(30))
        await asyncio.sleep(0)
        assert not task.done()
        r.feed_data(DATA)
        assert await task == DATA
        whole = asyncio.ensure_future(r.read(-1))
        await asyncio.sleep(0)
        r.feed_data(b"chunk1\n")
        await asyncio.sleep(0)
        r.feed_data(b"chunk2")
        r.feed_eof()
        assert await whole == b"chunk1\nchunk2"

    run(main())


def test_read_all_respects_small_limit(run: Runner) -> None:
    async def main() -> None:
        r = StreamReader(limit=3)
        t = FakeTransport()
        r.set_transport(t)
        task = asyncio.ensure_future(r.read())
        for i in range(20):
            r.feed_data(b"%d" % i * 10)
            await asyncio.sleep(0)
        r.feed_eof()
        assert await task == b"".join(b"%d" % i * 10 for i in range(20))
        assert not t.paused

    run(main())


def test_readline(run: Runner) -> None:
    async def main() -> None:
        r = StreamReader()
        r.feed_data(b"chunk1 ")
        task = asyncio.ensure_future(r.readline())
        await asyncio.sleep(0)
        r.feed_data(b"chunk2 ")
        await asyncio.sleep(0)
        r.feed_data(b"chunk3\n chunk4")
        assert await task == b"chunk1 chunk2 chunk3\n"
        assert r._buffer == b" chunk4"
        r.feed_eof()
        assert await r.readline() == b" chunk4"
        assert await r.readline() == b""

    run(main())


def test_readline_limit(run: Runner) -> None:
    async def main() -> None:
        r = StreamReader(limit=3)
        r.feed_data(b"li")
        r.feed_data(b"ne1\nline2\n")
        with pytest.raises(ValueError):
            await r.readline()
        # The too-long line is dropped with its newline; the rest stays.
        assert r._buffer == b"line2\n"
        r2 = StreamReader(limit=3)
        r2.feed_data(b"1234567")
        with pytest.raises(ValueError):
            await r2.readline()
        # No newline buffered when the limit was hit: the buffer is cleared.
        assert r2._buffer == b""
        r2.feed_data(b"12345678\nok\n")
        with pytest.raises(ValueError):
            await r2.readline()
        assert await r2.readline() == b"ok\n"

    run(main())


def test_readline_exception(run: Runner) -> None:
    async def main() -> None:
        r = StreamReader()
        r.feed_data(b"line\n")
        r.set_exception(ValueError("boom"))
        with pytest.raises(ValueError, match="boom"):
            await r.readline()
        assert r.exception() is not None

    run(main())


def test_readuntil(run: Runner) -> None:
    async def main() -> None:
        r = StreamReader()
        r.feed_data(b"some dataAAxxx")
        assert await r.readuntil(b"AA") == b"some dataAA"
        assert r._buffer == b"xxx"
        r.feed_data(bytearray(b"yy!"))
        assert await r.readuntil(bytearray(b"!")) == b"xxxyy!"
        with pytest.raises(ValueError):
            await r.readuntil(b"")
        with pytest.raises(ValueError):
            await r.readuntil(())
        with pytest.raises(ValueError):
            await r.readuntil((b"", b"x"))

    run(main())


def test_readuntil_separator_split_across_chunks(run: Runner) -> None:
    async def main() -> None:
        r = StreamReader()
        task = asyncio.ensure_future(r.readuntil(b"SEPARATOR"))
        for piece in (b"abcSEP", b"ARA", b"TOR", b"tail"):
            r.feed_data(piece)
            await asyncio.sleep(0)
        assert await task == b"abcSEPARATOR"
        assert r._buffer == b"tail"

    run(main())


def test_readuntil_tuple_shortest_wins(run: Runner) -> None:
    async def main() -> None:
        r = StreamReader()
        r.feed_data(b"line1\nline2\r\nline3")
        assert await r.readuntil((b"\r\n", b"\n")) == b"line1\n"
        assert await r.readuntil((b"\n", b"\r\n")) == b"line2\r\n"
        r.feed_data(b"ABCDEFG")
        # b"CD" ends before b"BCDE" does.
        assert await r.readuntil((b"BCDE", b"CD")) == b"line3ABCD"
        assert r._buffer == b"EFG"

    run(main())


def test_readuntil_eof_incomplete(run: Runner) -> None:
    async def main() -> None:
        r = StreamReader()
        r.feed_data(b"some dataAA")
        r.feed_eof()
        with pytest.raises(asyncio.IncompleteReadError) as info:
            await r.readuntil(b"AAA")
        assert info.value.partial == b"some dataAA"
        assert info.value.expected is None
        assert r._buffer == b""

    run(main())


def test_readuntil_limit_overrun_keeps_data(run: Runner) -> None:
    async def main() -> None:
        r = StreamReader(limit=3)
        r.feed_data(b"some dataAA")
        with pytest.raises(asyncio.LimitOverrunError) as info:
            await r.readuntil(b"AA")
        assert "is found" in str(info.value)
        assert info.value.consumed == 9
        assert r._buffer == b"some dataAA"
        r2 = StreamReader(limit=3)
        r2.feed_data(b"some data")
        with pytest.raises(asyncio.LimitOverrunError) as info:
            await r2.readuntil(b"AA")
        assert "not found" in str(info.value)
        assert info.value.consumed == 8
        assert r2._buffer == b"some data"

    run(main())


def test_readexactly(run: Runner) -> None:
    async def main() -> None:
        r = StreamReader(limit=4)
        assert await r.readexactly(0) == b""
        with pytest.raises(ValueError):
            await r.readexactly(-1)
        task = asyncio.ensure_future(r.readexactly(2 * len(DATA)))
        r.feed_data(DATA)
        await asyncio.sleep(0)
        assert not task.done()
        r.feed_data(DATA)
        r.feed_data(DATA)
        assert await task == DATA + DATA
        assert r._buffer == DATA
        r.feed_eof()
        with pytest.raises(asyncio.IncompleteReadError) as info:
            await r.readexactly(100)
        assert info.value.partial == DATA
        assert info.value.expected == 100
        assert r._buffer == b""

    run(main())


def test_exception_wakes_waiter_and_sticks(run: Runner) -> None:
    async def main() -> None:
        r = StreamReader()
        assert r.exception() is None
        task = asyncio.ensure_future(r.readexactly(4))
        await asyncio.sleep(0)
        exc = ConnectionResetError("gone")
        r.set_exception(exc)
        with pytest.raises(ConnectionResetError):
            await task
        assert r.exception() is exc
        for coro in (r.read(1), r.read(), r.readline(), r.readuntil(b"x"), r.readexactly(1)):
            with pytest.raises(ConnectionResetError):
                await coro

    run(main())


@pytest.mark.filterwarnings("error::DeprecationWarning")  # mypyc throw() forms
def test_set_exception_after_cancelled_read(run: Runner) -> None:
    async def main() -> None:
        r = StreamReader()
        task = asyncio.ensure_future(r.readline())
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        r.set_exception(RuntimeError("message"))
        assert r._waiter is None

    run(main())


@pytest.mark.filterwarnings("error::DeprecationWarning")  # mypyc throw() forms
@pytest.mark.parametrize("method", ["read", "readline", "readexactly", "readuntil"])
def test_cancelled_read_keeps_buffered_data(run: Runner, method: str) -> None:
    async def main() -> None:
        r = StreamReader()
        reads: dict[str, Any] = {
            "read": lambda: r.read(100),
            "readline": r.readline,
            "readexactly": lambda: r.readexactly(100),
            "readuntil": lambda: r.readuntil(b"END"),
        }
        if method != "read":
            r.feed_data(b"partial data, no terminator")
        task = asyncio.ensure_future(reads[method]())
        await asyncio.sleep(0)
        assert not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert r._waiter is None
        r.feed_data(b" more\nEND")
        r.feed_eof()
        expected = b" more\nEND" if method == "read" else b"partial data, no terminator more\nEND"
        assert await r.read() == expected

    run(main())


def test_two_concurrent_readers_rejected(run: Runner) -> None:
    async def main() -> None:
        r = StreamReader()
        first = asyncio.ensure_future(r.read(1))
        await asyncio.sleep(0)
        for coro, name in ((r.read(1), "read"), (r.readline(), "readuntil")):
            with pytest.raises(RuntimeError, match=rf"{name}\(\) called while another"):
                await coro
        r.feed_data(b"x")
        assert await first == b"x"

    run(main())


def test_at_eof(run: Runner) -> None:
    async def main() -> None:
        r = StreamReader()
        assert not r.at_eof()
        r.feed_data(b"some data\n")
        assert not r.at_eof()
        await r.readline()
        assert not r.at_eof()
        r.feed_data(b"some data\n")
        r.feed_eof()
        await r.readline()
        assert r.at_eof()

    run(main())


def test_feed_data_after_eof_is_an_error(run: Runner) -> None:
    async def main() -> None:
        r = StreamReader()
        r.feed_eof()
        with pytest.raises(RuntimeError):
            r.feed_data(b"late")

    run(main())


def test_async_iteration_by_lines(run: Runner) -> None:
    async def main() -> None:
        r = StreamReader()
        r.feed_data(b"a\nbb\nccc")
        r.feed_eof()
        assert [line async for line in r] == [b"a\n", b"bb\n", b"ccc"]

    run(main())


def test_pause_and_resume_transport(run: Runner) -> None:
    async def main() -> None:
        r = StreamReader(limit=10)
        t = FakeTransport()
        r.set_transport(t)
        with pytest.raises(RuntimeError):
            r.set_transport(t)
        r.feed_data(b"x" * 20)
        assert t.calls == []  # 20 is not more than 2 * limit
        r.feed_data(b"x")
        assert t.calls == ["pause"]
        r.feed_data(b"x" * 5)
        assert t.calls == ["pause"]  # paused once
        await r.read(10)  # 16 left: still above the limit
        assert t.calls == ["pause"]
        await r.read(6)  # 10 left: resumed
        assert t.calls == ["pause", "resume"]
        assert "paused" not in repr(r)

    run(main())


def test_waiting_while_paused_resumes(run: Runner) -> None:
    async def main() -> None:
        r = StreamReader(limit=2)
        t = FakeTransport()
        r.set_transport(t)
        task = asyncio.ensure_future(r.readexactly(10))
        await asyncio.sleep(0)
        r.feed_data(b"12345")
        assert t.calls == ["pause"]
        await asyncio.sleep(0)
        # readexactly needs more than 2 * limit: waiting must resume the transport.
        assert t.calls == ["pause", "resume"]
        r.feed_data(b"67890")
        assert await task == b"1234567890"

    run(main())


def test_transport_that_cannot_pause(run: Runner) -> None:
    async def main() -> None:
        r = StreamReader(limit=1)
        t = FakeTransport(can_pause=False)
        r.set_transport(t)
        r.feed_data(b"abc")
        r.feed_data(b"def")
        assert r._transport is None
        assert await r.read(100) == b"abcdef"

    run(main())


def test_repr(run: Runner) -> None:
    async def main() -> None:
        r = StreamReader()
        assert repr(r) == "<StreamReader>"
        assert repr(StreamReader(limit=123)) == "<StreamReader limit=123>"
        r.feed_data(b"data")
        assert repr(r) == "<StreamReader 4 bytes>"
        r.feed_eof()
        assert repr(r) == "<StreamReader 4 bytes eof>"
        r2 = StreamReader()
        r2.set_exception(RuntimeError())
        assert repr(r2) == "<StreamReader exception=RuntimeError()>"
        r3 = StreamReader()
        task = asyncio.ensure_future(r3.read(1))
        await asyncio.sleep(0)
        assert "waiter=<" in repr(r3)
        r3.feed_eof()
        assert await task == b""

    run(main())


def test_loop_from_argument_or_current_loop() -> None:
    loop = asyncio.new_event_loop()
    try:
        assert StreamReader(loop=loop)._loop is loop
        asyncio.set_event_loop(loop)
        try:
            assert StreamReader()._loop is loop
        finally:
            asyncio.set_event_loop(None)
    finally:
        loop.close()


def test_debug_mode_records_where_it_was_created(run: Runner) -> None:
    async def main() -> None:
        asyncio.get_running_loop().set_debug(True)
        r = StreamReader()
        assert r._source_traceback is not None
        assert r._source_traceback[-1].name == "main"

    run(main())
