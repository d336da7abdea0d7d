"""Hundreds of MB over loopback TCP and over TLS, byte-exact, under flow control.

The data is generated block by block and checked by a running SHA-256 on both
sides: nothing holds the whole transfer in memory. The writer waits whenever
the transport says pause_writing; the reader pauses its reading now and then,
so the back-pressure crosses the whole path.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import ssl
import struct
from typing import Any

import pytest

import corolla.transports as ct

Runner = Any  # the `run` fixture from conftest.py

TOTAL_MB = 256
BLOCK = 1 << 20
PAUSE_EVERY = 16 << 20  # the reader pauses after each 16 MB


class Writer(asyncio.Protocol):
    """Tracks pause_writing/resume_writing; `can_write` is awaited between blocks."""

    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        self.paused = 0
        self.resumed = 0
        self.can_write: asyncio.Future[None] = loop.create_future()
        self.can_write.set_result(None)
        self.lost: asyncio.Future[Exception | None] = loop.create_future()

    def pause_writing(self) -> None:
        self.paused += 1
        self.can_write = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        self.resumed += 1
        self.can_write.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.set_result(exc)


class _Receiving:
    """Hashes what arrives; pauses reading every PAUSE_EVERY bytes for a few
    loop iterations."""

    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        self.hash = hashlib.sha256()
        self.count = 0
        self.next_pause = PAUSE_EVERY
        self.pauses = 0
        self.transport: Any = None
        self.eof: asyncio.Future[None] = loop.create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def received(self, data: Any) -> None:
        self.hash.update(data)
        self.count += len(data)
        if self.count >= self.next_pause:
            self.next_pause += PAUSE_EVERY
            self.pauses += 1
            self.transport.pause_reading()
            asyncio.get_running_loop().call_soon(self._resume_later, 3)

    def _resume_later(self, rounds: int) -> None:
        if rounds:
            asyncio.get_running_loop().call_soon(self._resume_later, rounds - 1)
        else:
            self.transport.resume_reading()

    def eof_received(self) -> bool:
        self.eof.set_result(None)
        return False


class Sink(_Receiving, asyncio.Protocol):
    def data_received(self, data: bytes) -> None:
        self.received(data)


class BufferedSink(_Receiving, asyncio.BufferedProtocol):
    def __init__(self) -> None:
        super().__init__()
        self.buf = bytearray(256 * 1024)
        self.view = memoryview(self.buf)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.view

    def buffer_updated(self, nbytes: int) -> None:
        self.received(self.view[:nbytes])


async def _transfer(
    server_kwargs: dict[str, Any], client_kwargs: dict[str, Any], sink: Any
) -> None:
    loop = asyncio.get_running_loop()
    sinks: list[Any] = []

    def factory() -> Any:
        sinks.append(sink())
        return sinks[-1]

    server = await ct.create_server(loop, factory, "127.0.0.1", 0, **server_kwargs)
    async with server:
        port = server.sockets[0].getsockname()[1]
        transport, writer = await ct.create_connection(
            loop, Writer, "127.0.0.1", port, **client_kwargs
        )
        assert isinstance(writer, Writer)
        chunk = bytearray(os.urandom(BLOCK))
        expected = hashlib.sha256()
        for i in range(TOTAL_MB):
            await writer.can_write
            chunk[:8] = struct.pack("!Q", i)  # every block differs
            block = bytes(chunk)
            expected.update(block)
            transport.write(block)
            assert transport.get_write_buffer_size() <= BLOCK + 2 * 64 * 1024
        transport.close()
        assert await writer.lost is None
        receiver = sinks[0]
        await receiver.eof
        assert receiver.count == TOTAL_MB * BLOCK
        assert receiver.hash.hexdigest() == expected.hexdigest()
        assert receiver.pauses == TOTAL_MB * BLOCK // PAUSE_EVERY
        assert writer.paused >= 1
        assert writer.resumed == writer.paused


def test_256mb_over_tcp_buffered_protocol(run: Runner) -> None:
    run(_transfer({}, {}, BufferedSink))


def test_256mb_over_tls(run: Runner) -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    run(
        _transfer(
            {"ssl": server_ctx},
            {"ssl": client_ctx, "server_hostname": "localhost"},
            Sink,
        )
    )
