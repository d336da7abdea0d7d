"""Socket stream transport (TCP and Unix), coded against AbstractEventLoop only."""

from __future__ import annotations

import asyncio
import collections
import os
import socket
from typing import Any, Final

from corolla.transports._debug import creation_stack
from corolla.transports._fdguard import FdOps
from corolla.transports._tsocket import TransportSocket

# Reads ask for at most 64 KiB. recv(n) allocates n bytes before it knows
# how many arrive; at 256 KiB (the stdlib's size) that is above glibc's mmap
# threshold, so a read can cost an mmap/munmap pair (tens of microseconds
# under gVisor, several under Linux) even for a 1 KiB message. 64 KiB stays on
# the heap; bulk transfers lose nothing measurable (a few thousand more reads
# per 256 MB).
_MAX_READ: Final = 64 * 1024
_DEFAULT_HIGH: Final = 64 * 1024
_MAX_IOV: Final = 512
_WARN_AFTER_LOST: Final = 5

# Errors that mean "the peer went away": not worth the exception handler.
# The socket is read and written with os.read/os.readv/os.write/os.writev on
# its descriptor: the same system calls' effect on a connected stream socket as
# recv/recv_into/send/sendmsg without flags, but the os functions take their
# arguments through the fast calling convention, while the socket methods
# parse an argument tuple (about 10% of the instructions of a 1 KiB echo
# request). Errors are the same OSError subclasses.
_CONNECTION_ERRORS: Final = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)

# The os functions, bound once: compiled, ``os.read(...)`` is an attribute
# lookup on the module object on every call (about 270 instructions, ~8% of a
# 1 KiB echo request for the read and write together); a Final module-level
# name is a C static.
_os_read: Final = os.read
_os_readv: Final = os.readv
_os_write: Final = os.write
_os_writev: Final = os.writev

# Stands in for a protocol once its connection is gone, so that the protocol
# <-> transport reference cycle is broken without a None check on every
# hot-path call (the stdlib sets its references to None instead): a closed
# connection is then freed by reference counting alone.
DETACHED: Final = asyncio.Protocol()


def set_nodelay(sock: socket.socket) -> None:
    """Turn Nagle's algorithm off on a TCP socket (no-op for other sockets)."""
    if (
        sock.family in (socket.AF_INET, socket.AF_INET6)
        and sock.type == socket.SOCK_STREAM
        and sock.proto in (0, socket.IPPROTO_TCP)
    ):
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass


def _nbytes(data: object) -> int:
    if isinstance(data, (bytes, bytearray)):
        return len(data)
    if isinstance(data, memoryview):
        return data.nbytes
    raise TypeError(f"data argument must be a bytes-like object, not {type(data).__name__!r}")


