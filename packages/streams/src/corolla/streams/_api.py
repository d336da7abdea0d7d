"""open_connection, start_server and their Unix-socket variants."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import TYPE_CHECKING, Any, cast

from corolla.streams import _protocol, _reader, _writer
from corolla.streams._protocol import ClientConnected, StreamReaderProtocolCore
from corolla.streams._util import DEFAULT_LIMIT, Await

if TYPE_CHECKING:
    from corolla.streams._public import StreamReader, StreamWriter

StrPath = str | os.PathLike[str]


class _ServerFactory:
    """The protocol factory of a stream server: one reader and protocol per connection."""

    def __init__(
        self, callback: ClientConnected, limit: int, loop: asyncio.AbstractEventLoop
    ) -> None:
        self._callback = callback
        self._limit = limit
        self._loop = loop

    def __call__(self) -> StreamReaderProtocolCore:
        reader = _reader.reader_class(self._limit, self._loop)
        return _protocol.protocol_class(reader, self._callback, self._loop)


class _Fixed:
    """A protocol factory that returns one prepared protocol."""

    def __init__(self, protocol: StreamReaderProtocolCore) -> None:
        self._protocol = protocol

    def __call__(self) -> StreamReaderProtocolCore:
        return self._protocol


def _check_limit(limit: int) -> None:
    if limit <= 0:
        raise ValueError("Limit cannot be <= 0")


async def open_connection(
    host: object = None,
    port: object = None,
    *,
    limit: int = DEFAULT_LIMIT,
    **kwds: Any,
) -> tuple[StreamReader, StreamWriter]:
    """Connect over TCP and return a ``(reader, writer)`` pair.

    Takes the arguments of ``loop.create_connection()`` except the protocol
    factory (``ssl``, ``sock``, ``local_addr``, ``server_hostname``,
    ``happy_eyeballs_delay``, ``ssl_handshake_timeout`` ...); ``limit`` is the
    :class:`StreamReader` limit.
    """
    _check_limit(limit)
    loop = asyncio.get_running_loop()
    reader = _reader.reader_class(limit, loop)
    protocol = _protocol.protocol_class(reader, None, loop)
    connect = cast(Any, loop).create_connection(_Fixed(protocol), host, port, **kwds)
    if sys.version_info >= (3, 12):
        transport, _ = await Await(connect)
    else:
        transport, _ = await connect
    writer = _writer.writer_class(transport, cast(Any, protocol), reader, loop)
    return cast("StreamReader", reader), cast("StreamWriter", writer)


async def start_server(
    client_connected_cb: ClientConnected,
    host: object = None,
    port: object = None,
    *,
    limit: int = DEFAULT_LIMIT,
    **kwds: Any,
) -> asyncio.AbstractServer:
    """Start a TCP server; ``client_connected_cb(reader, writer)`` runs per connection.

    ``client_connected_cb`` is a plain function or a coroutine function (its
    coroutine runs as a task). Takes the arguments of ``loop.create_server()``
    except the protocol factory (``sock``, ``backlog``, ``ssl``,
    ``reuse_port``, ``start_serving`` ...) and returns its server: use
    ``async with server: await server.serve_forever()``.
    """
    _check_limit(limit)
    loop = asyncio.get_running_loop()
    create = cast(Any, loop).create_server(
        _ServerFactory(client_connected_cb, limit, loop), host, port, **kwds
    )
    if sys.version_info >= (3, 12):
        server = await Await(create)
    else:
        server = await create
    return cast(asyncio.AbstractServer, server)


async def open_unix_connection(
    path: StrPath | None = None, *, limit: int = DEFAULT_LIMIT, **kwds: Any
) -> tuple[StreamReader, StreamWriter]:
    """:func:`open_connection` for a Unix domain socket at ``path``."""
    _check_limit(limit)
    loop = asyncio.get_running_loop()
    reader = _reader.reader_class(limit, loop)
    protocol = _protocol.protocol_class(reader, None, loop)
    connect = cast(Any, loop).create_unix_connection(_Fixed(protocol), path, **kwds)
    if sys.version_info >= (3, 12):
        transport, _ = await Await(connect)
    else:
        transport, _ = await connect
    writer = _writer.writer_class(transport, cast(Any, protocol), reader, loop)
    return cast("StreamReader", reader), cast("StreamWriter", writer)


async def start_unix_server(
    client_connected_cb: ClientConnected,
    path: StrPath | None = None,
    *,
    limit: int = DEFAULT_LIMIT,
    **kwds: Any,
) -> asyncio.AbstractServer:
    """:func:`start_server` on a Unix domain socket at ``path``."""
    _check_limit(limit)
    loop = asyncio.get_running_loop()
    create = cast(Any, loop).create_unix_server(
        _ServerFactory(client_connected_cb, limit, loop), path, **kwds
    )
    if sys.version_info >= (3, 12):
        server = await Await(create)
    else:
        server = await create
    return cast(asyncio.AbstractServer, server)
