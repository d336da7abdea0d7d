"""TLS over ssl.MemoryBIO: a protocol on a stream transport, a transport for the app."""

from __future__ import annotations

import asyncio
import ssl
from typing import Any, Final

from mypy_extensions import mypyc_attr

from corolla.transports._await import future_wait
from corolla.transports._stream import DETACHED

# 64 KiB: see _stream._MAX_READ (no mmap per read).
_READ_SIZE: Final = 64 * 1024
_HANDSHAKE_TIMEOUT: Final = 60.0
_SHUTDOWN_TIMEOUT: Final = 30.0

# States of the TLS layer.
_HANDSHAKE: Final = 1
_WRAPPED: Final = 2
_SHUTDOWN: Final = 3
_CLOSED: Final = 4


def default_client_context() -> ssl.SSLContext:
    """What ``ssl=True`` means for a client: the platform's default verified context."""
    return ssl.create_default_context()


def check_timeout(name: str, value: float | None) -> None:
    if value is not None and value <= 0:
        raise ValueError(f"{name} should be a positive number, got {value}")


@mypyc_attr(allow_interpreted_subclasses=True)
class TLSProtocol:
    """Runs TLS over the stream transport it is attached to and feeds an app protocol.

    It has the methods of an :class:`asyncio.Protocol` but not the class as a base:
    compiled, a class on that interpreted base gets a weak-reference slot its
    deallocator never clears on Python 3.11, so a weak reference outliving the layer
    crashed the interpreter. A plain compiled class refuses weak references instead.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        app_protocol: asyncio.BaseProtocol,
        context: ssl.SSLContext,
        waiter: asyncio.Future[None] | None,
        *,
        server_side: bool = False,
        server_hostname: str | None = None,
        call_connection_made: bool = True,
        handshake_timeout: float | None = None,
        shutdown_timeout: float | None = None,
    ) -> None:
        self._loop = loop
        self._app_protocol = app_protocol
        self._app_buffered = isinstance(app_protocol, asyncio.BufferedProtocol)
        self._context = context
        self._waiter = waiter
        self._server_side = server_side
        # An empty name means "no SNI, no hostname check" (as in the stdlib).
        self._server_hostname: str | None = (
            server_hostname if server_hostname and not server_side else None
        )
        self._call_connection_made = call_connection_made
        self._handshake_timeout = (
            _HANDSHAKE_TIMEOUT if handshake_timeout is None else handshake_timeout
        )
        self._shutdown_timeout = _SHUTDOWN_TIMEOUT if shutdown_timeout is None else shutdown_timeout
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._sslobj: ssl.SSLObject | None = None
        self._transport: Any = None
        self._state = _HANDSHAKE
        self._timer: asyncio.TimerHandle | None = None
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._app_connected = False
        self._app_lost = False
        self._app_reading_paused = False
        self._peer_eof = False
        self._app_transport: asyncio.Transport | None = tls_transport_class(self)
        self._extra: dict[str, Any] = {}

    # -- the underlying transport's events --------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport
        self._sslobj = self._context.wrap_bio(
            self._incoming,
            self._outgoing,
            server_side=self._server_side,
            server_hostname=self._server_hostname,
        )
        self._timer = self._loop.call_later(self._handshake_timeout, self._handshake_timed_out)
        self._do_handshake()

    def data_received(self, data: bytes) -> None:
        self._incoming.write(data)
        state = self._state
        if state == _HANDSHAKE:
            self._do_handshake()
        elif state == _WRAPPED:
            self._do_read()
        elif state == _SHUTDOWN:
            self._do_shutdown()

    def eof_received(self) -> bool:
        state = self._state
        if state == _HANDSHAKE:
            self._handshake_done(ConnectionResetError("Connection lost during the TLS handshake"))
        elif state == _WRAPPED:
            # The peer closed TCP without close_notify (a "ragged" EOF):
            # deliver what was decrypted, then EOF, then close.
            self._peer_eof = True
            self._do_read()
            if self._state == _WRAPPED:
                self._app_eof()
        elif state == _SHUTDOWN:
            self._close_transport()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timer()
        previous = self._state
        self._state = _CLOSED
        if previous == _HANDSHAKE:
            self._fail_waiter(exc or ConnectionResetError("Connection lost during TLS handshake"))
        try:
            if self._app_connected and not self._app_lost:
                self._app_lost = True
                self._app_protocol.connection_lost(exc)
        finally:
            # Break the cycles (app protocol -> app transport -> this layer ->
            # app protocol): a closed connection is freed by refcounting alone.
            self._transport = None
            self._app_transport = None
            self._app_protocol = DETACHED

    def pause_writing(self) -> None:
        if self._app_connected:
            self._app_protocol.pause_writing()

    def resume_writing(self) -> None:
        if self._app_connected:
            self._app_protocol.resume_writing()

    # -- handshake ---------------------------------------------------------

    def _handshake_timed_out(self) -> None:
        self._timer = None
        if self._state != _HANDSHAKE:
            return
        self._handshake_done(
            ConnectionAbortedError(
                f"SSL handshake is taking longer than {self._handshake_timeout} seconds: "
                "aborting the connection"
            )
        )

    def _do_handshake(self) -> None:
        sslobj = self._sslobj
        if sslobj is None:
            return
        try:
            sslobj.do_handshake()
        except ssl.SSLWantReadError:
            self._flush()
            return
        except Exception as exc:
            self._flush()
            self._handshake_done(exc)
            return
        self._flush()
        self._handshake_done(None)

    def _handshake_done(self, exc: BaseException | None) -> None:
        self._cancel_timer()
        sslobj = self._sslobj
        if exc is not None or sslobj is None:
            self._state = _CLOSED
            error = exc if exc is not None else ConnectionResetError("TLS handshake failed")
            self._fail_waiter(error)
            if self._transport is not None:
                self._transport.abort()
            return
        self._state = _WRAPPED
        self._extra = {
            "peercert": sslobj.getpeercert(),
            "cipher": sslobj.cipher(),
            "compression": sslobj.compression(),
            "ssl_object": sslobj,
        }
        if self._call_connection_made and self._app_transport is not None:
            self._app_protocol.connection_made(self._app_transport)
        self._app_connected = True
        waiter = self._waiter
        self._waiter = None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        if self._pending:
            pending = self._pending
            self._pending = []
            self._pending_size = 0
            for data in pending:
                self.write(data)
        if self._call_connection_made:
            self._do_read()
        else:
            # start_tls: let the caller receive the new transport (its wake-up
            # is already scheduled) before the protocol sees decrypted data.
            self._loop.call_soon(self._do_read)

    def _fail_waiter(self, exc: BaseException) -> None:
        waiter = self._waiter
        self._waiter = None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    # -- application data --------------------------------------------------

    def _do_read(self) -> None:
        sslobj = self._sslobj
        if sslobj is None or self._app_reading_paused:
            return
        protocol = self._app_protocol
        eof = False
        try:
            while self._state == _WRAPPED and not self._app_reading_paused:
                if self._app_buffered:
                    buf = protocol.get_buffer(-1)  # type: ignore[attr-defined]
                    # With a buffer, read() returns a count (typeshed says bytes).
                    read_into: Any = sslobj.read
                    n: int = read_into(len(buf), buf)
                    if not n:
                        eof = True
                        break
                    protocol.buffer_updated(n)  # type: ignore[attr-defined]
                else:
                    chunk = sslobj.read(_READ_SIZE)
                    if not chunk:
                        eof = True
                        break
                    protocol.data_received(chunk)  # type: ignore[attr-defined]
                if not self._incoming.pending and not sslobj.pending():
                    # Nothing left to decrypt: another read would only raise
                    # SSLWantReadError (an exception per received message).
                    break
        except ssl.SSLWantReadError:
            pass
        except ssl.SSLZeroReturnError:
            eof = True
        except ssl.SSLError as exc:
            self._flush()
            self._fatal(exc)
            return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal(exc, "Fatal error: the app protocol failed while receiving TLS data")
            return
        self._flush()
        if eof and self._state == _WRAPPED:
            self._app_eof()

    def _app_eof(self) -> None:
        try:
            self._app_protocol.eof_received()  # type: ignore[attr-defined]
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal(exc, "Fatal error: protocol.eof_received() failed")
            return
        # TLS has no half-close: the connection ends.
        self.close()

    def _flush(self) -> None:
        if not self._outgoing.pending:
            return
        data = self._outgoing.read()
        if self._transport is not None:
            self._transport.write(data)

    def _fatal(self, exc: BaseException, message: str | None = None) -> None:
        if message is not None or not isinstance(exc, (ssl.SSLError, OSError)):
            # Through Any: compiled, a call typed -> None checks for None, and a
            # replaced handler (a Mock) may return anything.
            loop_any: Any = self._loop
            loop_any.call_exception_handler(
                {
                    "message": message or "Fatal error on TLS transport",
                    "exception": exc,
                    "transport": self._transport,
                    "protocol": self,
                }
            )
        self._state = _CLOSED
        transport = self._transport
        if transport is None:
            return
        core = getattr(transport, "_core", None)
        if core is not None:
            core.force_close(exc)  # connection_lost gets the error
        else:
            transport.abort()

    def write(self, data: Any) -> None:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(
                f"data argument must be a bytes-like object, not {type(data).__name__!r}"
            )
        if not data:
            return
        state = self._state
        if state == _HANDSHAKE:
            payload = bytes(data)
            self._pending.append(payload)
            self._pending_size += len(payload)
            return
        if state != _WRAPPED or self._sslobj is None:
            return
        try:
            self._sslobj.write(data)
        except ssl.SSLError as exc:
            self._fatal(exc)
            return
        self._flush()

    # -- closing -------------------------------------------------------------

    def close(self) -> None:
        state = self._state
        if state == _HANDSHAKE:
            self._state = _CLOSED
            self._cancel_timer()
            self._fail_waiter(ConnectionAbortedError("closed during the TLS handshake"))
            self._close_transport()
        elif state == _WRAPPED:
            self._state = _SHUTDOWN
            self._timer = self._loop.call_later(self._shutdown_timeout, self._shutdown_timed_out)
            self._do_shutdown()

    def _do_shutdown(self) -> None:
        sslobj = self._sslobj
        if sslobj is None or self._peer_eof:
            # After the peer's TCP EOF no close_notify is sent (as in the
            # stdlib): the peer may read the raw socket once it shut down.
            self._flush()
            self._close_transport()
            return
        try:
            sslobj.unwrap()
        except ssl.SSLWantReadError:
            # close_notify sent; wait for the peer's, unless its TCP side is
            # already closed and none can come.
            self._flush()
            if not self._peer_eof:
                return
        except (ssl.SSLError, OSError):
            pass
        self._flush()
        self._close_transport()

    def _shutdown_timed_out(self) -> None:
        self._timer = None
        self.abort()

    def _close_transport(self) -> None:
        self._cancel_timer()
        self._state = _CLOSED
        if self._transport is not None:
            self._transport.close()

    def abort(self) -> None:
        self._cancel_timer()
        if self._state == _HANDSHAKE:
            self._fail_waiter(ConnectionAbortedError("aborted during the TLS handshake"))
        self._state = _CLOSED
        if self._transport is not None:
            self._transport.abort()

    def pause_reading(self) -> None:
        self._app_reading_paused = True
        if self._transport is not None:
            self._transport.pause_reading()

    def resume_reading(self) -> None:
        if not self._app_reading_paused:
            return
        self._app_reading_paused = False
        if self._transport is not None:
            self._transport.resume_reading()
        self._loop.call_soon(self._do_read)

    def is_closing(self) -> bool:
        return self._state in (_SHUTDOWN, _CLOSED) or (
            self._transport is None and self._state != _HANDSHAKE
        )

    def extra(self, name: str, default: Any) -> Any:
        if name in self._extra:
            return self._extra[name]
        if name == "sslcontext":
            return self._context
        if self._transport is not None:
            return self._transport.get_extra_info(name, default)
        return default

    def write_buffer_size(self) -> int:
        size = self._pending_size
        if self._transport is not None:
            size += int(self._transport.get_write_buffer_size())
        return size


# What TLSProtocol instantiates: the public TLSTransport, an interpreted class
# (see corolla.transports._public, which registers it here when the package is
# imported).
tls_transport_class: Any = None


async def start_tls(
    loop: asyncio.AbstractEventLoop,
    transport: asyncio.BaseTransport,
    protocol: asyncio.BaseProtocol,
    sslcontext: ssl.SSLContext,
    *,
    server_side: object = False,
    server_hostname: str | None = None,
    ssl_handshake_timeout: float | None = None,
    ssl_shutdown_timeout: float | None = None,
) -> asyncio.Transport:
    """Upgrade an open stream connection to TLS; returns the new transport for ``protocol``.

    Same arguments as :meth:`asyncio.loop.start_tls`, with the loop first.
    ``protocol.connection_made`` is not called again: the protocol uses the
    returned transport from then on.
    """
    if not isinstance(sslcontext, ssl.SSLContext):
        raise TypeError(
            f"sslcontext is expected to be an instance of ssl.SSLContext, got {sslcontext!r}"
        )
    for method in ("set_protocol", "pause_reading", "resume_reading", "write"):
        if not callable(getattr(transport, method, None)):
            raise TypeError(f"transport {transport!r} is not supported by start_tls()")
    if transport.is_closing():
        raise ConnectionResetError("the transport is closing")
    check_timeout("ssl_handshake_timeout", ssl_handshake_timeout)
    check_timeout("ssl_shutdown_timeout", ssl_shutdown_timeout)
    if not server_side and sslcontext.check_hostname and not server_hostname:
        raise ValueError("check_hostname requires server_hostname")
    waiter: asyncio.Future[None] = loop.create_future()
    layer = TLSProtocol(
        loop,
        protocol,
        sslcontext,
        waiter,
        server_side=bool(server_side),
        server_hostname=server_hostname,
        call_connection_made=False,
        handshake_timeout=ssl_handshake_timeout,
        shutdown_timeout=ssl_shutdown_timeout,
    )
    app_transport = layer._app_transport
    assert app_transport is not None
    stream: Any = transport
    stream.pause_reading()
    stream.set_protocol(layer)
    made = loop.call_soon(layer.connection_made, transport)
    resumed = loop.call_soon(stream.resume_reading)
    try:
        await future_wait(waiter)
    except BaseException:
        made.cancel()
        resumed.cancel()
        transport.close()
        raise
    return app_transport
