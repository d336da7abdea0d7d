"""StreamReaderProtocol: feeds a StreamReader from a transport, makes writers for servers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, Protocol, cast

from mypy_extensions import mypyc_attr

from corolla.streams import _writer

if TYPE_CHECKING:
    from corolla.streams._public import StreamWriter


class ReaderLike(Protocol):
    """What the protocol needs from its reader (a :class:`StreamReader` or a look-alike)."""

    def set_transport(self, transport: Any) -> None: ...

    def feed_data(self, data: Any) -> None: ...

    def feed_eof(self) -> None: ...

    def set_exception(self, exc: BaseException) -> None: ...


ClientConnected = Callable[[Any, "StreamWriter"], Awaitable[None] | None]


@mypyc_attr(allow_interpreted_subclasses=True)
class StreamReaderProtocolCore:
    """The compiled part of :class:`corolla.streams.StreamReaderProtocol` (see ``_public.py``).

    A plain native class (no asyncio base: see ``_public.py``). The public
    class adds :class:`FlowControlProtocol` and :class:`asyncio.Protocol` as
    bases, whose ``__init__`` sets ``_loop`` (an attribute of this class) and
    the flow control state, and its own ``connection_lost``.
    """

    _loop: asyncio.AbstractEventLoop
    _stream_reader: ReaderLike | None
    _source_traceback: Any
    _client_connected_cb: ClientConnected | None
    _task: Any
    _transport: Any
    _over_ssl: bool

    def __init__(
        self,
        stream_reader: ReaderLike | None,
        client_connected_cb: ClientConnected | None,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self._loop = loop
        self._stream_reader = stream_reader
        self._source_traceback = getattr(stream_reader, "_source_traceback", None)
        self._client_connected_cb = client_connected_cb
        self._task = None
        self._transport = None
        self._over_ssl = False

    def _replace_transport(self, transport: Any) -> None:
        self._transport = transport
        self._over_ssl = transport.get_extra_info("sslcontext") is not None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Attach the transport to the reader; for a server, call ``client_connected_cb``."""
        self._transport = transport
        reader = self._stream_reader
        if reader is not None:
            reader.set_transport(transport)
        self._over_ssl = transport.get_extra_info("sslcontext") is not None
        callback = self._client_connected_cb
        if callback is None:
            return
        writer = _writer.writer_class(transport, cast(Any, self), reader, self._loop)
        result = callback(reader, cast("StreamWriter", writer))
        if isinstance(result, Coroutine):
            task = self._loop.create_task(result)
            self._task = task
            task.add_done_callback(_ClientDone(self._loop, transport))

    def _reader_lost(self, exc: BaseException | None) -> None:
        """The reader's part of ``connection_lost()``: EOF, or ``exc``."""
        reader = self._stream_reader
        if reader is not None:
            if exc is None:
                reader.feed_eof()
            else:
                reader.set_exception(exc)

    def _forget(self) -> None:
        """The end of ``connection_lost()``: drop the reader, task and transport."""
        self._stream_reader = None
        self._task = None
        self._transport = None

    def data_received(self, data: Any) -> None:
        """Feed ``data`` (any bytes-like object, as asyncio takes) to the reader."""
        # Any, not bytes: compiled, ``bytes`` refuses a bytearray or memoryview;
        # and subclasses may still declare ``data: bytes`` as asyncio's do.
        reader = self._stream_reader
        if reader is not None:
            reader.feed_data(data)

    def eof_received(self) -> bool:
        """EOF to the reader; keep the write side open (except over TLS, which cannot)."""
        reader = self._stream_reader
        if reader is not None:
            reader.feed_eof()
        return not self._over_ssl


class _ClientDone:
    """Done callback of a ``client_connected_cb`` task: report errors, close."""

    def __init__(self, loop: asyncio.AbstractEventLoop, transport: asyncio.BaseTransport) -> None:
        self._loop = loop
        self._transport = transport

    def __call__(self, task: asyncio.Future[Any]) -> None:
        if task.cancelled():
            self._transport.close()
            return
        exc = task.exception()
        if exc is not None:
            # Through Any: compiled, a call typed -> None checks for None, and a
            # replaced handler (a Mock) may return anything.
            loop_any: Any = self._loop
            loop_any.call_exception_handler(
                {
                    "message": "Unhandled exception in client_connected_cb",
                    "exception": exc,
                    "transport": self._transport,
                }
            )
            self._transport.close()


# The class compiled code instantiates: the public StreamReaderProtocol, registered by _public.py.
protocol_class: type[StreamReaderProtocolCore] = StreamReaderProtocolCore
