"""sendfile over real sockets: zero-copy, fallback, offset/count, errors."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import ssl
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest
import trustme

import corolla.transports as ct

Runner = Any  # the `run` fixture from conftest.py

DATA = os.urandom(3 * 1024 * 1024 + 123)


@pytest.fixture
def data_file() -> Iterator[Any]:
    with tempfile.TemporaryFile() as f:
        f.write(DATA)
        f.flush()
        f.seek(0)
        yield f


class Sink(asyncio.Protocol):
    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        self.hash = hashlib.sha256()
        self.data = bytearray()
        self.eof: asyncio.Future[None] = loop.create_future()

    def data_received(self, data: bytes) -> None:
        self.data += data

    def eof_received(self) -> bool:
        self.eof.set_result(None)
        return False


class Quiet(asyncio.Protocol):
    def __init__(self) -> None:
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.set_result(None)


async def _pair(ssl_server: Any = None, ssl_client: Any = None) -> tuple[Any, Quiet, Sink, Any]:
    loop = asyncio.get_running_loop()
    sinks: list[Sink] = []

    def factory() -> Sink:
        sinks.append(Sink())
        return sinks[-1]

    server = await ct.create_server(loop, factory, "127.0.0.1", 0, ssl=ssl_server)
    port = server.sockets[0].getsockname()[1]
    kwargs: dict[str, Any] = {}
    if ssl_client is not None:
        kwargs = {"ssl": ssl_client, "server_hostname": "localhost"}
    transport, proto = await ct.create_connection(loop, Quiet, "127.0.0.1", port, **kwargs)
    assert isinstance(proto, Quiet)
    while not sinks:
        await asyncio.sleep(0)
    return transport, proto, sinks[0], server


@pytest.mark.parametrize(
    ("offset", "count"), [(0, None), (1000, None), (5, 100_000), (len(DATA) - 10, 1000)]
)
def test_sendfile_zero_copy(run: Runner, data_file: Any, offset: int, count: int | None) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        transport, proto, sink, server = await _pair()
        async with server:
            transport.write(b"head:")
            sent = await ct.sendfile(loop, transport, data_file, offset, count)
            expected = DATA[offset:] if count is None else DATA[offset : offset + count]
            assert sent == len(expected)
            assert data_file.tell() == offset + sent
            transport.write(b":tail")
            transport.close()
            await sink.eof
            assert bytes(sink.data) == b"head:" + expected + b":tail"
            await proto.lost

    run(main())


def test_sendfile_fallback_for_non_regular_file_and_disabled(run: Runner) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        transport, proto, sink, server = await _pair()
        async with server:
            buf = io.BytesIO(DATA)
            with pytest.raises(asyncio.SendfileNotAvailableError):
                await ct.sendfile(loop, transport, buf, fallback=False)
            # Any truth value, as asyncio (the compiled build once raised TypeError).
            with pytest.raises(asyncio.SendfileNotAvailableError):
                await ct.sendfile(loop, transport, buf, fallback=0)
            sent = await ct.sendfile(loop, transport, buf, 10, 500_000)
            assert sent == 500_000
            assert buf.tell() == 500_010
            transport.close()
            await sink.eof
            assert bytes(sink.data) == DATA[10:500_010]
            await proto.lost

    run(main())


def test_sendfile_over_tls_uses_fallback(run: Runner, data_file: Any) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("localhost")
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        transport, proto, sink, server = await _pair(server_ctx, client_ctx)
        async with server:
            with pytest.raises(asyncio.SendfileNotAvailableError):
                await ct.sendfile(loop, transport, data_file, fallback=False)
            assert await ct.sendfile(loop, transport, data_file) == len(DATA)
            transport.close()
            await sink.eof
            assert bytes(sink.data) == DATA
            await proto.lost

    run(main())


def test_sendfile_argument_errors(run: Runner, data_file: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        transport, proto, sink, server = await _pair()
        async with server:
            with pytest.raises(ValueError, match="offset"):
                await ct.sendfile(loop, transport, data_file, -1)
            with pytest.raises(TypeError, match="offset"):
                await ct.sendfile(loop, transport, data_file, 1.5)
            with pytest.raises(ValueError, match="count"):
                await ct.sendfile(loop, transport, data_file, 0, 0)
            with tempfile.TemporaryFile("w+") as text:
                with pytest.raises(ValueError, match="binary"):
                    await ct.sendfile(loop, transport, text)
            assert await ct.sendfile(loop, transport, data_file, len(DATA) + 5) == 0
            transport.close()
            with pytest.raises(RuntimeError, match="closing"):
                await ct.sendfile(loop, transport, data_file)
            await proto.lost
            await sink.eof

    run(main())


def test_write_during_sendfile_is_refused(run: Runner, data_file: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        transport, proto, sink, server = await _pair()
        async with server:
            task = loop.create_task(ct.sendfile(loop, transport, data_file))
            await asyncio.sleep(0)
            if not task.done():
                with pytest.raises(RuntimeError, match="sendfile is in progress"):
                    transport.write(b"x")
            assert await task == len(DATA)
            transport.close()
            await sink.eof
            assert bytes(sink.data) == DATA
            await proto.lost

    run(main())


def test_every_transport_has_a_repr(run: Runner) -> None:
    """repr() of each transport kind (a compiled-build crash once hid here)."""
    ca = trustme.CA()
    cert = ca.issue_cert("localhost")
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        transport, proto, sink, server = await _pair(server_ctx, client_ctx)
        async with server:
            assert "TLSTransport" in repr(transport)
            assert transport.is_reading()
            transport.close()
            assert not transport.is_reading()
            assert "TLSTransport" in repr(transport)
            await proto.lost
            await sink.eof
        plain, proto2, sink2, server2 = await _pair()
        async with server2:
            assert "SocketTransport" in repr(plain)
            plain.close()
            await proto2.lost
            await sink2.eof
        rfd, wfd = os.pipe()
        rt, _ = await ct.connect_read_pipe(loop, Quiet, os.fdopen(rfd, "rb", 0))
        wt, wp = await ct.connect_write_pipe(loop, Quiet, os.fdopen(wfd, "wb", 0))
        assert "ReadPipeTransport" in repr(rt)
        assert "WritePipeTransport" in repr(wt)
        wt.close()
        rt.close()
        await wp.lost  # type: ignore[attr-defined]
        dt, dp = await ct.create_datagram_endpoint(loop, Quiet, local_addr=("127.0.0.1", 0))
        assert "DatagramSocketTransport" in repr(dt)
        dt.close()
        await dp.lost  # type: ignore[attr-defined]

    run(main())
