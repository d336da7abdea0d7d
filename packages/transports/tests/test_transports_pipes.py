"""Pipe transports over real pipes, FIFOs, ptys and character devices."""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from typing import Any

import pytest

import corolla.transports as ct

Runner = Any  # the `run` fixture from conftest.py


class Reader(asyncio.Protocol):
    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        self.hash = hashlib.sha256()
        self.count = 0
        self.data = bytearray()
        self.events: list[str] = []
        self.eof: asyncio.Future[None] = loop.create_future()
        self.lost: asyncio.Future[Exception | None] = loop.create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.events.append("made")

    def data_received(self, data: bytes) -> None:
        self.hash.update(data)
        self.count += len(data)
        if len(self.data) < 4096:
            self.data += data

    def eof_received(self) -> None:
        self.events.append("eof")
        self.eof.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self.events.append("lost")
        self.lost.set_result(exc)


class Writer(asyncio.Protocol):
    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        self.can_write: asyncio.Future[None] = loop.create_future()
        self.can_write.set_result(None)
        self.paused = 0
        self.lost: asyncio.Future[Exception | None] = loop.create_future()

    def pause_writing(self) -> None:
        self.paused += 1
        self.can_write = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        self.can_write.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.set_result(exc)


def test_pipe_pair_large_transfer_with_flow_control(run: Runner) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        rfd, wfd = os.pipe()
        rt, reader = await ct.connect_read_pipe(loop, Reader, os.fdopen(rfd, "rb", 0))
        wt, writer = await ct.connect_write_pipe(loop, Writer, os.fdopen(wfd, "wb", 0))
        assert isinstance(reader, Reader)
        assert isinstance(writer, Writer)
        assert isinstance(rt, asyncio.ReadTransport)
        assert isinstance(wt, asyncio.WriteTransport)
        assert wt.can_write_eof()
        expected = hashlib.sha256()
        chunk = os.urandom(1 << 20)
        for i in range(32):
            await writer.can_write
            block = i.to_bytes(4, "big") + chunk[4:]
            expected.update(block)
            wt.write(block)
        wt.close()
        assert await writer.lost is None
        await reader.eof
        assert await reader.lost is None
        assert reader.events == ["made", "eof", "lost"]
        assert reader.count == 32 << 20
        assert reader.hash.digest() == expected.digest()
        assert writer.paused >= 1

    run(main())


def test_read_pipe_pause_and_close(run: Runner) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        rfd, wfd = os.pipe()
        try:
            rt, reader = await ct.connect_read_pipe(loop, Reader, os.fdopen(rfd, "rb", 0))
            assert isinstance(reader, Reader)
            assert rt.is_reading()
            rt.pause_reading()
            assert not rt.is_reading()
            rt.resume_reading()
            assert rt.get_extra_info("pipe") is not None
            rt.close()
            assert rt.is_closing()
            assert await reader.lost is None
        finally:
            os.close(wfd)

    run(main())


def test_write_pipe_notices_reader_gone(run: Runner) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        rfd, wfd = os.pipe()
        wt, writer = await ct.connect_write_pipe(loop, Writer, os.fdopen(wfd, "wb", 0))
        assert isinstance(writer, Writer)
        os.close(rfd)
        exc = await writer.lost
        assert exc is None or isinstance(exc, BrokenPipeError)
        assert wt.is_closing()

    run(main())


def test_fifo(run: Runner) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "fifo")
            os.mkfifo(path)
            rfd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
            wfd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            _rt, reader = await ct.connect_read_pipe(loop, Reader, os.fdopen(rfd, "rb", 0))
            wt, writer = await ct.connect_write_pipe(loop, Writer, os.fdopen(wfd, "wb", 0))
            assert isinstance(reader, Reader)
            wt.write(b"through the fifo")
            wt.write_eof()
            await writer.lost  # type: ignore[attr-defined]
            await reader.eof
            assert reader.data == b"through the fifo"
            await reader.lost

    run(main())


def test_pty_and_character_device(run: Runner) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        master, slave = os.openpty()
        _rt, reader = await ct.connect_read_pipe(loop, Reader, os.fdopen(master, "rb", 0))
        assert isinstance(reader, Reader)
        os.write(slave, b"tty line\n")
        os.close(slave)
        await reader.eof  # EIO from the master after the slave closed ends the stream
        assert b"tty line" in reader.data
        await reader.lost
        # /dev/null is a character device a write pipe transport accepts.
        wt, writer = await ct.connect_write_pipe(loop, Writer, open(os.devnull, "wb", 0))  # noqa: SIM115
        wt.write(b"into the void")
        wt.close()
        await writer.lost  # type: ignore[attr-defined]

    run(main())


def test_regular_file_is_refused(run: Runner) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        with tempfile.TemporaryFile() as f:
            with pytest.raises(ValueError, match="pipes"):
                await ct.connect_read_pipe(loop, Reader, f)
            with pytest.raises(ValueError, match="pipes"):
                await ct.connect_write_pipe(loop, Writer, f)
            assert not f.closed

    run(main())


@pytest.mark.parametrize("direction", ["read", "write"])
def test_cancelled_connect_pipe_closes_the_pipe(run: Runner, direction: str) -> None:
    # Regression: the compiled error path called close() natively on the
    # public transport class (an interpreted asyncio base with __slots__) and
    # crashed the interpreter.
    async def main() -> str:
        loop = asyncio.get_running_loop()
        r, w = os.pipe()
        keep, pipe = (
            (w, os.fdopen(r, "rb", buffering=0))
            if direction == "read"
            else (r, os.fdopen(w, "wb", buffering=0))
        )
        connect = ct.connect_read_pipe if direction == "read" else ct.connect_write_pipe
        task = asyncio.ensure_future(connect(loop, asyncio.Protocol, pipe))
        await asyncio.sleep(0)
        task.cancel()
        try:
            transport, _ = await task
        except asyncio.CancelledError:
            outcome = "cancelled"
        else:  # the connection won the race: close it ourselves
            transport.close()
            await asyncio.sleep(0)
            outcome = "connected"
        os.close(keep)
        return outcome

    assert run(main()) in ("cancelled", "connected")
