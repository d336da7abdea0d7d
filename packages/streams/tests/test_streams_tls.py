"""Streams over real TLS (certificates made at test time with trustme), on every loop."""

from __future__ import annotations

import asyncio
import hashlib
import os
import ssl
import tempfile
from typing import Any

import pytest
import trustme

from corolla.streams import (
    StreamReader,
    StreamWriter,
    open_connection,
    open_unix_connection,
    start_server,
    start_unix_server,
)

Runner = Any  # the `run` fixture from conftest.py


class Certs:
    def __init__(self) -> None:
        self.ca = trustme.CA()
        self.cert = self.ca.issue_cert("localhost", "127.0.0.1")

    def server(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.cert.configure_cert(ctx)
        return ctx

    def client(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context()
        self.ca.configure_trust(ctx)
        return ctx


@pytest.fixture(scope="module")
def certs() -> Certs:
    return Certs()


def port_of(server: asyncio.AbstractServer) -> int:
    port: int = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    return port


async def echo_lines(reader: StreamReader, writer: StreamWriter) -> None:
    async for line in reader:
        writer.write(line)
        await writer.drain()
    writer.close()
    await writer.wait_closed()


def test_tls_open_connection_and_server(run: Runner, certs: Certs) -> None:
    async def main() -> None:
        server = await start_server(
            echo_lines, "127.0.0.1", 0, ssl=certs.server(), ssl_handshake_timeout=10
        )
        async with server:
            reader, writer = await open_connection(
                "127.0.0.1",
                port_of(server),
                ssl=certs.client(),
                server_hostname="localhost",
                ssl_handshake_timeout=10,
                ssl_shutdown_timeout=10,
            )
            assert writer.get_extra_info("sslcontext") is not None
            assert writer.get_extra_info("ssl_object") is not None
            assert not writer.can_write_eof()
            writer.write(b"secret\n")
            assert await reader.readline() == b"secret\n"
            writer.close()
            await writer.wait_closed()

    run(main())


def test_tls_large_transfer_byte_exact(run: Runner, certs: Certs) -> None:
    blob = os.urandom(2 * 1024 * 1024 + 3)

    async def main() -> None:
        async def sink(reader: StreamReader, writer: StreamWriter) -> None:
            data = await reader.readexactly(len(blob))
            writer.write(hashlib.sha256(data).digest())
            await writer.drain()
            writer.close()

        server = await start_server(sink, "127.0.0.1", 0, ssl=certs.server())
        async with server:
            reader, writer = await open_connection(
                "127.0.0.1", port_of(server), ssl=certs.client(), server_hostname="localhost"
            )
            for i in range(0, len(blob), 256 * 1024):
                writer.write(blob[i : i + 256 * 1024])
                await writer.drain()
            assert await reader.readexactly(32) == hashlib.sha256(blob).digest()
            writer.close()
            await writer.wait_closed()

    run(main())


def test_tls_unix(run: Runner, certs: Certs) -> None:
    async def main() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "sock")
            server = await start_unix_server(echo_lines, path, ssl=certs.server())
            async with server:
                reader, writer = await open_unix_connection(
                    path, ssl=certs.client(), server_hostname="localhost"
                )
                writer.write(b"unix tls\n")
                assert await reader.readline() == b"unix tls\n"
                writer.close()
                await writer.wait_closed()

    run(main())


def test_start_tls_upgrades_both_sides(run: Runner, certs: Certs) -> None:
    async def main() -> None:
        async def handler(reader: StreamReader, writer: StreamWriter) -> None:
            assert await reader.readline() == b"STARTTLS\n"
            writer.write(b"GO\n")
            await writer.drain()
            assert writer.get_extra_info("sslcontext") is None
            await writer.start_tls(certs.server(), ssl_handshake_timeout=10)
            assert writer.get_extra_info("sslcontext") is not None
            line = await reader.readline()
            writer.write(b"tls:" + line)
            await writer.drain()
            writer.close()
            await writer.wait_closed()

        server = await start_server(handler, "127.0.0.1", 0)
        async with server:
            reader, writer = await open_connection("127.0.0.1", port_of(server))
            plain_transport = writer.transport
            writer.write(b"STARTTLS\n")
            assert await reader.readline() == b"GO\n"
            await writer.start_tls(
                certs.client(),
                server_hostname="localhost",
                ssl_handshake_timeout=10,
                ssl_shutdown_timeout=5,
            )
            assert writer.transport is not plain_transport
            assert writer.get_extra_info("ssl_object") is not None
            assert writer._protocol._over_ssl
            writer.write(b"hello\n")
            assert await reader.readline() == b"tls:hello\n"
            assert await reader.read() == b""
            writer.close()
            await writer.wait_closed()

    run(main())


def test_tls_handshake_failure(run: Runner, certs: Certs) -> None:
    async def main() -> None:
        server = await start_server(echo_lines, "127.0.0.1", 0, ssl=certs.server())
        async with server:
            untrusting = ssl.create_default_context()  # does not trust the test CA
            with pytest.raises(ssl.SSLError):
                await open_connection(
                    "127.0.0.1", port_of(server), ssl=untrusting, server_hostname="localhost"
                )

    run(main(), allow_errors=True)


def test_tls_options_pass_through_to_the_loop(run: Runner) -> None:
    async def main() -> None:
        # The loop itself rejects TLS options without TLS: they reached it.
        with pytest.raises(ValueError, match="ssl_handshake_timeout"):
            await start_server(echo_lines, "127.0.0.1", 0, ssl_handshake_timeout=1)
        with pytest.raises(ValueError, match="ssl_handshake_timeout"):
            await open_connection("127.0.0.1", 1, ssl_handshake_timeout=1)

    run(main())
