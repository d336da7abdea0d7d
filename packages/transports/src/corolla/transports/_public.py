"""The public transport and server classes, defined by the interpreter.

This module is never compiled (see ``exclude`` in pyproject.toml). The work is
done by compiled code: each transport class holds a compiled core
(``StreamCore``, ``DatagramCore``, the pipe cores, ``TLSProtocol``) and
forwards each call to it; ``Server`` is an interpreted subclass of the
compiled ``ServerCore`` (a plain compiled class) and ``AbstractServer``.

They are not compiled because mypyc cannot build a correct class on asyncio's
``Transport`` family (interpreted bases with ``__slots__``): such a native
class gets a ``__dict__`` but, on Python 3.12 and later, no weak-reference slot
(``weakref.ref(transport)`` raised TypeError, and the loop's weak
fd -> transport mapping, its fd guard, could not hold the transports); on 3.11
it gets a slot whose weak references its deallocator never clears (a weak
reference outliving the transport pointed at freed memory; the same holds on
3.12+ for a compiled class on ``AbstractServer``, which has the slot). A class
the interpreter defines, on bases without such a slot, has both, handled by
the interpreter, on every version.
Measured: calling ``transport.write`` from a protocol costs the same as on an
interpreted subclass of a compiled class (about 25 ns more than on the
compiled class itself, against several microseconds per echoed message).

The compiled modules instantiate these classes through the module-level
``*_class`` variables registered at the end of this module, as importing this
module from them would be circular. ``__del__`` (the ResourceWarning for an
unclosed transport or server) is Python code too: the finalizer mypyc
generates for a compiled ``__del__`` does not preserve a pending exception,
which an interpreted subclass exposes (a constructor that raised came out as
``SystemError``).
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any, cast

from corolla.transports import _datagram, _pipes, _server, _stream, _tls
from corolla.transports._datagram import DatagramCore
from corolla.transports._debug import warn_unclosed
from corolla.transports._pipes import ReadPipeCore, WritePipeCore
from corolla.transports._server import ServerCore
from corolla.transports._stream import DETACHED, StreamCore
from corolla.transports._tls import TLSProtocol


class _SocketTransportBase(asyncio.BaseTransport):
    """What the socket transports share; ``self._core`` is a StreamCore or DatagramCore."""

    _core: StreamCore | DatagramCore

    def _attach(self, core: StreamCore | DatagramCore) -> None:
        self._core = core
        # self is the subclass, the Transport or DatagramTransport the core expects.
        core.public = cast(Any, self)
        core.ops.register(core.fd, self)

    def __repr__(self) -> str:
        core = self._core
        state = "closed" if core.sock is None else ("closing" if core.closing else "open")
        return f"<{type(self).__name__} fd={core.fd} {state}>"

    def __del__(self) -> None:
        core = getattr(self, "_core", None)
        if core is not None and core.sock is not None:
            warn_unclosed("transport", self, core.created)
            core.close_socket_now()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """Return ``peername``, ``sockname``, ``socket`` (a TransportSocket) or ``default``."""
        return self._core.extra.get(name, default)

    def is_closing(self) -> bool:
        """True once close() or abort() was called or the connection was lost."""
        return self._core.closing

    def get_protocol(self) -> Any:
        """The protocol that receives events (None once the connection is lost)."""
        protocol = self._core.protocol
        return None if protocol is DETACHED else protocol

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        """Set the high and low water marks that drive pause_writing/resume_writing."""
        self._core.set_write_buffer_limits(high, low)

    def get_write_buffer_limits(self) -> tuple[int, int]:
        """The (low, high) water marks."""
        return (self._core.low_water, self._core.high_water)

    def get_write_buffer_size(self) -> int:
        """Bytes waiting to be sent (for datagrams, plus a small cost per datagram)."""
        return self._core.buffer_size


class SocketTransport(_SocketTransportBase, asyncio.Transport):
    """A stream transport over a connected TCP or Unix socket."""

    _core: StreamCore

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        sock: socket.socket,
        protocol: asyncio.BaseProtocol,
        waiter: asyncio.Future[None] | None = None,
        *,
        extra: dict[str, Any] | None = None,
        server: Any = None,
    ) -> None:
        core = StreamCore(loop, sock, protocol, extra, server)
        super().__init__(core.extra)
        self._attach(core)
        if server is not None:
            server._attach(self)
        core.start(waiter)

    def close(self) -> None:
        """Close after flushing the write buffer; connection_lost(None) follows."""
        self._core.close()

    def abort(self) -> None:
        """Close now, discarding buffered data; connection_lost(None) follows."""
        self._core.abort()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        """Switch the protocol that receives events."""
        core = self._core
        core.protocol = protocol
        core.buffered = isinstance(protocol, asyncio.BufferedProtocol)

    def is_reading(self) -> bool:
        """True unless reading is paused or the transport is closing."""
        return self._core.is_reading()

    def pause_reading(self) -> None:
        """Stop calling the protocol's receive methods until resume_reading()."""
        self._core.pause_reading()

    def resume_reading(self) -> None:
        """Undo pause_reading()."""
        self._core.resume_reading()

    def write(self, data: Any) -> None:
        """Send bytes; what the socket does not take now is buffered without copying."""
        self._core.write(data)

    def writelines(self, list_of_data: Any) -> None:
        """Write each buffer in turn (sent together with one vectored sendmsg when queued)."""
        self._core.writelines(list_of_data)

    def write_eof(self) -> None:
        """Shut down the sending half once the buffer is flushed."""
        self._core.write_eof()

    def can_write_eof(self) -> bool:
        """Always True for socket streams."""
        return True


