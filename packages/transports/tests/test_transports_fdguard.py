"""A transport's descriptor is guarded: the loop refuses add_reader & co. on it.

The stdlib loop and corolla's keep ``loop._transports`` (fd -> transport);
corolla.transports registers there, so the guard holds for corolla's
transports on both loops. On a loop without that mapping (uvloop) the
transports register nowhere and these tests are skipped.
"""

from __future__ import annotations

import asyncio
import os
import socket
from typing import Any

import pytest

import corolla.transports as ct

Runner = Any  # the `run` fixture from conftest.py


class Echo(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: Any = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


class Collect(asyncio.Protocol):
    def __init__(self, want: int) -> None:
        loop = asyncio.get_running_loop()
        self.want = want
        self.data = bytearray()
        self.done: asyncio.Future[None] = loop.create_future()
        self.lost: asyncio.Future[None] = loop.create_future()

    def data_received(self, data: bytes) -> None:
        self.data += data
        if len(self.data) >= self.want and not self.done.done():
            self.done.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.set_result(None)


class Datagrams(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.got: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if not self.got.done():
            self.got.set_result(data)


def _guarded(loop: asyncio.AbstractEventLoop) -> None:
    if getattr(loop, "_transports", None) is None:
        pytest.skip("this loop keeps no fd -> transport registry")


def _assert_refused(loop: asyncio.AbstractEventLoop, fd: int) -> None:
    for call in (
        lambda: loop.add_reader(fd, print),
        lambda: loop.add_writer(fd, print),
        lambda: loop.remove_reader(fd),
        lambda: loop.remove_writer(fd),
    ):
        with pytest.raises(RuntimeError, match="used by transport"):
            call()


def test_stream_transport_fd_is_guarded(run: Runner) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        _guarded(loop)
        server = await ct.create_server(loop, Echo, "127.0.0.1", 0)
        async with server:
            port = server.sockets[0].getsockname()[1]
            payload = os.urandom(3 << 20)  # large enough to need the writer callback
            transport, proto = await ct.create_connection(
                loop, lambda: Collect(len(payload)), "127.0.0.1", port
            )
            assert isinstance(proto, Collect)
            fd = transport.get_extra_info("socket").fileno()
            registry: Any = loop._transports  # type: ignore[attr-defined]
            assert registry[fd] is transport
            _assert_refused(loop, fd)
            # The transport's own readiness operations still work while guarded.
            transport.pause_reading()
            transport.resume_reading()
            transport.write(payload)
            await proto.done
            assert bytes(proto.data) == payload
            transport.close()
            # A closing transport no longer guards its descriptor.
            assert loop.remove_reader(fd) is False
            await proto.lost
            assert registry.get(fd) is not transport

    run(main())


def test_tls_transport_socket_is_guarded(run: Runner) -> None:
    trustme = pytest.importorskip("trustme")
    import ssl

    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        _guarded(loop)
        server = await ct.create_server(loop, Echo, "127.0.0.1", 0, ssl=server_ctx)
        async with server:
            port = server.sockets[0].getsockname()[1]
            transport, proto = await ct.create_connection(
                loop,
                lambda: Collect(5),
                "127.0.0.1",
                port,
                ssl=client_ctx,
                server_hostname="localhost",
            )
            assert isinstance(proto, Collect)
            _assert_refused(loop, transport.get_extra_info("socket").fileno())
            transport.write(b"hello")
            await proto.done
            assert bytes(proto.data) == b"hello"
            transport.close()
            await proto.lost

    run(main())


def test_datagram_transport_fd_is_guarded(run: Runner) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        _guarded(loop)
        receiver, rproto = await ct.create_datagram_endpoint(
            loop, Datagrams, local_addr=("127.0.0.1", 0)
        )
        address = receiver.get_extra_info("sockname")
        sender, _ = await ct.create_datagram_endpoint(
            loop, asyncio.DatagramProtocol, remote_addr=address
        )
        try:
            assert isinstance(rproto, Datagrams)
            _assert_refused(loop, receiver.get_extra_info("socket").fileno())
            _assert_refused(loop, sender.get_extra_info("socket").fileno())
            sender.sendto(b"ping")
            assert await rproto.got == b"ping"
        finally:
            sender.close()
            receiver.close()

    run(main())


def test_sock_methods_refuse_a_transport_socket(run: Runner) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        _guarded(loop)
        a, b = socket.socketpair()
        transport, proto = await ct.connect_accepted_socket(loop, lambda: Collect(1), a)
        assert isinstance(proto, Collect)
        # A socket object sharing the transport's descriptor, as code that
        # kept the original socket would have.
        alias = socket.socket(family=a.family, type=a.type, fileno=a.fileno())
        try:
            alias.setblocking(False)
            with pytest.raises(RuntimeError, match="used by transport"):
                await loop.sock_recv(alias, 1)
        finally:
            alias.detach()
            transport.close()
            await proto.lost
            b.close()

    run(main())
