"""Servers, connection setup (host lists, Happy Eyeballs) and argument errors."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import pytest

import corolla.transports as ct
from corolla.transports._connect import interleave_addrinfos, staggered_connect

Runner = Any  # the `run` fixture from conftest.py


class Tracker(asyncio.Protocol):
    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        self.transport: Any = None
        self.made: asyncio.Future[None] = loop.create_future()
        self.lost: asyncio.Future[Exception | None] = loop.create_future()
        self.data = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.made.set_result(None)

    def data_received(self, data: bytes) -> None:
        self.data += data
        self.transport.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.set_result(exc)


def _has_ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


HAS_IPV6 = _has_ipv6()


class Clients:
    """Remembers the server-side protocols a server made."""

    def __init__(self) -> None:
        self.protocols: list[Tracker] = []
        self.arrived: asyncio.Future[None] | None = None
        self.seen = 0

    def __call__(self) -> Tracker:
        proto = Tracker()
        self.protocols.append(proto)
        if self.arrived is not None and not self.arrived.done():
            self.arrived.set_result(None)
        return proto

    async def next(self) -> Tracker:
        """The next server-side connection not returned yet."""
        while len(self.protocols) <= self.seen:
            self.arrived = asyncio.get_running_loop().create_future()
            await self.arrived
        proto = self.protocols[self.seen]
        self.seen += 1
        await proto.made
        return proto


def test_server_basics(run: Runner) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        clients = Clients()
        server = await ct.create_server(loop, clients, "127.0.0.1", 0)
        assert server.get_loop() is loop
        assert server.is_serving()
        (listener,) = server.sockets
        assert isinstance(listener, ct.TransportSocket)
        assert listener.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR)
        port = listener.getsockname()[1]
        transport, _proto = await ct.create_connection(loop, Tracker, "127.0.0.1", port)
        peer = await clients.next()
        assert peer.transport.get_extra_info("peername") == transport.get_extra_info("sockname")
        server.close()
        assert not server.is_serving()
        assert server.sockets == ()
        waiter = loop.create_task(server.wait_closed())
        await asyncio.sleep(0)
        assert not waiter.done()  # a connection is still open
        transport.close()
        await peer.lost
        await waiter
        server.close()

    run(main())


def test_close_clients_and_abort_clients(run: Runner) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        clients = Clients()
        server = await ct.create_server(loop, clients, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        _t1, p1 = await ct.create_connection(loop, Tracker, "127.0.0.1", port)
        await clients.next()
        _t2, p2 = await ct.create_connection(loop, Tracker, "127.0.0.1", port)
        await clients.next()
        assert isinstance(p1, Tracker)
        assert isinstance(p2, Tracker)
        server.close()
        server.close_clients()
        assert await p1.lost is None
        assert await p2.lost is None
        await server.wait_closed()

        server = await ct.create_server(loop, clients, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        _t3, p3 = await ct.create_connection(loop, Tracker, "127.0.0.1", port)
        await clients.next()
        assert isinstance(p3, Tracker)
        server.abort_clients()
        server.close()
        await server.wait_closed()
        await p3.lost

    run(main())


def test_serve_forever_and_async_with(run: Runner) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await ct.create_server(loop, Tracker, "127.0.0.1", 0, start_serving=False)
        assert not server.is_serving()
        async with server:
            task = loop.create_task(server.serve_forever())
            await asyncio.sleep(0)
            assert server.is_serving()
            with pytest.raises(RuntimeError):
                await server.serve_forever()
            port = server.sockets[0].getsockname()[1]
            transport, proto = await ct.create_connection(loop, Tracker, "127.0.0.1", port)
            transport.write(b"echo")
            transport.close()
            await proto.lost  # type: ignore[attr-defined]
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert not server.is_serving()
        with pytest.raises(RuntimeError):
            await server.serve_forever()
        with pytest.raises(RuntimeError):
            await server.start_serving()

    run(main())


def test_close_stops_serve_forever(run: Runner) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await ct.create_server(loop, Tracker, "127.0.0.1", 0)
        task = loop.create_task(server.serve_forever())
        await asyncio.sleep(0)
        server.close()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(main())


@pytest.mark.skipif(not HAS_IPV6, reason="no IPv6 loopback")
def test_multiple_hosts_dual_stack(run: Runner) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        server = await ct.create_server(loop, Tracker, ["127.0.0.1", "::1"], port)
        async with server:
            families = sorted(s.family for s in server.sockets)
            assert families == sorted([socket.AF_INET, socket.AF_INET6])
            for host in ("127.0.0.1", "::1"):
                transport, proto = await ct.create_connection(loop, Tracker, host, port)
                transport.close()
                await proto.lost  # type: ignore[attr-defined]

    run(main())


def test_reuse_port(run: Runner) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        first = await ct.create_server(loop, Tracker, "127.0.0.1", 0, reuse_port=True)
        port = first.sockets[0].getsockname()[1]
        second = await ct.create_server(loop, Tracker, "127.0.0.1", port, reuse_port=True)
        first.close()
        second.close()
        await first.wait_closed()
        await second.wait_closed()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen()
            taken = s.getsockname()[1]
            with pytest.raises(OSError, match="error while attempting to bind"):
                await ct.create_server(loop, Tracker, "127.0.0.1", taken, reuse_address=False)

    run(main())


def test_flags_take_any_truth_value(run: Runner) -> None:
    # asyncio tests these flags for their truth; the compiled build once raised
    # TypeError ("bool object expected") for 1 and 0.
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await ct.create_server(
            loop,
            Tracker,
            "127.0.0.1",
            0,
            reuse_address=1,
            reuse_port=1,
            keep_alive=1,
            start_serving=0,
        )
        sock = server.sockets[0]
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR)
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT)
        assert not server.is_serving()
        await server.start_serving()
        port = sock.getsockname()[1]
        transport, proto = await ct.create_connection(
            loop, Tracker, "127.0.0.1", port, all_errors=0
        )
        assert isinstance(proto, Tracker)
        transport.close()
        await proto.lost
        server.close()
        await server.wait_closed()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            free = s.getsockname()[1]  # bound, never listening: connections are refused
            with pytest.raises(ExceptionGroup):
                await ct.create_connection(loop, Tracker, "127.0.0.1", free, all_errors=1)

    run(main())


def test_server_from_sock_and_connection_from_sock(run: Runner) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        listener = socket.create_server(("127.0.0.1", 0))
        server = await ct.create_server(loop, Tracker, sock=listener, backlog=5)
        async with server:
            port = listener.getsockname()[1]
            sock = socket.create_connection(("127.0.0.1", port))
            transport, proto = await ct.create_connection(loop, Tracker, sock=sock)
            assert transport.get_extra_info("peername")[1] == port
            transport.close()
            await proto.lost  # type: ignore[attr-defined]

    run(main())


def test_connect_accepted_socket(run: Runner) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        left, right = socket.socketpair()
        with right:
            _transport, proto = await ct.connect_accepted_socket(loop, Tracker, left)
            assert isinstance(proto, Tracker)
            right.sendall(b"ping")
            right.setblocking(False)
            assert await loop.sock_recv(right, 10) == b"ping"
            right.shutdown(socket.SHUT_WR)
            assert await proto.lost is None
        with socket.socket(type=socket.SOCK_DGRAM) as dgram:
            with pytest.raises(ValueError, match="Stream Socket"):
                await ct.connect_accepted_socket(loop, Tracker, dgram)

    run(main())


def test_local_addr(run: Runner) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        clients = Clients()
        server = await ct.create_server(loop, clients, "127.0.0.1", 0)
        async with server:
            port = server.sockets[0].getsockname()[1]
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                local_port = probe.getsockname()[1]
            transport, proto = await ct.create_connection(
                loop, Tracker, "127.0.0.1", port, local_addr=("127.0.0.1", local_port)
            )
            assert transport.get_extra_info("sockname") == ("127.0.0.1", local_port)
            peer = await clients.next()
            assert peer.transport.get_extra_info("peername") == ("127.0.0.1", local_port)
            transport.close()
            await proto.lost  # type: ignore[attr-defined]

    run(main())


def test_argument_errors(run: Runner) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        with socket.socket() as sock:
            with pytest.raises(ValueError, match="host/port and sock"):
                await ct.create_connection(loop, Tracker, "127.0.0.1", 1, sock=sock)
            with pytest.raises(ValueError, match="host/port and sock"):
                await ct.create_server(loop, Tracker, "127.0.0.1", 1, sock=sock)
        with pytest.raises(ValueError, match="no sock"):
            await ct.create_connection(loop, Tracker)
        with pytest.raises(ValueError, match="ssl_handshake_timeout is only meaningful"):
            await ct.create_connection(loop, Tracker, "127.0.0.1", 1, ssl_handshake_timeout=1)
        with pytest.raises(ValueError, match="ssl_shutdown_timeout is only meaningful"):
            await ct.create_server(loop, Tracker, "127.0.0.1", 0, ssl_shutdown_timeout=1)
        with pytest.raises(ValueError, match="server_hostname is only meaningful"):
            await ct.create_connection(loop, Tracker, "127.0.0.1", 1, server_hostname="x")
        with pytest.raises(ValueError, match="Neither host/port nor sock"):
            await ct.create_server(loop, Tracker)
        with socket.socket(type=socket.SOCK_DGRAM) as dgram:
            with pytest.raises(ValueError, match="Stream Socket"):
                await ct.create_connection(loop, Tracker, sock=dgram)
            with pytest.raises(ValueError, match="Stream Socket"):
                await ct.create_server(loop, Tracker, sock=dgram)
        with pytest.raises(ValueError, match="no path and sock"):
            await ct.create_unix_connection(loop, Tracker)
        with pytest.raises(ValueError, match="path and sock"):
            with socket.socket(socket.AF_UNIX) as usock:
                await ct.create_unix_connection(loop, Tracker, "/nonexistent", sock=usock)
        with pytest.raises(ValueError, match="UNIX Domain Stream Socket"):
            with socket.socket() as tcp:
                await ct.create_unix_server(loop, Tracker, sock=tcp)
        with pytest.raises(TypeError, match="ssl argument"):
            await ct.create_server(loop, Tracker, "127.0.0.1", 0, ssl=True)

    run(main())


# -- Happy Eyeballs ------------------------------------------------------------


def test_interleave_addrinfos_order() -> None:
    v6 = [(socket.AF_INET6, 1, 6, "", (f"::{i}", 80)) for i in range(3)]
    v4 = [(socket.AF_INET, 1, 6, "", (f"10.0.0.{i}", 80)) for i in range(2)]
    infos: list[Any] = [*v6, *v4]
    assert interleave_addrinfos(infos) == [v6[0], v4[0], v6[1], v4[1], v6[2]]
    assert interleave_addrinfos(infos, 2) == [v6[0], v6[1], v4[0], v6[2], v4[1]]


def _black_hole(
    family: int = socket.AF_INET, host: str = "127.0.0.1"
) -> tuple[socket.socket, list[socket.socket], int]:
    """A listener whose accept queue is full: further SYNs are dropped, connects hang."""
    listener = socket.socket(family)
    try:
        listener.bind((host, 0))
    except OSError as exc:
        listener.close()
        pytest.skip(f"cannot bind {host}: {exc}")
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers: list[socket.socket] = []
    for _ in range(16):
        s = socket.socket(family)
        s.setblocking(False)
        fillers.append(s)
        err = s.connect_ex((host, port))
        if err not in (0, 115):  # EINPROGRESS
            break
        # Wait (bounded) for the handshake; a connect that does not finish
        # means the queue is full and the address is black-holed.
        deadline = time.monotonic() + 0.5
        done = False
        while time.monotonic() < deadline:
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                try:
                    s.getpeername()
                    done = True
                    break
                except OSError:
                    pass
            time.sleep(0.01)
        if not done:
            return listener, fillers, port
    for s in fillers:
        s.close()
    listener.close()
    pytest.skip("could not build a black-holed address")


def test_happy_eyeballs_skips_black_holed_address(run: Runner) -> None:
    listener, fillers, hole_port = _black_hole()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        clients = Clients()
        server = await ct.create_server(loop, clients, "127.0.0.1", 0)
        async with server:
            good_port = server.sockets[0].getsockname()[1]
            infos: list[Any] = [
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", hole_port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", good_port)),
            ]
            sock, errors = await staggered_connect(loop, infos, None, 0.05)
            assert sock is not None
            with sock:
                assert sock.getpeername() == ("127.0.0.1", good_port)
                assert errors == []
                await clients.next()
            server.close_clients()

    try:
        run(main())
    finally:
        for s in fillers:
            s.close()
        listener.close()


class _ResolvingLoop:
    """The running loop, except that getaddrinfo answers from a fixed list (a
    resolver that returns a host's IPv6 and IPv4 addresses). Everything else,
    transports included, goes to the real loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, infos: list[Any]) -> None:
        self._loop = loop
        self._infos = infos
        self.queries: list[tuple[Any, Any]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loop, name)

    async def getaddrinfo(self, host: Any, port: Any, **kwargs: Any) -> list[Any]:
        self.queries.append((host, port))
        return list(self._infos)