class StreamCore:
    """The state machine behind a socket stream transport (compiled class)."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        sock: socket.socket,
        protocol: asyncio.BaseProtocol,
        extra: dict[str, Any] | None,
        server: Any,
    ) -> None:
        self.loop = loop
        self.ops = FdOps(loop)
        self.created = creation_stack(loop)
        self.sock: socket.socket | None = sock
        self.fd = sock.fileno()
        self.protocol = protocol
        self.buffered = isinstance(protocol, asyncio.BufferedProtocol)
        self.public: asyncio.Transport | None = None
        self.server = server
        self.extra: dict[str, Any] = {} if extra is None else extra
        self.closing = False
        self.conn_lost = 0
        self.paused = False
        self.reader_added = False
        self.writer_added = False
        self.eof_requested = False
        self.eof_sent = False
        self.buffer: collections.deque[memoryview] = collections.deque()
        self.buffer_size = 0
        self.high_water = _DEFAULT_HIGH
        self.low_water = _DEFAULT_HIGH // 4
        self.protocol_paused = False
        self.lost_called = False
        self.sendfile_active = False
        # True once buffered data was thrown away (abort, fatal error): a
        # wait_empty() then fails instead of reporting the data as sent.
        self.discarded = False
        self.empty_waiters: list[asyncio.Future[None]] = []
        self.extra["socket"] = TransportSocket(sock)
        try:
            self.extra["sockname"] = sock.getsockname()
        except OSError:
            self.extra["sockname"] = None
        if "peername" not in self.extra:
            try:
                self.extra["peername"] = sock.getpeername()
            except OSError:
                self.extra["peername"] = None
        set_nodelay(sock)

    # -- start -----------------------------------------------------------

    def start(self, waiter: asyncio.Future[None] | None) -> None:
        self.loop.call_soon(self._start, waiter)

    def _start(self, waiter: asyncio.Future[None] | None) -> None:
        try:
            self.protocol.connection_made(self.public)  # type: ignore[arg-type]
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self.fatal_error(exc, "Fatal error: protocol.connection_made() call failed.")
            if waiter is not None and not waiter.done():
                waiter.set_exception(exc)
            return
        if not self.closing and not self.paused:
            self._add_reader()
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _add_reader(self) -> None:
        if not self.reader_added:
            self.reader_added = True
            self.ops.add_reader(self.fd, self.read_ready)

    def _remove_reader(self) -> None:
        if self.reader_added:
            self.reader_added = False
            self.ops.remove_reader(self.fd)

    # -- reading ---------------------------------------------------------

    def read_ready(self) -> None:
        sock = self.sock
        if sock is None or self.closing:
            return
        if self.buffered:
            self._read_buffered(sock)
        else:
            self._read_data(sock)

    def _read_data(self, sock: socket.socket) -> None:
        try:
            data = _os_read(self.fd, _MAX_READ)
        except (BlockingIOError, InterruptedError):
            return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self.fatal_error(exc, "Fatal read error on socket transport")
            return
        if not data:
            self._eof()
            return
        try:
            self.protocol.data_received(data)  # type: ignore[attr-defined]
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self.fatal_error(exc, "Fatal error: protocol.data_received() call failed.")

    def _read_buffered(self, sock: socket.socket) -> None:
        protocol = self.protocol
        try:
            buf = protocol.get_buffer(-1)  # type: ignore[attr-defined]
            if not len(buf):
                raise RuntimeError("get_buffer() returned an empty buffer")
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self.fatal_error(exc, "Fatal error: protocol.get_buffer() call failed.")
            return
        try:
            n = _os_readv(self.fd, (buf,))
        except (BlockingIOError, InterruptedError):
            return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self.fatal_error(exc, "Fatal read error on socket transport")
            return
        if not n:
            self._eof()
            return
        try:
            protocol.buffer_updated(n)  # type: ignore[attr-defined]
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self.fatal_error(exc, "Fatal error: protocol.buffer_updated() call failed.")

    def _eof(self) -> None:
        self._remove_reader()
        try:
            keep_open = self.protocol.eof_received()  # type: ignore[attr-defined]
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self.fatal_error(exc, "Fatal error: protocol.eof_received() call failed.")
            return
        if not keep_open:
            self.close()

    def pause_reading(self) -> None:
        if self.closing or self.paused:
            return
        self.paused = True
        self._remove_reader()

    def resume_reading(self) -> None:
        if self.closing or not self.paused:
            return
        self.paused = False
        if self.public is not None and self.sock is not None:
            self._add_reader()

    def is_reading(self) -> bool:
        return not self.paused and not self.closing

    # -- writing ---------------------------------------------------------

    def write(self, data: Any) -> None:
        size = _nbytes(data)
        if self.sendfile_active:
            raise RuntimeError("unable to write; sendfile is in progress")
        if self.eof_requested:
            raise RuntimeError("Cannot call write() after write_eof()")
        if not size:
            return
        sock = self.sock
        if self.conn_lost or sock is None:
            self.conn_lost += 1
            if self.conn_lost >= _WARN_AFTER_LOST:
                # Through Any: compiled, a call typed -> None checks for None, and a
                # replaced handler (a Mock) may return anything.
                loop_any: Any = self.loop
                loop_any.call_exception_handler(
                    {"message": "socket.send() raised exception.", "transport": self.public}
                )
            return
        if not self.buffer_size:  # empty buffer (it never holds empty views)
            try:
                sent = _os_write(self.fd, data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                self.fatal_error(exc, "Fatal write error on socket transport")
                return
            if sent == size:
                return
            view = memoryview(data).cast("B")[sent:]
            self._append(view)
            self.writer_added = True
            self.ops.add_writer(self.fd, self.write_ready)
        else:
            self._append(memoryview(data).cast("B"))
        self._maybe_pause_protocol()

    def _append(self, view: memoryview) -> None:
        if not view.readonly:
            # The caller may reuse a mutable buffer: keep a private copy.
            view = memoryview(view.tobytes())
        self.buffer.append(view)
        self.buffer_size += view.nbytes

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.write(chunk)

    def write_ready(self) -> None:
        sock = self.sock
        if sock is None:
            return
        buffer = self.buffer
        try:
            if len(buffer) == 1:
                sent = _os_write(self.fd, buffer[0])
            else:
                if len(buffer) <= _MAX_IOV:
                    views = list(buffer)
                else:
                    views = [buffer[i] for i in range(_MAX_IOV)]
                sent = _os_writev(self.fd, views)
        except (BlockingIOError, InterruptedError):
            return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self.writer_added = False
            self.ops.remove_writer(self.fd)
            self.buffer.clear()
            self.buffer_size = 0
            self.discarded = True
            self.fatal_error(exc, "Fatal write error on socket transport")
            return
        self.buffer_size -= sent
        while sent:
            head = buffer[0]
            n = head.nbytes
            if sent >= n:
                buffer.popleft()
                sent -= n
            else:
                buffer[0] = head[sent:]
                sent = 0
        self._maybe_resume_protocol()
        if not buffer:
            self.writer_added = False
            self.ops.remove_writer(self.fd)
            if self.empty_waiters:
                self._wake_empty_waiters(None)
            if self.closing:
                self._schedule_lost(None)
            elif self.eof_requested:
                self._shutdown_write(sock)

    def _shutdown_write(self, sock: socket.socket) -> None:
        if self.eof_sent:
            return
        self.eof_sent = True
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        if self.closing or self.eof_requested:
            return
        self.eof_requested = True
        if not self.buffer and self.sock is not None:
            self._shutdown_write(self.sock)

    # -- flow control ----------------------------------------------------

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        if high is None:
            high = _DEFAULT_HIGH if low is None else 4 * low
        if low is None:
            low = high // 4
        if not high >= low >= 0:
            raise ValueError(f"high ({high!r}) must be >= low ({low!r}) must be >= 0")
        self.high_water = high
        self.low_water = low
        self._maybe_pause_protocol()

    def _maybe_pause_protocol(self) -> None:
        if self.buffer_size <= self.high_water or self.protocol_paused:
            return
        self.protocol_paused = True
        try:
            self.protocol.pause_writing()
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            loop_any: Any = self.loop
            loop_any.call_exception_handler(
                {
                    "message": "protocol.pause_writing() failed",
                    "exception": exc,
                    "transport": self.public,
                    "protocol": self.protocol,
                }
            )

    def _maybe_resume_protocol(self) -> None:
        if self.protocol_paused and self.buffer_size <= self.low_water:
            self.protocol_paused = False
            try:
                self.protocol.resume_writing()
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                loop_any: Any = self.loop
                loop_any.call_exception_handler(
                    {
                        "message": "protocol.resume_writing() failed",
                        "exception": exc,
                        "transport": self.public,
                        "protocol": self.protocol,
                    }
                )

    # -- closing ---------------------------------------------------------

    def close(self) -> None:
        if self.closing:
            return
        self.closing = True
        self._remove_reader()
        if not self.buffer:
            self._schedule_lost(None)

    def abort(self) -> None:
        self.force_close(None)

    def fatal_error(self, exc: BaseException, message: str) -> None:
        if not isinstance(exc, _CONNECTION_ERRORS):
            loop_any: Any = self.loop
            loop_any.call_exception_handler(
                {
                    "message": message,
                    "exception": exc,
                    "transport": self.public,
                    "protocol": self.protocol,
                }
            )
        self.force_close(exc)

    def wait_empty(self) -> asyncio.Future[None]:
        """A future resolved once everything written was handed to the kernel.

        It fails with ConnectionError if buffered data is discarded instead
        (abort, fatal error); a connection closed after a full flush is fine.
        """
        waiter: asyncio.Future[None] = self.loop.create_future()
        if self.discarded:
            waiter.set_exception(ConnectionError("Connection is closed"))
        elif not self.buffer:
            waiter.set_result(None)
        elif self.sock is None or self.conn_lost:
            waiter.set_exception(ConnectionError("Connection is closed"))
        else:
            self.empty_waiters.append(waiter)
        return waiter

    def _wake_empty_waiters(self, exc: BaseException | None) -> None:
        waiters = self.empty_waiters
        self.empty_waiters = []
        for waiter in waiters:
            if not waiter.done():
                if exc is None:
                    waiter.set_result(None)
                else:
                    waiter.set_exception(exc)

    def force_close(self, exc: BaseException | None) -> None:
        if self.empty_waiters:
            self._wake_empty_waiters(ConnectionError("Connection is closed"))
        if self.conn_lost:
            return
        if self.buffer:
            self.buffer.clear()
            self.buffer_size = 0
            self.discarded = True
        if self.writer_added:
            self.writer_added = False
            self.ops.remove_writer(self.fd)
        if not self.closing:
            self.closing = True
            self._remove_reader()
        self._schedule_lost(exc)

    def _schedule_lost(self, exc: BaseException | None) -> None:
        if self.conn_lost:
            return
        self.conn_lost = 1
        self.loop.call_soon(self._connection_lost, exc)

    def _connection_lost(self, exc: BaseException | None) -> None:
        if self.lost_called:
            return
        self.lost_called = True
        try:
            if self.public is not None:
                self.protocol.connection_lost(exc)  # type: ignore[arg-type]
        finally:
            sock = self.sock
            self.sock = None
            if sock is not None:
                sock.close()
            server = self.server
            self.server = None
            if server is not None:
                server._detach(self.public)
            self.ops.unregister(self.fd, self.public)
            self.protocol = DETACHED
            self.public = None

    def close_socket_now(self) -> None:
        """Used by __del__ of an unclosed transport."""
        sock = self.sock
        if sock is not None:
            self.sock = None
            sock.close()


# What the connection functions and servers instantiate: the public
# SocketTransport, an interpreted class (see corolla.transports._public, which
# registers it here when the package is imported).
socket_transport_class: Any = None
