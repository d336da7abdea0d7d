"""FlowControlProtocol: drain waiting, connection loss, the close waiter."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from corolla.streams import FlowControlProtocol, StreamReader, StreamWriter

Runner = Any  # the `run` fixture from conftest.py


def test_is_a_base_protocol_and_mixes_in(run: Runner) -> None:
    class Pipes(FlowControlProtocol, asyncio.SubprocessProtocol):
        def __init__(self) -> None:
            super().__init__()
            self.exited = False

        def process_exited(self) -> None:
            self.exited = True

    async def main() -> None:
        p = Pipes()
        assert isinstance(p, asyncio.BaseProtocol)
        assert isinstance(p, asyncio.SubprocessProtocol)
        assert p._loop is asyncio.get_running_loop()
        p.process_exited()
        assert p.exited
        await p._drain_helper()

    run(main())


def test_not_paused_returns_at_once(run: Runner) -> None:
    async def main() -> None:
        p = FlowControlProtocol()
        await p._drain_helper()
        p.pause_writing()
        p.resume_writing()
        await p._drain_helper()

    run(main())


def test_many_drainers_woken_by_resume(run: Runner) -> None:
    async def main() -> None:
        p = FlowControlProtocol()
        p.pause_writing()
        drained = []

        async def drainer(i: int) -> None:
            await p._drain_helper()
            drained.append(i)

        tasks = [asyncio.ensure_future(drainer(i)) for i in range(10)]
        await asyncio.sleep(0)
        assert drained == []
        p.resume_writing()
        await asyncio.gather(*tasks)
        assert sorted(drained) == list(range(10))
        assert not p._drain_waiters

    run(main())


@pytest.mark.filterwarnings("error::DeprecationWarning")  # mypyc throw() forms
def test_cancelled_drainer_leaves_no_waiter(run: Runner) -> None:
    async def main() -> None:
        p = FlowControlProtocol()
        p.pause_writing()
        task = asyncio.ensure_future(p._drain_helper())
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not p._drain_waiters
        p.resume_writing()

    run(main())


@pytest.mark.parametrize("exc", [None, BrokenPipeError("peer gone")])
def test_connection_lost_while_paused(run: Runner, exc: BaseException | None) -> None:
    async def main() -> None:
        p = FlowControlProtocol()
        p.pause_writing()
        task = asyncio.ensure_future(p._drain_helper())
        await asyncio.sleep(0)
        p.connection_lost(exc)
        if exc is None:
            await task
        else:
            with pytest.raises(BrokenPipeError):
                await task
        with pytest.raises(ConnectionResetError, match="Connection lost"):
            await p._drain_helper()

    run(main())


def test_close_waiter_before_and_after_connection_lost(run: Runner) -> None:
    async def main() -> None:
        p = FlowControlProtocol()
        waiter = p._get_close_waiter(None)
        other = asyncio.ensure_future(asyncio.wait_for(p._get_close_waiter(None), 30))
        cancelled = asyncio.ensure_future(asyncio.wait_for(p._get_close_waiter(None), 30))
        await asyncio.sleep(0)
        cancelled.cancel()
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        # One cancelled waiter leaves the others waiting.
        assert not waiter.done()
        assert not other.done()
        p.connection_lost(None)
        await waiter
        await other
        await p._get_close_waiter(None)

        q = FlowControlProtocol()
        q.connection_lost(OSError("reset"))
        with pytest.raises(OSError, match="reset"):
            await q._get_close_waiter(None)

        # An error nobody waits for is not reported as "never retrieved".
        r = FlowControlProtocol()
        r._get_close_waiter(None)
        r.connection_lost(OSError("unseen"))

    run(main())


def test_stream_writer_drain_uses_it(run: Runner) -> None:
    class NullTransport(asyncio.WriteTransport):
        closing = False

        def is_closing(self) -> bool:
            return self.closing

        def close(self) -> None:
            self.closing = True

    async def main() -> None:
        p = FlowControlProtocol()
        reader = StreamReader()
        writer = StreamWriter(NullTransport(), p, reader, asyncio.get_running_loop())
        await writer.drain()
        p.pause_writing()
        task = asyncio.ensure_future(writer.drain())
        await asyncio.sleep(0)
        assert not task.done()
        p.resume_writing()
        await task
        reader.set_exception(ValueError("reader failed"))
        with pytest.raises(ValueError, match="reader failed"):
            await writer.drain()
        p.connection_lost(None)
        writer2 = StreamWriter(NullTransport(), p, None, asyncio.get_running_loop())
        with pytest.raises(ConnectionResetError):
            await writer2.drain()
        await writer2.wait_closed()
        writer.close()
        writer2.close()

    run(main())
