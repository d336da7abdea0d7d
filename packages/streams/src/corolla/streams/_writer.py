"""StreamWriter: a transport plus flow control (``drain``), close waiting and TLS upgrade."""

from __future__ import annotations

import asyncio
import ssl
import sys
import warnings
from typing import Any

from mypy_extensions import mypyc_attr

from corolla.streams import _reader
from corolla.streams._flow import FlowControlProtocol
from corolla.streams._reader import StreamReaderCore
from corolla.streams._util import Await, WaitFuture, YieldOnce

_BASE_DRAIN = FlowControlProtocol._drain_helper


def _fast_flow(protocol: object) -> FlowControlProtocol | None:
    """``protocol`` when its drain waiting is FlowControlProtocol's own (checked inline)."""
    if isinstance(protocol, FlowControlProtocol) and type(protocol)._drain_helper is _BASE_DRAIN:
        return protocol
    return None


@mypyc_attr(allow_interpreted_subclasses=True)
class StreamWriterCore:
    """The compiled part of :class:`corolla.streams.StreamWriter` (see ``_public.py``).

    A plain native class: the public class, an interpreted subclass, adds the
    ``__dict__``, weak references and ``__del__``.
    """

    _transport: Any
    _protocol: Any
    _reader: Any
    _loop: asyncio.AbstractEventLoop
    _flow: FlowControlProtocol | None
    _stream_reader: StreamReaderCore | None

    def __init__(
        self,
        transport: asyncio.BaseTransport,
        protocol: asyncio.BaseProtocol,
        reader: Any,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self._transport = transport
        self._protocol = protocol
        self._reader = reader
        self._loop = loop
        self._flow = _fast_flow(protocol)
        # The reader's exception is read directly unless a subclass may override exception().
        self._stream_reader = reader if type(reader) is _reader.reader_class else None

    def __repr__(self) -> str:
        info = [type(self).__name__, f"transport={self._transport!r}"]
        if self._reader is not None:
            info.append(f"reader={self._reader!r}")
        return "<{}>".format(" ".join(info))

    @property
    def transport(self) -> Any:
        """The underlying transport (after :meth:`start_tls`, the TLS one)."""
        return self._transport

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Write ``data`` to the transport (buffered, never blocks)."""
        self._transport.write(data)

    def writelines(self, data: Any) -> None:
        """Write every bytes-like object of the iterable ``data``."""
        self._transport.writelines(data)

    def write_eof(self) -> None:
        """Close the write side once buffered data is flushed (if the transport can)."""
        self._transport.write_eof()

    def can_write_eof(self) -> bool:
        """Whether the transport supports :meth:`write_eof`."""
        result: bool = self._transport.can_write_eof()
        return result

    def close(self) -> None:
        """Close the transport; buffered data is still flushed. See :meth:`wait_closed`."""
        self._transport.close()

    def is_closing(self) -> bool:
        """True once the transport is closed or closing."""
        result: bool = self._transport.is_closing()
        return result

    async def wait_closed(self) -> None:
        """Wait until the connection is closed (raises the connection's error, if any)."""
        waiter = self._protocol._get_close_waiter(self)
        if sys.version_info >= (3, 12):
            if hasattr(type(waiter), "_asyncio_future_blocking"):
                await WaitFuture(waiter)
            else:
                await Await(waiter)
        else:
            await waiter

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """The transport's extra information ``name`` (``"peername"``, ``"socket"``, ...)."""
        return self._transport.get_extra_info(name, default)

    async def drain(self) -> None:
        """Wait until it is appropriate to write more (the transport's buffer drained).

        Returns at once while the transport is not paused. Raises the reader's
        exception if the connection failed, and the connection's error (or
        :class:`ConnectionResetError`) once the connection is lost.
        """
        stream_reader = self._stream_reader
        if stream_reader is not None:
            exc = stream_reader._exception
        else:
            reader = self._reader
            exc = None if reader is None else reader.exception()
        if exc is not None:
            raise exc
        if self._transport.is_closing():
            # Let connection_lost() run so a closed connection is noticed by
            # code that writes and drains in a loop.
            await YieldOnce()
        flow = self._flow
        if flow is not None:
            # FlowControlProtocol._drain_helper's quick answers, without a coroutine.
            if flow._connection_lost:
                raise ConnectionResetError("Connection lost")
            if not flow._paused:
                return
        helper = self._protocol._drain_helper()
        if sys.version_info >= (3, 12):
            await Await(helper)
        else:
            await helper

    async def start_tls(
        self,
        sslcontext: ssl.SSLContext,
        *,
        server_hostname: str | None = None,
        ssl_handshake_timeout: float | None = None,
        ssl_shutdown_timeout: float | None = None,
    ) -> None:
        """Upgrade the connection to TLS in place (client side, or server side for
        connections accepted by :func:`start_server`)."""
        protocol = self._protocol
        server_side = getattr(protocol, "_client_connected_cb", None) is not None
        await self.drain()
        options: dict[str, Any] = {}
        if ssl_shutdown_timeout is not None:
            options["ssl_shutdown_timeout"] = ssl_shutdown_timeout
        upgrade = self._loop.start_tls(
            self._transport,
            protocol,
            sslcontext,
            server_side=server_side,
            server_hostname=server_hostname,
            ssl_handshake_timeout=ssl_handshake_timeout,
            **options,
        )
        if sys.version_info >= (3, 12):
            new_transport = await Await(upgrade)
        else:
            new_transport = await upgrade
        self._transport = new_transport
        replace = getattr(protocol, "_replace_transport", None)
        if replace is not None:
            replace(new_transport)

    def _finalize(self) -> None:
        """An unclosed writer being collected: close it, warn (the public ``__del__``)."""
        try:
            transport = self._transport
            loop = self._loop
        except AttributeError:  # __init__ did not finish
            return
        if transport is None or transport.is_closing():
            return
        if loop.is_closed():
            warnings.warn("loop is closed", ResourceWarning, stacklevel=1)
        else:
            self.close()
            warnings.warn(f"unclosed {self!r}", ResourceWarning, stacklevel=1)


# The class compiled code instantiates: the public StreamWriter, registered by _public.py.
writer_class: type[StreamWriterCore] = StreamWriterCore