def test_happy_eyeballs_with_the_whole_ipv6_family_black_holed(run: Runner) -> None:
    """Every IPv6 address of the host drops SYNs (listeners on ::1 with a full
    accept queue); the IPv4 address works: the connection is made over IPv4
    after the delay, and the hanging IPv6 attempts are cancelled and closed."""
    holes = [_black_hole(socket.AF_INET6, "::1") for _ in range(2)]

    async def main() -> None:
        loop = asyncio.get_running_loop()
        clients = Clients()
        server = await ct.create_server(loop, clients, "127.0.0.1", 0)
        async with server:
            good_port = server.sockets[0].getsockname()[1]
            tcp = (socket.SOCK_STREAM, 6, "")
            infos: list[Any] = [
                (socket.AF_INET6, *tcp, ("::1", holes[0][2], 0, 0)),
                (socket.AF_INET6, *tcp, ("::1", holes[1][2], 0, 0)),
                (socket.AF_INET, *tcp, ("127.0.0.1", good_port)),
            ]
            resolving: Any = _ResolvingLoop(loop, infos)
            for interleave in (None, 2):
                transport, proto = await ct.create_connection(
                    resolving,
                    Tracker,
                    "dual.example",
                    good_port,
                    happy_eyeballs_delay=0.05,
                    interleave=interleave,
                )
                assert transport.get_extra_info("peername") == ("127.0.0.1", good_port)
                assert transport.get_extra_info("socket").family == socket.AF_INET
                await clients.next()
                transport.close()
                await proto.lost  # type: ignore[attr-defined]
            assert resolving.queries == [("dual.example", good_port)] * 2
            server.close_clients()

    try:
        run(main())
    finally:
        for listener, fillers, _ in holes:
            for s in fillers:
                s.close()
            listener.close()


def test_happy_eyeballs_all_fail(run: Runner) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        ports = []
        for _ in range(3):
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                ports.append(s.getsockname()[1])
        infos: list[Any] = [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", p)) for p in ports
        ]
        sock, errors = await staggered_connect(loop, infos, None, 10.0)
        assert sock is None
        assert len(errors) == 3
        assert all(isinstance(e, ConnectionRefusedError) for e in errors)

    run(main())


def test_create_connection_with_happy_eyeballs(run: Runner) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await ct.create_server(loop, Tracker, "localhost", 0)
        async with server:
            port = server.sockets[0].getsockname()[1]
            transport, proto = await ct.create_connection(
                loop, Tracker, "localhost", port, happy_eyeballs_delay=0.25
            )
            transport.close()
            await proto.lost  # type: ignore[attr-defined]

    run(main())


def test_cancelled_connect_closes_sockets(run: Runner) -> None:
    listener, fillers, hole_port = _black_hole()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        task = loop.create_task(
            ct.create_connection(loop, Tracker, "127.0.0.1", hole_port, happy_eyeballs_delay=0.01)
        )
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    try:
        run(main())
    finally:
        for s in fillers:
            s.close()
        listener.close()
