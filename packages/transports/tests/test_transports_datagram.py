"""Datagram transports over real UDP and Unix datagram sockets."""

from __future__ import annotations

import asyncio
import os
import socket
import tempfile
from typing import Any

import pytest

import corolla.transports as ct

Runner = Any  # the `run` fixture from conftest.py


class Datagrams(asyncio.DatagramProtocol):
    def __init__(self, *, echo: bool = False) -> None:
        loop = asyncio.get_running_loop()
        self.echo = echo
        self.transport: Any = None
        self.received: list[tuple[bytes, Any]] = []
        self.errors: list[Exception] = []
        self.arrived: asyncio.Future[None] = loop.create_future()
        self.error: asyncio.Future[None] = loop.create_future()
        self.lost: asyncio.Future[Exception | None] = loop.create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.received.append((data, addr))
        if self.echo:
            self.transport.sendto(data, addr)
        if not self.arrived.done():
            self.arrived.set_result(None)

    def error_received(self, exc: Exception) -> None:
        self.errors.append(exc)
        if not self.error.done():
            self.error.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.set_result(exc)

    async def next(self) -> tuple[bytes, Any]:
        await self.arrived
        self.arrived = asyncio.get_running_loop().create_future()
        return self.received.pop(0)


def test_udp_ping_pong_connected_and_unconnected(run: Runner) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        st, sp = await ct.create_datagram_endpoint(
            loop, lambda: Datagrams(echo=True), local_addr=("127.0.0.1", 0)
        )
        assert isinstance(st, asyncio.DatagramTransport)
        assert isinstance(sp, Datagrams)
        server_addr = st.get_extra_info("sockname")
        assert st.get_extra_info("peername") is None
        # Connected client: sendto without an address.
        ct_, cp = await ct.create_datagram_endpoint(loop, Datagrams, remote_addr=server_addr)
        assert isinstance(cp, Datagrams)
        assert ct_.get_extra_info("peername") == server_addr
        ct_.sendto(b"ping")
        ct_.sendto(bytearray(b"pong"), server_addr)
        assert (await cp.next())[0] == b"ping"
        assert (await cp.next())[0] == b"pong"
        with pytest.raises(ValueError, match="Invalid address"):
            ct_.sendto(b"x", ("127.0.0.1", 1))
        with pytest.raises(TypeError):
            ct_.sendto("text")  # type: ignore[arg-type]
        # Unconnected client: the address is required.
        ut, up = await ct.create_datagram_endpoint(loop, Datagrams, local_addr=("127.0.0.1", 0))
        assert isinstance(up, Datagrams)
        with pytest.raises(ValueError):
            ut.sendto(b"x")
        ut.sendto(memoryview(b"hello"), server_addr)
        data, addr = await up.next()
        assert data == b"hello"
        assert addr == server_addr
        ut.sendto(b"", server_addr)
        assert (await up.next())[0] == b""
        for t, p in ((ct_, cp), (ut, up), (st, sp)):
            t.close()
            assert t.is_closing()
            assert await p.lost is None

    run(main())


def test_connected_udp_gets_error_received_on_refusal(run: Runner) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            dead = s.getsockname()
        transport, proto = await ct.create_datagram_endpoint(loop, Datagrams, remote_addr=dead)
        assert isinstance(proto, Datagrams)
        transport.sendto(b"anyone?")
        await proto.error
        assert isinstance(proto.errors[0], ConnectionRefusedError)
        assert not transport.is_closing()
        transport.abort()
        assert await proto.lost is None

    run(main())