class DatagramSocketTransport(_SocketTransportBase, asyncio.DatagramTransport, asyncio.Transport):
    """A datagram transport over a UDP or Unix datagram socket.

    Like the stdlib's, it is also an :class:`asyncio.Transport` instance (code
    checks ``isinstance(transport, asyncio.Transport)`` for any transport);
    the stream-only methods (``write``, ``write_eof`` ...) are not supported.
    """

    _core: DatagramCore

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        sock: socket.socket,
        protocol: asyncio.BaseProtocol,
        address: Any = None,
        waiter: asyncio.Future[None] | None = None,
        *,
        connected: bool = False,
    ) -> None:
        core = DatagramCore(loop, sock, protocol, address, connected)
        super().__init__(core.extra)
        self._attach(core)
        core.start(waiter)

    def sendto(self, data: Any, addr: Any = None) -> None:
        """Send one datagram to ``addr`` (or to the connected peer when ``addr`` is None)."""
        self._core.sendto(data, addr)

    def close(self) -> None:
        """Close after sending the queued datagrams."""
        self._core.close()

    def abort(self) -> None:
        """Close now, dropping queued datagrams."""
        self._core.force_close(None)

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        """Switch the protocol that receives events."""
        self._core.protocol = protocol


class _PipeTransportBase(asyncio.BaseTransport):
    """What the pipe transports share: a core made by ``_core_class``, closing and the protocol."""

    _core_class: type[ReadPipeCore] | type[WritePipeCore]
    _core: ReadPipeCore | WritePipeCore

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        pipe: Any,
        protocol: asyncio.BaseProtocol,
        waiter: asyncio.Future[None] | None = None,
    ) -> None:
        core = self._core_class(loop, pipe, protocol, waiter)
        super().__init__({"pipe": pipe})
        # self is the subclass, the ReadTransport or WriteTransport the core expects.
        core.public = cast(Any, self)
        self._core = core
        core.start(waiter)

    def __repr__(self) -> str:
        state = "closing" if self._core.is_closing() else "open"
        return f"<{type(self).__name__} {state}>"

    def __del__(self) -> None:
        core = getattr(self, "_core", None)
        if core is not None and core.close_pipe_now():
            warn_unclosed("transport", self, core.created)

    def is_closing(self) -> bool:
        """True once closing started."""
        return self._core.is_closing()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        """Switch the protocol."""
        self._core.set_protocol(protocol)

    def get_protocol(self) -> Any:
        """The protocol (None once the connection is lost)."""
        return self._core.get_protocol()


class ReadPipeTransport(_PipeTransportBase, asyncio.ReadTransport):
    """Reads a pipe-like file descriptor and feeds a Protocol."""

    _core_class = ReadPipeCore
    _core: ReadPipeCore

    def close(self) -> None:
        """Stop reading and close the pipe; connection_lost(None) follows."""
        self._core.close()

    def is_reading(self) -> bool:
        """True unless paused or closing."""
        return self._core.is_reading()

    def pause_reading(self) -> None:
        """Stop reading until resume_reading()."""
        self._core.pause_reading()

    def resume_reading(self) -> None:
        """Undo pause_reading()."""
        self._core.resume_reading()


