"""Unchanged asyncio networking code on the corolla loop: the loop's network
methods delegate to corolla.transports, and the stdlib's own streams run on top."""

from __future__ import annotations

import asyncio
import hashlib
import os
import ssl
import tempfile

import pytest
import trustme

import corolla.loop


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


def test_loop_is_corolla_and_networking_delegates(runner: corolla.loop.Runner) -> None:
    async def main() -> bytes:
        assert isinstance(asyncio.get_running_loop(), corolla.loop.EventLoop)
        server = await asyncio.start_server(_echo, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"hello corolla")
            await writer.drain()
            writer.write_eof()
            data = await reader.read()
            writer.close()
            await writer.wait_closed()
        return data

    assert runner.run(main()) == b"hello corolla"


def test_many_clients_large_payloads_arrive_byte_exact(runner: corolla.loop.Runner) -> None:
    payload = os.urandom(4 * 1024 * 1024)
    digest = hashlib.sha256(payload).hexdigest()

    async def client(port: int) -> str:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)

        async def send() -> None:
            for i in range(0, len(payload), 100_000):
                writer.write(payload[i : i + 100_000])
                await writer.drain()
            writer.write_eof()

        sender = asyncio.create_task(send())
        received = hashlib.sha256()
        while chunk := await reader.read(1 << 16):
            received.update(chunk)
        await sender
        writer.close()
        await writer.wait_closed()
        return received.hexdigest()

    async def main() -> list[str]:
        server = await asyncio.start_server(_echo, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            return await asyncio.gather(*(client(port) for _ in range(8)))

    assert runner.run(main()) == [digest] * 8


def test_tls_with_stdlib_streams(runner: corolla.loop.Runner) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("localhost")
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)

    async def main() -> tuple[bytes, str | None]:
        server = await asyncio.start_server(_echo, "127.0.0.1", 0, ssl=server_ctx)
        port = server.sockets[0].getsockname()[1]
        async with server:
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, ssl=client_ctx, server_hostname="localhost"
            )
            writer.write(b"secret")
            await writer.drain()
            data = await reader.readexactly(6)
            version = writer.get_extra_info("ssl_object").version()
            writer.close()
            await writer.wait_closed()
        return data, version

    data, version = runner.run(main())
    assert data == b"secret"
    assert version is not None
    assert version.startswith("TLS")


def test_unix_socket_server(runner: corolla.loop.Runner) -> None:
    async def main(path: str) -> bytes:
        server = await asyncio.start_unix_server(_echo, path)
        async with server:
            reader, writer = await asyncio.open_unix_connection(path)
            writer.write(b"over unix")
            writer.write_eof()
            data = await reader.read()
            writer.close()
            await writer.wait_closed()
        return data

    with tempfile.TemporaryDirectory() as d:
        assert runner.run(main(os.path.join(d, "s"))) == b"over unix"


def test_connection_refused_is_raised_at_the_call(runner: corolla.loop.Runner) -> None:
    async def main() -> None:
        server = await asyncio.start_server(_echo, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        await asyncio.open_connection("127.0.0.1", port)

    with pytest.raises(ConnectionRefusedError):
        runner.run(main())
