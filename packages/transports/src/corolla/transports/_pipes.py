"""Read and write pipe transports (pipes, FIFOs, sockets, ttys and other character devices)."""

from __future__ import annotations

import asyncio
import collections
import errno
import os
import stat
from collections.abc import Callable
from typing import Any, Final

from corolla.transports._await import future_wait
from corolla.transports._debug import creation_stack
from corolla.transports._stream import DETACHED

# 64 KiB: see _stream._MAX_READ (no mmap per read).
_MAX_READ: Final = 64 * 1024
_DEFAULT_HIGH: Final = 64 * 1024
_MAX_IOV: Final = 512


def _check_pipe(fd: int) -> int:
    mode = os.fstat(fd).st_mode
    if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISCHR(mode)):
        raise ValueError("Pipe transport is only for pipes, sockets and character devices")
    return mode


class ReadPipeCore:
    """The state behind ReadPipeTransport (compiled class)."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        pipe: Any,
        protocol: asyncio.BaseProtocol,
        waiter: asyncio.Future[None] | None = None,
    ) -> None:
        _check_pipe(pipe.fileno())  # before the transport owns the pipe
        self.public: asyncio.ReadTransport | None = None
        self._loop = loop
        self.created = creation_stack(loop)
        self._pipe: Any = pipe
        self._fd: int = pipe.fileno()
        self._protocol = protocol
        self._closing = False
        self._paused = False
        self._reader_added = False
        self._lost = False
        os.set_blocking(self._fd, False)

    def start(self, waiter: asyncio.Future[None] | None) -> None:
        self._loop.call_soon(self._start, waiter)

    def close_pipe_now(self) -> bool:
        pipe = self._pipe
        self._pipe = None
        if pipe is None:
            return False
        pipe.close()
        return True

    def _start(self, waiter: asyncio.Future[None] | None) -> None:
        try:
            self._protocol.connection_made(self.public)  # type: ignore[arg-type]
        except BaseException as exc:
            if waiter is not None and not waiter.done():
                waiter.set_exception(exc)
            self._force_close(exc)
            return
        if not self._closing and not self._paused:
            self._add_reader()
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _add_reader(self) -> None:
        if not self._reader_added and self._pipe is not None:
            self._reader_added = True
            self._loop.add_reader(self._fd, self._read_ready)

    def _remove_reader(self) -> None:
        if self._reader_added:
            self._reader_added = False
            self._loop.remove_reader(self._fd)

    def _read_ready(self) -> None:
        try:
            data = os.read(self._fd, _MAX_READ)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            if exc.errno == errno.EIO:
                # A pty whose other side closed: that is the end of the stream.
                data = b""
            else:
                self._fatal(exc, "Fatal read error on pipe transport")
                return
        if data:
            try:
                self._protocol.data_received(data)  # type: ignore[attr-defined]
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                self._fatal(exc, "Fatal error: protocol.data_received() call failed.")
            return
        self._closing = True
        self._remove_reader()
        try:
            self._protocol.eof_received()  # type: ignore[attr-defined]
        finally:
            self._schedule_lost(None)

    def _fatal(self, exc: BaseException, message: str) -> None:
        if not isinstance(exc, OSError):
            # Through Any: compiled, a call typed -> None checks for None, and a
            # replaced handler (a Mock) may return anything.
            loop_any: Any = self._loop
            loop_any.call_exception_handler(
                {
                    "message": message,
                    "exception": exc,
                    "transport": self.public,
                    "protocol": self._protocol,
                }
            )
        self._force_close(exc)

    def _force_close(self, exc: BaseException | None) -> None:
        self._closing = True
        self._remove_reader()
        self._schedule_lost(exc)

    def _schedule_lost(self, exc: BaseException | None) -> None:
        if self._lost:
            return
        self._lost = True
        self._loop.call_soon(self._connection_lost, exc)

    def _connection_lost(self, exc: BaseException | None) -> None:
        try:
            self._protocol.connection_lost(exc)  # type: ignore[arg-type]
        finally:
            pipe = self._pipe
            self._pipe = None
            if pipe is not None:
                pipe.close()
            # Drop the protocol and the public transport (get_protocol() is None
            # from now on, as in the stdlib): no protocol <-> transport <-> core
            # cycle is left, so a closed pipe transport is freed by reference
            # counting alone, as the socket transports are.
            self._protocol = DETACHED
            self.public = None

    def is_closing(self) -> bool:
        """True once closing started."""
        return self._closing

    def close(self) -> None:
        """Stop reading and close the pipe; connection_lost(None) follows."""
        if not self._closing:
            self._force_close(None)

    def is_reading(self) -> bool:
        """True unless paused or closing."""
        return not self._paused and not self._closing

    def pause_reading(self) -> None:
        """Stop reading until resume_reading()."""
        if self._closing or self._paused:
            return
        self._paused = True
        self._remove_reader()

    def resume_reading(self) -> None:
        """Undo pause_reading()."""
        if self._closing or not self._paused:
            return
        self._paused = False
        self._add_reader()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        """Switch the protocol."""
        self._protocol = protocol

    def get_protocol(self) -> Any:
        """The protocol (None once the connection is lost)."""
        protocol = self._protocol
        return None if protocol is DETACHED else protocol


class WritePipeCore:
    """The state behind WritePipeTransport (compiled class)."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        pipe: Any,
        protocol: asyncio.BaseProtocol,
        waiter: asyncio.Future[None] | None = None,
    ) -> None:
        mode = _check_pipe(pipe.fileno())  # before the transport owns the pipe
        self.public: asyncio.WriteTransport | None = None
        self._loop = loop
        self.created = creation_stack(loop)
        self._pipe: Any = pipe
        self._fd: int = pipe.fileno()
        self._protocol = protocol
        self._buffer: collections.deque[memoryview] = collections.deque()
        self._buffer_size = 0
        self._high = _DEFAULT_HIGH
        self._low = _DEFAULT_HIGH // 4
        self._protocol_paused = False
        self._closing = False
        self._lost = False
        self._writer_added = False
        self._reader_added = False
        os.set_blocking(self._fd, False)
        # The write end of a pipe or socket turns readable when the reader
        # goes away: that is how a closed peer is noticed with nothing to write.
        self._watch_peer = stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)

    def start(self, waiter: asyncio.Future[None] | None) -> None:
        self._loop.call_soon(self._start, waiter)

    def close_pipe_now(self) -> bool:
        pipe = self._pipe
        self._pipe = None
        if pipe is None:
            return False
        pipe.close()
        return True

    def _start(self, waiter: asyncio.Future[None] | None) -> None:
        try:
            self._protocol.connection_made(self.public)  # type: ignore[arg-type]
        except BaseException as exc:
            if waiter is not None and not waiter.done():
                waiter.set_exception(exc)
            self._force_close(exc)
            return
        if self._watch_peer and not self._closing and self._pipe is not None:
            self._reader_added = True
            self._loop.add_reader(self._fd, self._peer_closed)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _peer_closed(self) -> None:
        if self._buffer:
            self._force_close(BrokenPipeError())
        else:
            self._force_close(None)

    def write(self, data: Any) -> None:
        """Write bytes; what the pipe does not take now is buffered."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(
                f"data argument must be a bytes-like object, not {type(data).__name__!r}"
            )
        view = memoryview(data).cast("B")
        if not view.nbytes:
            return
        if self._lost or self._closing:
            return
        if not self._buffer:
            try:
                n = os.write(self._fd, view)
            except (BlockingIOError, InterruptedError):
                n = 0
            except BaseException as exc:
                self._fatal(exc, "Fatal write error on pipe transport")
                return
            if n == view.nbytes:
                return
            view = view[n:]
            self._writer_added = True
            self._loop.add_writer(self._fd, self._write_ready)
        if not view.readonly:
            view = memoryview(view.tobytes())
        self._buffer.append(view)
        self._buffer_size += view.nbytes
        self._maybe_pause()

    def writelines(self, list_of_data: Any) -> None:
        """Write each buffer in turn."""
        for data in list_of_data:
            self.write(data)

    def _write_ready(self) -> None:
        buffer = self._buffer
        views = list(buffer) if len(buffer) <= _MAX_IOV else [buffer[i] for i in range(_MAX_IOV)]
        try:
            n = os.writev(self._fd, views)
        except (BlockingIOError, InterruptedError):
            return
        except BaseException as exc:
            self._fatal(exc, "Fatal write error on pipe transport")
            return
        self._buffer_size -= n
        while n:
            head = buffer[0]
            if n >= head.nbytes:
                n -= head.nbytes
                buffer.popleft()
            else:
                buffer[0] = head[n:]
                n = 0
        self._maybe_resume()
        if not buffer:
            self._writer_added = False
            self._loop.remove_writer(self._fd)
            if self._closing:
                self._remove_reader()
                self._schedule_lost(None)

    def _maybe_pause(self) -> None:
        if not self._protocol_paused and self._buffer_size > self._high:
            self._protocol_paused = True
            self._protocol.pause_writing()

    def _maybe_resume(self) -> None:
        if self._protocol_paused and self._buffer_size <= self._low:
            self._protocol_paused = False
            self._protocol.resume_writing()

    def _fatal(self, exc: BaseException, message: str) -> None:
        if not isinstance(exc, (BrokenPipeError, ConnectionResetError)):
            loop_any: Any = self._loop
            loop_any.call_exception_handler(
                {
                    "message": message,
                    "exception": exc,
                    "transport": self.public,
                    "protocol": self._protocol,
                }
            )
        self._force_close(exc)

    def _remove_reader(self) -> None:
        if self._reader_added:
            self._reader_added = False
            self._loop.remove_reader(self._fd)

    def _force_close(self, exc: BaseException | None) -> None:
        if self._writer_added:
            self._writer_added = False
            self._loop.remove_writer(self._fd)
        self._buffer.clear()
        self._buffer_size = 0
        self._closing = True
        self._remove_reader()
        self._schedule_lost(exc)

    def _schedule_lost(self, exc: BaseException | None) -> None:
        if self._lost:
            return
        self._lost = True
        self._loop.call_soon(self._connection_lost, exc)

    def _connection_lost(self, exc: BaseException | None) -> None:
        try:
            self._protocol.connection_lost(exc)  # type: ignore[arg-type]
        finally:
            pipe = self._pipe
            self._pipe = None
            if pipe is not None:
                pipe.close()
            # Drop the protocol and the public transport (get_protocol() is None
            # from now on, as in the stdlib): no protocol <-> transport <-> core
            # cycle is left, so a closed pipe transport is freed by reference
            # counting alone, as the socket transports are.
            self._protocol = DETACHED
            self.public = None

    def can_write_eof(self) -> bool:
        """True: write_eof() closes the pipe after the buffered data."""
        return True

    def write_eof(self) -> None:
        """Close the pipe once the buffer is flushed (a pipe's EOF is its closing)."""
        self.close()

    def is_closing(self) -> bool:
        """True once closing started."""
        return self._closing

    def close(self) -> None:
        """Flush the buffer, then close; connection_lost(None) follows."""
        if self._closing:
            return
        self._closing = True
        if not self._buffer:
            self._remove_reader()
            self._schedule_lost(None)

    def abort(self) -> None:
        """Close now, discarding the buffer."""
        self._force_close(None)

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        """Water marks for pause_writing/resume_writing."""
        if high is None:
            high = _DEFAULT_HIGH if low is None else 4 * low
        if low is None:
            low = high // 4
        if not high >= low >= 0:
            raise ValueError(f"high ({high!r}) must be >= low ({low!r}) must be >= 0")
        self._high = high
        self._low = low
        self._maybe_pause()

    def get_write_buffer_limits(self) -> tuple[int, int]:
        """(low, high)."""
        return (self._low, self._high)

    def get_write_buffer_size(self) -> int:
        """Bytes waiting to be written."""
        return self._buffer_size

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        """Switch the protocol."""
        self._protocol = protocol

    def get_protocol(self) -> Any:
        """The protocol (None once the connection is lost)."""
        protocol = self._protocol
        return None if protocol is DETACHED else protocol


# What connect_read_pipe and connect_write_pipe instantiate: the public
# ReadPipeTransport and WritePipeTransport, interpreted classes (see
# corolla.transports._public, which registers them here when the package is
# imported).
read_pipe_transport_class: Any = None
write_pipe_transport_class: Any = None


async def connect_read_pipe(
    loop: asyncio.AbstractEventLoop,
    protocol_factory: Callable[[], asyncio.BaseProtocol],
    pipe: Any,
) -> tuple[asyncio.ReadTransport, asyncio.BaseProtocol]:
    """Read from ``pipe`` (a file object on a pipe, FIFO, socket or character device).

    The transport owns the pipe and closes it. Regular files raise ValueError.
    """
    protocol = protocol_factory()
    waiter: asyncio.Future[None] = loop.create_future()
    transport: asyncio.ReadTransport = read_pipe_transport_class(loop, pipe, protocol, waiter)
    try:
        await future_wait(waiter)
    except BaseException:
        transport.close()
        raise
    return transport, protocol


async def connect_write_pipe(
    loop: asyncio.AbstractEventLoop,
    protocol_factory: Callable[[], asyncio.BaseProtocol],
    pipe: Any,
) -> tuple[asyncio.WriteTransport, asyncio.BaseProtocol]:
    """Write to ``pipe`` (a file object on a pipe, FIFO, socket or character device).

    The transport owns the pipe and closes it. Regular files raise ValueError.
    """
    protocol = protocol_factory()
    waiter: asyncio.Future[None] = loop.create_future()
    transport: asyncio.WriteTransport = write_pipe_transport_class(loop, pipe, protocol, waiter)
    try:
        await future_wait(waiter)
    except BaseException:
        transport.close()
        raise
    return transport, protocol