class WritePipeTransport(_PipeTransportBase, asyncio.WriteTransport):
    """Writes to a pipe-like file descriptor with buffering and flow control."""

    _core_class = WritePipeCore
    _core: WritePipeCore

    def write(self, data: Any) -> None:
        """Write bytes; what the pipe does not take now is buffered."""
        self._core.write(data)

    def writelines(self, list_of_data: Any) -> None:
        """Write each buffer in turn."""
        self._core.writelines(list_of_data)

    def can_write_eof(self) -> bool:
        """True: write_eof() closes the pipe after the buffered data."""
        return True

    def write_eof(self) -> None:
        """Close the pipe once the buffer is flushed (a pipe's EOF is its closing)."""
        self._core.close()

    def close(self) -> None:
        """Flush the buffer, then close; connection_lost(None) follows."""
        self._core.close()

    def abort(self) -> None:
        """Close now, discarding the buffer."""
        self._core.abort()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        """Water marks for pause_writing/resume_writing."""
        self._core.set_write_buffer_limits(high, low)

    def get_write_buffer_limits(self) -> tuple[int, int]:
        """(low, high)."""
        return self._core.get_write_buffer_limits()

    def get_write_buffer_size(self) -> int:
        """Bytes waiting to be written."""
        return self._core.get_write_buffer_size()


class TLSTransport(asyncio.Transport):
    """The transport a protocol sees on a TLS connection."""

    def __init__(self, layer: TLSProtocol) -> None:
        super().__init__(None)
        self._layer = layer

    def __repr__(self) -> str:
        state = "closing" if self._layer.is_closing() else "open"
        return f"<{type(self).__name__} {state}>"

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """``ssl_object``, ``peercert``, ``cipher``, ``compression``, ``sslcontext``, and
        the underlying socket's ``peername``/``sockname``/``socket``."""
        return self._layer.extra(name, default)

    def is_closing(self) -> bool:
        """True once closing started or the connection is gone."""
        return self._layer.is_closing()

    def close(self) -> None:
        """Send close_notify after the buffered data, then close the connection."""
        self._layer.close()

    def abort(self) -> None:
        """Close now without the TLS shutdown."""
        self._layer.abort()

    def write(self, data: Any) -> None:
        """Encrypt and send (queued until the handshake completes)."""
        self._layer.write(data)

    def writelines(self, list_of_data: Any) -> None:
        """Write each buffer in turn."""
        for data in list_of_data:
            self._layer.write(data)

    def can_write_eof(self) -> bool:
        """False: TLS cannot half-close."""
        return False

    def write_eof(self) -> None:
        """Not possible over TLS."""
        raise RuntimeError("TLS transports cannot write EOF (half-close)")

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        """Switch the app protocol."""
        self._layer._app_protocol = protocol
        self._layer._app_buffered = isinstance(protocol, asyncio.BufferedProtocol)

    def get_protocol(self) -> Any:
        """The app protocol (None once the connection is lost)."""
        protocol = self._layer._app_protocol
        return None if protocol is DETACHED else protocol

    def is_reading(self) -> bool:
        """False while the app paused reading or the connection is closing."""
        return not self._layer._app_reading_paused and not self._layer.is_closing()

    def pause_reading(self) -> None:
        """Stop delivering data to the app protocol."""
        self._layer.pause_reading()

    def resume_reading(self) -> None:
        """Resume delivering data."""
        self._layer.resume_reading()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        """Water marks of the underlying transport (encrypted bytes)."""
        transport = self._layer._transport
        if transport is not None:
            transport.set_write_buffer_limits(high, low)

    def get_write_buffer_limits(self) -> tuple[int, int]:
        """(low, high) of the underlying transport."""
        transport = self._layer._transport
        if transport is None:
            return (0, 0)
        limits: tuple[int, int] = transport.get_write_buffer_limits()
        return limits

    def get_write_buffer_size(self) -> int:
        """Bytes not yet sent (encrypted, plus data queued during the handshake)."""
        return self._layer.write_buffer_size()


class Server(ServerCore, asyncio.AbstractServer):
    """A listening server returned by :func:`create_server` and :func:`create_unix_server`."""

    def __del__(self) -> None:
        self._finalize()


_stream.socket_transport_class = SocketTransport
_datagram.datagram_transport_class = DatagramSocketTransport
_pipes.read_pipe_transport_class = ReadPipeTransport
_pipes.write_pipe_transport_class = WritePipeTransport
_tls.tls_transport_class = TLSTransport
_server.server_class = Server