def test_unix_datagram(run: Runner) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        with tempfile.TemporaryDirectory() as tmp:
            server_path = os.path.join(tmp, "server")
            client_path = os.path.join(tmp, "client")
            st, sp = await ct.create_datagram_endpoint(
                loop, lambda: Datagrams(echo=True), local_addr=server_path, family=socket.AF_UNIX
            )
            ct_, cp = await ct.create_datagram_endpoint(
                loop,
                Datagrams,
                local_addr=client_path,
                remote_addr=server_path,
                family=socket.AF_UNIX,
            )
            assert isinstance(cp, Datagrams)
            ct_.sendto(b"over unix")
            assert await cp.next() == (b"over unix", server_path)
            ct_.close()
            st.close()
            await cp.lost
            await sp.lost  # type: ignore[attr-defined]

    run(main())


def test_datagram_flags_take_any_truth_value(run: Runner) -> None:
    # As asyncio: any truth value (the compiled build once raised TypeError for 1).
    async def main() -> None:
        loop = asyncio.get_running_loop()
        transport, proto = await ct.create_datagram_endpoint(
            loop, Datagrams, local_addr=("127.0.0.1", 0), reuse_port=1, allow_broadcast=1
        )
        tsock = transport.get_extra_info("socket")
        assert tsock.getsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST)
        assert tsock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT)
        transport.close()
        await proto.lost  # type: ignore[attr-defined]

    run(main())


def test_broadcast_and_reuse_port_options(run: Runner) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        t1, p1 = await ct.create_datagram_endpoint(
            loop,
            Datagrams,
            local_addr=("127.0.0.1", 0),
            reuse_port=True,
            allow_broadcast=True,
        )
        tsock = t1.get_extra_info("socket")
        assert tsock.getsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST)
        assert tsock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT)
        port = t1.get_extra_info("sockname")[1]
        t2, p2 = await ct.create_datagram_endpoint(
            loop, Datagrams, local_addr=("127.0.0.1", port), reuse_port=True
        )
        for t, p in ((t1, p1), (t2, p2)):
            t.close()
            await p.lost  # type: ignore[attr-defined]

    run(main())


def test_datagram_from_sock_and_argument_errors(run: Runner) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        transport, proto = await ct.create_datagram_endpoint(loop, Datagrams, sock=sock)
        assert transport.get_extra_info("sockname") == sock.getsockname()
        transport.close()
        await proto.lost  # type: ignore[attr-defined]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other:
            with pytest.raises(ValueError, match="socket modifier"):
                await ct.create_datagram_endpoint(
                    loop, Datagrams, local_addr=("127.0.0.1", 0), sock=other
                )
        with socket.socket() as stream:
            with pytest.raises(ValueError, match="datagram socket was expected"):
                await ct.create_datagram_endpoint(loop, Datagrams, sock=stream)
        with pytest.raises(ValueError, match="reuse_address"):
            await ct.create_datagram_endpoint(
                loop, Datagrams, local_addr=("127.0.0.1", 0), reuse_address=True
            )
        with pytest.raises(ValueError, match="unexpected address family"):
            await ct.create_datagram_endpoint(loop, Datagrams)
        with pytest.raises(TypeError, match="2-tuple"):
            await ct.create_datagram_endpoint(loop, Datagrams, local_addr="127.0.0.1")
        # Family only: an unbound, unconnected socket.
        transport, proto = await ct.create_datagram_endpoint(loop, Datagrams, family=socket.AF_INET)
        transport.close()
        await proto.lost  # type: ignore[attr-defined]

    run(main())


def test_datagram_flow_control_limits(run: Runner) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        transport, proto = await ct.create_datagram_endpoint(
            loop, Datagrams, local_addr=("127.0.0.1", 0)
        )
        transport.set_write_buffer_limits(high=100)  # type: ignore[attr-defined]
        assert transport.get_write_buffer_limits() == (25, 100)  # type: ignore[attr-defined]
        assert transport.get_write_buffer_size() == 0  # type: ignore[attr-defined]
        with pytest.raises(ValueError):
            transport.set_write_buffer_limits(high=1, low=5)  # type: ignore[attr-defined]
        transport.close()
        await proto.lost  # type: ignore[attr-defined]

    run(main())
