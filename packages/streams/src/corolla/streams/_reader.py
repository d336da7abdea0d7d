"""StreamReader: a byte buffer fed by a protocol, read by coroutines."""

from __future__ import annotations

import asyncio
import sys
import traceback
from asyncio import IncompleteReadError, LimitOverrunError
from typing import Any, Final, Self

from mypy_extensions import mypyc_attr

from corolla.streams._util import DEFAULT_LIMIT, Waiter, WaitFuture, creation_stack, event_loop

_NL: Final = b"\n"
_SMALL: Final = 4096

BytesLike = bytes | bytearray | memoryview
Separator = bytes | bytearray | memoryview | tuple[BytesLike, ...]


def _take(buffer: bytearray, n: int) -> bytes:
    """Remove and return the first ``n`` bytes of ``buffer`` (all of it if shorter)."""
    if n >= len(buffer):
        data = bytes(buffer)
        buffer.clear()
        return data
    # Copying twice is cheaper than building two memoryviews for short pieces.
    data = bytes(buffer[:n]) if n <= _SMALL else bytes(memoryview(buffer)[:n])
    del buffer[:n]
    return data


@mypyc_attr(allow_interpreted_subclasses=True)
class StreamReaderCore:
    """The compiled part of :class:`corolla.streams.StreamReader` (see ``_public.py``).

    A plain native class: the public class, an interpreted subclass, adds the
    ``__dict__`` and weak references. Its internal steps are module-level
    functions, so they stay direct calls for instances of interpreted subclasses.
    """

    _source_traceback: traceback.StackSummary | None
    _loop: asyncio.AbstractEventLoop
    _limit: int
    _buffer: bytearray
    _eof: bool
    _waiter: Waiter | None
    _exception: BaseException | None
    _transport: Any
    _paused: bool

    def __init__(
        self, limit: int = DEFAULT_LIMIT, loop: asyncio.AbstractEventLoop | None = None
    ) -> None:
        if limit <= 0:
            raise ValueError("Limit cannot be <= 0")
        self._limit = limit
        self._loop = event_loop(loop)
        self._buffer = bytearray()
        self._eof = False
        self._waiter = None
        self._exception = None
        self._transport = None
        self._paused = False
        self._source_traceback = None
        if self._loop.get_debug():
            self._source_traceback = creation_stack()

    def __repr__(self) -> str:
        info = ["StreamReader"]
        if self._buffer:
            info.append(f"{len(self._buffer)} bytes")
        if self._eof:
            info.append("eof")
        if self._limit != DEFAULT_LIMIT:
            info.append(f"limit={self._limit}")
        if self._waiter is not None:
            info.append(f"waiter={self._waiter!r}")
        if self._exception is not None:
            info.append(f"exception={self._exception!r}")
        if self._transport is not None:
            info.append(f"transport={self._transport!r}")
        if self._paused:
            info.append("paused")
        return "<{}>".format(" ".join(info))

    # -- the feeding side ----------------------------------------------------

    def exception(self) -> BaseException | None:
        """The exception set with :meth:`set_exception`, or None."""
        return self._exception

    def set_exception(self, exc: BaseException) -> None:
        """Make every later read raise ``exc``; a read waiting now raises it at once."""
        self._exception = exc
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.cancelled():
                waiter.set_exception(exc)

    def set_transport(self, transport: Any) -> None:
        """Attach the transport that flow control pauses and resumes (once)."""
        if self._transport is not None:
            raise RuntimeError("Transport already set")
        self._transport = transport

    def feed_eof(self) -> None:
        """No more data will come; readers get what is buffered, then EOF."""
        self._eof = True
        _wakeup(self)

    def at_eof(self) -> bool:
        """True once :meth:`feed_eof` was called and the buffer is empty."""
        return self._eof and not self._buffer

    def feed_data(self, data: BytesLike) -> None:
        """Append ``data`` to the buffer and wake the waiting reader."""
        if self._eof:
            raise RuntimeError("feed_data after feed_eof")
        if not data:
            return
        buffer = self._buffer
        buffer.extend(data)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.cancelled():
                waiter.set_result(None)
        if not self._paused and len(buffer) > 2 * self._limit:
            transport = self._transport
            if transport is not None:
                try:
                    transport.pause_reading()
                except NotImplementedError:
                    # This transport cannot pause: buffer everything, stop asking.
                    self._transport = None
                else:
                    self._paused = True

    # -- the reading side ----------------------------------------------------

    async def read(self, n: int = -1) -> bytes:
        """Read up to ``n`` bytes; with ``n`` < 0, read until EOF.

        With ``n`` > 0 this returns as soon as at least one byte is buffered
        (at most ``n`` of them), or b"" at EOF. ``read(0)`` returns b"" at
        once. The result is not bounded by the limit.
        """
        if self._exception is not None:
            raise self._exception
        if n == 0:
            return b""
        if n < 0:
            return await _read_all(self)
        buffer = self._buffer
        if not buffer and not self._eof:
            await _wait_for_data(self, "read")
            buffer = self._buffer
        data = _take(buffer, n)
        _maybe_resume(self)
        return data

    async def readline(self) -> bytes:
        """Read one line, ending with b"\\n".

        At EOF the last, unterminated part is returned (b"" when nothing is
        left). A line longer than the limit raises ValueError; the line (up to
        and including its newline, if buffered) is dropped, or the whole
        buffer when no newline is buffered.
        """
        if self._exception is None:
            buffer = self._buffer
            end = buffer.find(_NL)
            if 0 <= end <= self._limit:
                line = _take(buffer, end + 1)
                _maybe_resume(self)
                return line
        try:
            return await _read_until(self, (_NL,), 1, 1)
        except IncompleteReadError as e:
            return e.partial
        except LimitOverrunError as e:
            if self._buffer.startswith(_NL, e.consumed):
                del self._buffer[: e.consumed + 1]
            else:
                self._buffer.clear()
            _maybe_resume(self)
            raise ValueError(e.args[0]) from None

    async def readuntil(self, separator: Separator = b"\n") -> bytes:
        """Read up to and including ``separator``.

        ``separator`` is a bytes-like object or a tuple of them; with a tuple,
        the shortest data ending in any of them is returned. At EOF without a
        separator :class:`asyncio.IncompleteReadError` is raised with the
        buffered bytes (the buffer is emptied). When no separator is found
        within the limit, or the data before it exceeds the limit,
        :class:`asyncio.LimitOverrunError` is raised and the data stays
        buffered (``consumed`` tells how much could be skipped).
        """
        seps: list[BytesLike]
        if isinstance(separator, tuple):
            seps = sorted(separator, key=len)
            if not seps:
                raise ValueError("Separator should contain at least one element")
        else:
            seps = [separator]
        min_len = len(seps[0])
        if min_len == 0:
            raise ValueError("Separator should be at least one-byte string")
        return await _read_until(self, tuple(seps), min_len, len(seps[-1]))

    async def readexactly(self, n: int) -> bytes:
        """Read exactly ``n`` bytes.

        At EOF before ``n`` bytes :class:`asyncio.IncompleteReadError` is
        raised with what was buffered (``partial``) and ``n`` (``expected``).
        ``n`` may exceed the limit.
        """
        if n < 0:
            raise ValueError("readexactly size can not be less than zero")
        if self._exception is not None:
            raise self._exception
        if n == 0:
            return b""
        while len(self._buffer) < n:
            if self._eof:
                partial = bytes(self._buffer)
                self._buffer.clear()
                raise IncompleteReadError(partial, n)
            await _wait_for_data(self, "readexactly")
        data = _take(self._buffer, n)
        _maybe_resume(self)
        return data

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> bytes:
        line = await self.readline()
        if not line:
            raise StopAsyncIteration
        return line


