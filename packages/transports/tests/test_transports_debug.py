"""Transports and servers left unclosed: a ResourceWarning, with where they were
created when the loop runs in debug mode; the descriptor is closed anyway."""

from __future__ import annotations

import asyncio
import gc
import socket
import warnings
from typing import Any

import pytest

import corolla.transports as ct

LoopFactory = Any  # the `loop_factory` fixture from conftest.py


class Made(asyncio.Protocol):
    def __init__(self) -> None:
        self.made: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.made.set_result(None)


def _run_and_collect(loop_factory: LoopFactory, debug: bool, coro: Any) -> list[str]:
    """Run ``coro`` on a fresh loop (debug on or off), then collect garbage while
    recording ResourceWarnings; returns their messages."""
    loop = loop_factory()
    loop.set_debug(debug)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        try:
            loop.run_until_complete(coro)
        finally:
            loop.close()  # (uvloop lets a removed reader's callback go only here)
        gc.collect()
    return [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]


async def _leave_transport_unclosed(peer: list[socket.socket]) -> None:
    loop = asyncio.get_running_loop()
    a, b = socket.socketpair()
    peer.append(b)  # kept open until the end: no EOF may close the transport
    transport, proto = await ct.connect_accepted_socket(loop, Made, a)
    assert isinstance(proto, Made)
    await proto.made
    # Paused: the loop holds no callback of it, so dropping it makes it garbage.
    transport.pause_reading()
    del transport, proto, a


async def _leave_datagram_unclosed() -> None:
    loop = asyncio.get_running_loop()
    transport, _ = await ct.create_datagram_endpoint(
        loop, asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0)
    )
    # A datagram transport always reads: close the loop's hold on it by
    # dropping the reader through the transport's own operations.
    core: Any = transport._core  # type: ignore[attr-defined]
    core._remove_reader()
    del transport, core


async def _leave_server_unclosed() -> None:
    loop = asyncio.get_running_loop()
    server = await ct.create_server(loop, Made, "127.0.0.1", 0, start_serving=False)
    assert server.sockets
    del server


@pytest.mark.parametrize("debug", [True, False], ids=["debug", "no-debug"])
def test_unclosed_transport_warns(loop_factory: LoopFactory, debug: bool) -> None:
    peer: list[socket.socket] = []
    try:
        messages = _run_and_collect(loop_factory, debug, _leave_transport_unclosed(peer))
    finally:
        for sock in peer:
            sock.close()
    mine = [m for m in messages if m.startswith("unclosed transport <SocketTransport")]
    assert len(mine) == 1, messages
    if debug:
        assert "it was created at" in mine[0]
        assert "_leave_transport_unclosed" in mine[0]
        assert __file__ in mine[0]
    else:
        assert "created at" not in mine[0]


@pytest.mark.parametrize("debug", [True, False], ids=["debug", "no-debug"])
def test_unclosed_datagram_transport_warns(loop_factory: LoopFactory, debug: bool) -> None:
    messages = _run_and_collect(loop_factory, debug, _leave_datagram_unclosed())
    mine = [m for m in messages if m.startswith("unclosed transport <DatagramSocketTransport")]
    assert len(mine) == 1, messages
    assert ("_leave_datagram_unclosed" in mine[0]) is debug


@pytest.mark.parametrize("debug", [True, False], ids=["debug", "no-debug"])
def test_unclosed_server_warns_and_closes_its_sockets(
    loop_factory: LoopFactory, debug: bool
) -> None:
    messages = _run_and_collect(loop_factory, debug, _leave_server_unclosed())
    mine = [m for m in messages if m.startswith("unclosed server <Server")]
    assert len(mine) == 1, messages
    assert ("_leave_server_unclosed" in mine[0]) is debug
    # The fd-leak check of conftest.py verifies the listening socket was closed.


def test_closed_transport_and_server_do_not_warn(loop_factory: LoopFactory) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await ct.create_server(loop, Made, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        transport, proto = await ct.create_connection(loop, Made, "127.0.0.1", port)
        assert isinstance(proto, Made)
        await proto.made
        transport.close()
        server.close()
        await server.wait_closed()
        await asyncio.sleep(0)  # let connection_lost run

    assert _run_and_collect(loop_factory, True, main()) == []
