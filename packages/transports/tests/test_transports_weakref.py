"""Every public transport and server class can be weakly referenced, as the stdlib's can.

The loop's fd guard keeps its transports in a weak mapping, and user code may
hold them weakly. (Regressions, compiled with mypyc: on Python 3.12+ the
transport classes had no weak-reference slot and ``weakref.ref(transport)``
raised TypeError; on 3.11, and for Server everywhere, a weak reference that
outlived its object was never cleared: calling it crashed.) A closed
transport is still freed by reference counting alone: a weak reference dies
(and its callback runs) as soon as the last strong one goes, with the
collector off.
"""

from __future__ import annotations

import asyncio
import gc
import os
import ssl
import weakref
from collections.abc import Iterator
from typing import Any

import pytest

import corolla.transports as ct

Runner = Any  # the `run` fixture from conftest.py


@pytest.fixture
def no_gc() -> Iterator[None]:
    """Reference counting only: a cycle would keep a closed transport alive."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class Peer(asyncio.Protocol):
    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        self.made: asyncio.Future[Any] = loop.create_future()
        self.lost: asyncio.Future[None] = loop.create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.made.set_result(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(None)


class Accepting:
    """A server's protocol factory that hands over the protocol it made."""

    def __init__(self) -> None:
        self._made: asyncio.Future[Peer] = asyncio.get_running_loop().create_future()

    def __call__(self) -> Peer:
        peer = Peer()
        self._made.set_result(peer)
        return peer

    async def take(self) -> Peer:
        """The protocol of the accepted connection; the factory keeps no reference to it."""
        peer = await self._made
        self._made = asyncio.get_running_loop().create_future()
        return peer


class Datagrams(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.set_result(None)


class Weak:
    """A weak reference to an object of exactly the public class ``cls``, with a callback."""

    def __init__(self, obj: object, cls: type) -> None:
        assert type(obj) is cls
        self.died = False
        self.ref = weakref.ref(obj, self._callback)
        assert self.ref() is obj

    def _callback(self, ref: weakref.ref[Any]) -> None:
        self.died = True

    def dead(self) -> bool:
        """True once the object was freed: the reference is cleared and its callback ran."""
        return self.ref() is None and self.died


_weak = Weak


def test_public_classes_take_weak_references() -> None:
    # The slot is a property of the class: nonzero offset (negative when the
    # interpreter manages it, 3.12+).
    for cls in (
        ct.SocketTransport,
        ct.DatagramSocketTransport,
        ct.ReadPipeTransport,
        ct.WritePipeTransport,
        ct.TLSTransport,
        ct.Server,
    ):
        assert cls.__weakrefoffset__ != 0, cls


def test_stream_transports_and_server(run: Runner, no_gc: None) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        accepting = Accepting()
        server = await ct.create_server(loop, accepting, "127.0.0.1", 0)
        server_ref = _weak(server, ct.Server)
        port = server.sockets[0].getsockname()[1]
        transport, proto = await ct.create_connection(loop, Peer, "127.0.0.1", port)
        assert isinstance(proto, Peer)
        client_ref = _weak(transport, ct.SocketTransport)
        accepted = await accepting.take()
        accepted_ref = _weak(await accepted.made, ct.SocketTransport)
        registry = getattr(loop, "_transports", None)
        if registry is not None:  # the loop's weak fd guard holds them
            assert registry[transport.get_extra_info("socket").fileno()] is transport
        transport.close()
        await proto.lost
        await accepted.lost
        del transport, proto, accepted
        assert client_ref.dead()
        assert accepted_ref.dead()
        server.close()
        await server.wait_closed()
        del server
        assert server_ref.dead()

    run(main())


def test_tls_transport(run: Runner, no_gc: None) -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        accepting = Accepting()
        server = await ct.create_server(loop, accepting, "127.0.0.1", 0, ssl=server_ctx)
        async with server:
            port = server.sockets[0].getsockname()[1]
            transport, proto = await ct.create_connection(
                loop, Peer, "127.0.0.1", port, ssl=client_ctx, server_hostname="localhost"
            )
            assert isinstance(proto, Peer)
            client_ref = _weak(transport, ct.TLSTransport)
            accepted = await accepting.take()
            accepted_ref = _weak(await accepted.made, ct.TLSTransport)
            transport.close()
            await proto.lost
            await accepted.lost
            del transport, proto, accepted
            assert client_ref.dead()
            assert accepted_ref.dead()

    run(main())


def test_datagram_transport(run: Runner, no_gc: None) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        transport, proto = await ct.create_datagram_endpoint(
            loop, Datagrams, local_addr=("127.0.0.1", 0)
        )
        assert isinstance(proto, Datagrams)
        ref = _weak(transport, ct.DatagramSocketTransport)
        registry = getattr(loop, "_transports", None)
        if registry is not None:
            assert registry[transport.get_extra_info("socket").fileno()] is transport
        transport.close()
        await proto.lost
        del transport, proto
        assert ref.dead()

    run(main())


def test_pipe_transports(run: Runner, no_gc: None) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        rfd, wfd = os.pipe()
        reader, rproto = await ct.connect_read_pipe(loop, Peer, os.fdopen(rfd, "rb", 0))
        writer, wproto = await ct.connect_write_pipe(loop, Peer, os.fdopen(wfd, "wb", 0))
        assert isinstance(rproto, Peer)
        assert isinstance(wproto, Peer)
        read_ref = _weak(reader, ct.ReadPipeTransport)
        write_ref = _weak(writer, ct.WritePipeTransport)
        writer.close()
        await wproto.lost
        await rproto.lost  # the writer's close is the reader's EOF
        del reader, rproto, writer, wproto
        assert read_ref.dead()
        assert write_ref.dead()

    run(main())


def test_tls_layer_weak_reference_never_outlives_it(run: Runner) -> None:
    # The TLS layer (the raw transport's protocol) is a plain compiled class: compiled on
    # asyncio.Protocol, a weak reference outliving it crashed Python 3.11. Compiled it now
    # refuses weak references; pure, a weak reference dies with it.
    from corolla.transports._tls import TLSProtocol

    async def main() -> None:
        loop = asyncio.get_running_loop()
        layer = TLSProtocol(loop, asyncio.Protocol(), ssl.create_default_context(), None)
        layer.connection_lost(None)  # drops the app transport (a cycle) as a closed layer does
        assert layer._app_transport is None
        try:
            ref = weakref.ref(layer)
        except TypeError:
            assert ct.COMPILED
            return
        del layer
        assert ref() is None
        junk = [bytearray(64) for _ in range(2000)]
        assert ref() is None
        del junk

    run(main())