def _wakeup(self: StreamReaderCore) -> None:
    waiter = self._waiter
    if waiter is not None:
        self._waiter = None
        if not waiter.cancelled():
            waiter.set_result(None)


def _maybe_resume(self: StreamReaderCore) -> None:
    if self._paused and len(self._buffer) <= self._limit:
        self._paused = False
        self._transport.resume_reading()


async def _wait_for_data(self: StreamReaderCore, func_name: str) -> None:
    # One waiter only: with two, nobody could tell which one gets the data.
    if self._waiter is not None:
        raise RuntimeError(
            f"{func_name}() called while another coroutine is already waiting for incoming data"
        )
    if self._eof:
        raise RuntimeError(f"{func_name}() waits for data after EOF")
    # Waiting while the transport is paused would never end.
    if self._paused:
        self._paused = False
        self._transport.resume_reading()
    waiter: Waiter = self._loop.create_future()
    self._waiter = waiter
    try:
        if sys.version_info >= (3, 12):
            await WaitFuture(waiter)
        else:
            await waiter
    finally:
        self._waiter = None


async def _read_all(self: StreamReaderCore) -> bytes:
    blocks: list[bytes] = []
    while True:
        if self._exception is not None:
            raise self._exception
        buffer = self._buffer
        if buffer:
            blocks.append(bytes(buffer))
            buffer.clear()
            _maybe_resume(self)
        if self._eof:
            break
        await _wait_for_data(self, "read")
    return b"".join(blocks)


async def _read_until(
    self: StreamReaderCore, seps: tuple[BytesLike, ...], min_len: int, max_len: int
) -> bytes:
    if self._exception is not None:
        raise self._exception
    # Bytes before ``offset`` are known to hold no separator start.
    offset = 0
    single = len(seps) == 1
    while True:
        buffer = self._buffer
        buflen = len(buffer)
        if buflen - offset >= min_len:
            start = -1
            end = -1
            if single:
                start = buffer.find(seps[0], offset)
                if start >= 0:
                    end = start + min_len
            else:
                for sep in seps:
                    found = buffer.find(sep, offset)
                    if found >= 0:
                        found_end = found + len(sep)
                        if end < 0 or found_end < end:
                            start = found
                            end = found_end
            if end >= 0:
                break
            # A separator may straddle the end of the buffer: rescan its tail.
            offset = max(0, buflen + 1 - max_len)
            if offset > self._limit:
                raise LimitOverrunError(
                    "Separator is not found, and chunk exceed the limit", offset
                )
        # The last chunk may complete a separator, so EOF is checked after the scan.
        if self._eof:
            partial = bytes(buffer)
            buffer.clear()
            raise IncompleteReadError(partial, None)
        await _wait_for_data(self, "readuntil")
    if start > self._limit:
        raise LimitOverrunError("Separator is found, but chunk is longer than limit", start)
    chunk = _take(buffer, end)
    _maybe_resume(self)
    return chunk


# The class compiled code instantiates: the public StreamReader, registered by _public.py.
reader_class: type[StreamReaderCore] = StreamReaderCore
