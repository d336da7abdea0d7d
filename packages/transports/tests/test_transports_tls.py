"""TLS over real sockets, certificates made at test time with trustme."""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import trustme

import corolla.transports as ct

Runner = Any  # the `run` fixture from conftest.py


class Certs:
    def __init__(self) -> None:
        self.ca = trustme.CA()
        self.cert = self.ca.issue_cert("localhost", "127.0.0.1")
        self.names: list[str | None] = []

    def server(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.cert.configure_cert(ctx)
        ctx.set_alpn_protocols(["h2", "http/1.1"])

        def remember(sslobj: Any, name: str | None, context: Any) -> None:
            self.names.append(name)

        ctx.sni_callback = remember
        return ctx

    def client(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context()
        self.ca.configure_trust(ctx)
        ctx.set_alpn_protocols(["h2"])
        return ctx


@pytest.fixture(scope="module")
def certs() -> Certs:
    return Certs()


class Collect(asyncio.Protocol):
    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        self.transport: Any = None
        self.data = bytearray()
        self.want = -1
        self.enough: asyncio.Future[None] = loop.create_future()
        self.eof: asyncio.Future[None] = loop.create_future()
        self.lost: asyncio.Future[Exception | None] = loop.create_future()
        self.made = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.made += 1

    def data_received(self, data: bytes) -> None:
        self.data += data
        if 0 <= self.want <= len(self.data) and not self.enough.done():
            self.enough.set_result(None)

    def eof_received(self) -> bool:
        if not self.eof.done():
            self.eof.set_result(None)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(exc)


class Echo(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: Any = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


class BufferedCollect(asyncio.BufferedProtocol):
    def __init__(self, want: int) -> None:
        self.storage = bytearray(want)
        self.pos = 0
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def get_buffer(self, sizehint: int) -> memoryview:
        return memoryview(self.storage)[self.pos :]

    def buffer_updated(self, nbytes: int) -> None:
        self.pos += nbytes
        if self.pos == len(self.storage):
            self.done.set_result(None)


def test_tls_echo_sni_alpn_extra_info(run: Runner, certs: Certs) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await ct.create_server(loop, Echo, "127.0.0.1", 0, ssl=certs.server())
        async with server:
            port = server.sockets[0].getsockname()[1]
            transport, proto = await ct.create_connection(
                loop, Collect, "localhost", port, ssl=certs.client()
            )
            assert isinstance(proto, Collect)
            assert proto.made == 1
            assert isinstance(transport, asyncio.Transport)
            sslobj = transport.get_extra_info("ssl_object")
            assert sslobj.selected_alpn_protocol() == "h2"
            assert transport.get_extra_info("peercert")["subjectAltName"]
            assert transport.get_extra_info("cipher") is not None
            assert transport.get_extra_info("peername")[1] == port
            assert not transport.can_write_eof()
            assert "localhost" in certs.names
            payload = os.urandom(4 << 20)
            proto.want = len(payload)
            transport.write(payload[:100])
            transport.writelines([payload[100:1000], payload[1000:]])
            await proto.enough
            assert hashlib.sha256(proto.data).digest() == hashlib.sha256(payload).digest()
            transport.close()
            assert transport.is_closing()
            assert await proto.lost is None

    run(main())


def test_tls_buffered_protocol_client(run: Runner, certs: Certs) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await ct.create_server(loop, Echo, "127.0.0.1", 0, ssl=certs.server())
        async with server:
            port = server.sockets[0].getsockname()[1]
            payload = os.urandom(1 << 20)
            transport, proto = await ct.create_connection(
                loop,
                lambda: BufferedCollect(len(payload)),
                "127.0.0.1",
                port,
                ssl=certs.client(),
                server_hostname="localhost",
            )
            assert isinstance(proto, BufferedCollect)
            transport.write(payload)
            await proto.done
            assert bytes(proto.storage) == payload
            transport.abort()
            server.close_clients()

    run(main())


@pytest.fixture
def stdlib_tls_server(certs: Certs) -> Iterator[tuple[int, list[bytes], threading.Event]]:
    """A blocking stdlib-ssl server in a thread: greets, then closes without close_notify."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    seen: list[bytes] = []
    done = threading.Event()
    ctx = certs.server()

    def serve() -> None:
        try:
            conn, _ = listener.accept()
            with ctx.wrap_socket(conn, server_side=True) as tls:
                line = b""
                while not line.endswith(b"\n"):
                    chunk = tls.recv(100)
                    if not chunk:
                        break
                    line += chunk
                seen.append(line)
                tls.sendall(b"hello " + line)
                # Close the TCP connection without a TLS close_notify.
        finally:
            listener.close()
            done.set()

    thread = threading.Thread(target=serve)
    thread.start()
    yield port, seen, done
    thread.join(10)


def test_tls_client_against_stdlib_ssl_peer_with_abrupt_close(
    run: Runner, certs: Certs, stdlib_tls_server: tuple[int, list[bytes], threading.Event]
) -> None:
    port, seen, _ = stdlib_tls_server

    async def main() -> None:
        loop = asyncio.get_running_loop()
        transport, proto = await ct.create_connection(
            loop, Collect, "localhost", port, ssl=certs.client()
        )
        assert isinstance(proto, Collect)
        transport.write(b"corolla\n")
        await proto.eof
        assert proto.data == b"hello corolla\n"
        await proto.lost

    run(main())
    assert seen == [b"corolla\n"]


def test_tls_server_against_stdlib_ssl_client(run: Runner, certs: Certs) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await ct.create_server(loop, Echo, "127.0.0.1", 0, ssl=certs.server())
        async with server:
            port = server.sockets[0].getsockname()[1]

            def client() -> bytes:
                ctx = certs.client()
                with socket.create_connection(("127.0.0.1", port)) as raw:
                    with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                        tls.sendall(b"x" * 100_000)
                        got = b""
                        while len(got) < 100_000:
                            got += tls.recv(65536)
                        tls.unwrap()
                        return got

            got = await loop.run_in_executor(None, client)
            assert got == b"x" * 100_000

    run(main())


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl binary")
def test_tls_server_against_openssl_s_client(run: Runner, certs: Certs) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()

        class UpperOnce(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                self.transport: Any = transport
                self.buf = b""

            def data_received(self, data: bytes) -> None:
                self.buf += data
                if b"\n" in self.buf:
                    self.transport.write(self.buf.upper())
                    self.transport.close()

        server = await ct.create_server(loop, UpperOnce, "127.0.0.1", 0, ssl=certs.server())
        async with server:
            port = server.sockets[0].getsockname()[1]
            with tempfile.TemporaryDirectory() as tmp:
                ca_path = os.path.join(tmp, "ca.pem")
                certs.ca.cert_pem.write_to_path(ca_path)

                def client() -> subprocess.CompletedProcess[bytes]:
                    return subprocess.run(
                        [
                            "openssl",
                            "s_client",
                            "-connect",
                            f"127.0.0.1:{port}",
                            "-servername",
                            "localhost",
                            "-CAfile",
                            ca_path,
                            "-verify_return_error",
                            "-quiet",
                        ],
                        input=b"from openssl\n",
                        capture_output=True,
                        timeout=20,
                        check=False,
                    )

                result = await loop.run_in_executor(None, client)
            assert b"FROM OPENSSL\n" in result.stdout, result.stderr

    run(main())


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl binary")
def test_tls_client_against_openssl_s_server(run: Runner, certs: Certs) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cert_path = os.path.join(tmp, "cert.pem")
        key_path = os.path.join(tmp, "key.pem")
        certs.cert.cert_chain_pems[0].write_to_path(cert_path)
        certs.cert.private_key_pem.write_to_path(key_path)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        proc = subprocess.Popen(
            [
                "openssl",
                "s_server",
                "-accept",
                f"127.0.0.1:{port}",
                "-cert",
                cert_path,
                "-key",
                key_path,
                "-rev",
                "-naccept",
                "1",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            assert proc.stdout is not None
            for line in proc.stdout:  # wait until it listens
                if b"ACCEPT" in line:
                    break

            async def main() -> None:
                loop = asyncio.get_running_loop()
                transport, proto = await ct.create_connection(
                    loop,
                    Collect,
                    "127.0.0.1",
                    port,
                    ssl=certs.client(),
                    server_hostname="localhost",
                )
                assert isinstance(proto, Collect)
                transport.write(b"corolla\n")
                proto.want = 1
                while b"alloroc" not in proto.data:
                    proto.enough = loop.create_future()
                    proto.want = len(proto.data) + 1
                    await proto.enough
                transport.close()
                await proto.lost

            run(main())
        finally:
            proc.kill()
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()


def test_handshake_timeout_with_silent_peer(run: Runner, certs: Certs) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await ct.create_server(loop, asyncio.Protocol, "127.0.0.1", 0)
        async with server:
            port = server.sockets[0].getsockname()[1]
            with pytest.raises(ConnectionAbortedError, match="handshake"):
                await ct.create_connection(
                    loop,
                    Collect,
                    "127.0.0.1",
                    port,
                    ssl=certs.client(),
                    server_hostname="localhost",
                    ssl_handshake_timeout=0.2,
                )
            server.close_clients()

    run(main())


def test_untrusted_certificate_fails_the_call(run: Runner, certs: Certs) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await ct.create_server(loop, Echo, "127.0.0.1", 0, ssl=certs.server())
        async with server:
            port = server.sockets[0].getsockname()[1]
            with pytest.raises(ssl.SSLCertVerificationError):
                await ct.create_connection(loop, Collect, "localhost", port, ssl=True)
            with pytest.raises(ValueError, match="positive"):
                await ct.create_connection(
                    loop, Collect, "localhost", port, ssl=True, ssl_handshake_timeout=0
                )

    run(main())


class StartTLSServer(asyncio.Protocol):
    """Plain text until STARTTLS, then upgrades and echoes."""

    def __init__(self, ctx: ssl.SSLContext) -> None:
        self.ctx = ctx
        self.tasks: list[asyncio.Task[Any]] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: Any = transport

    def data_received(self, data: bytes) -> None:
        if data == b"STARTTLS\n":
            # Nothing may be read as plain text once the peer starts its handshake.
            self.transport.pause_reading()
            self.transport.write(b"GO\n")
            loop = asyncio.get_running_loop()
            self.tasks.append(loop.create_task(self.upgrade(loop)))
        else:
            self.transport.write(b"echo:" + data)

    async def upgrade(self, loop: asyncio.AbstractEventLoop) -> None:
        # server_side=1: asyncio tests the flag's truth (the compiled build
        # once raised TypeError for anything but a bool).
        self.transport = await ct.start_tls(loop, self.transport, self, self.ctx, server_side=1)


def test_start_tls_both_sides(run: Runner, certs: Certs) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server_proto: list[StartTLSServer] = []

        def factory() -> StartTLSServer:
            server_proto.append(StartTLSServer(certs.server()))
            return server_proto[-1]

        server = await ct.create_server(loop, factory, "127.0.0.1", 0)
        async with server:
            port = server.sockets[0].getsockname()[1]
            transport, proto = await ct.create_connection(loop, Collect, "127.0.0.1", port)
            assert isinstance(proto, Collect)
            proto.want = 3
            transport.write(b"STARTTLS\n")
            await proto.enough
            assert proto.data == b"GO\n"
            with pytest.raises(ValueError, match="server_hostname"):
                await ct.start_tls(loop, transport, proto, certs.client())
            tls = await ct.start_tls(
                loop, transport, proto, certs.client(), server_hostname="localhost"
            )
            assert tls.get_extra_info("ssl_object") is not None
            proto.data.clear()
            proto.enough = loop.create_future()
            proto.want = len(b"echo:secret")
            tls.write(b"secret")
            await proto.enough
            assert proto.data == b"echo:secret"
            assert proto.made == 1
            tls.close()
            assert await proto.lost is None
            await asyncio.gather(*server_proto[0].tasks)

    run(main())
