"""sendfile over a stream transport: os.sendfile when possible, else read and write."""

from __future__ import annotations

import asyncio
import errno
import io
import os
import stat
from typing import Any, Final

from corolla.transports._await import future_wait
from corolla.transports._public import SocketTransport, TLSTransport
from corolla.transports._stream import StreamCore

_FALLBACK_CHUNK: Final = 256 * 1024
_NATIVE_UNSUPPORTED: Final = (errno.ENOTSOCK, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP)


class _NativeUnavailable(Exception):
    pass


def _check_arguments(file: Any, offset: Any, count: Any) -> None:
    if "b" not in getattr(file, "mode", "b"):
        raise ValueError("file should be opened in binary mode")
    if not isinstance(offset, int) or isinstance(offset, bool):
        raise TypeError(f"offset must be a non-negative integer (got {offset!r})")
    if offset < 0:
        raise ValueError(f"offset must be a non-negative integer (got {offset!r})")
    if count is not None:
        if not isinstance(count, int) or isinstance(count, bool):
            raise TypeError(f"count must be a positive integer (got {count!r})")
        if count <= 0:
            raise ValueError(f"count must be a positive integer (got {count!r})")


def _core_of(transport: Any) -> StreamCore | None:
    """The socket stream core carrying ``transport``'s bytes (also under TLS)."""
    if isinstance(transport, SocketTransport):
        return transport._core
    if isinstance(transport, TLSTransport):
        inner = transport._layer._transport
        if isinstance(inner, SocketTransport):
            return inner._core
    return None


async def _writable(loop: asyncio.AbstractEventLoop, core: StreamCore) -> None:
    waiter: asyncio.Future[None] = loop.create_future()

    def ready() -> None:
        if not waiter.done():
            waiter.set_result(None)

    # The transport's own (unguarded) operations: its fd is registered.
    fd = core.fd
    core.ops.add_writer(fd, ready)
    try:
        await future_wait(waiter)
    finally:
        core.ops.remove_writer(fd)


async def _sendfile_native(
    loop: asyncio.AbstractEventLoop, core: StreamCore, file: Any, offset: int, count: int | None
) -> int:
    try:
        fileno = file.fileno()
    except (AttributeError, io.UnsupportedOperation) as exc:
        raise _NativeUnavailable("not a regular file") from exc
    info = os.fstat(fileno)
    if not stat.S_ISREG(info.st_mode):
        raise _NativeUnavailable("not a regular file")
    size = info.st_size
    if offset >= size:
        return 0
    end = size if count is None else min(size, offset + count)
    await future_wait(core.wait_empty())
    core.sendfile_active = True
    total = 0
    try:
        while offset + total < end:
            sock = core.sock
            if sock is None:
                raise ConnectionError("Connection closed by peer")
            try:
                sent = os.sendfile(core.fd, fileno, offset + total, end - offset - total)
            except (BlockingIOError, InterruptedError):
                await _writable(loop, core)
                continue
            except OSError as exc:
                if total == 0 and exc.errno in _NATIVE_UNSUPPORTED:
                    raise _NativeUnavailable(str(exc)) from exc
                raise
            if sent == 0:
                break  # the file got shorter
            total += sent
    finally:
        core.sendfile_active = False
        if total:
            file.seek(offset + total)
    return total


async def _sendfile_fallback(
    loop: asyncio.AbstractEventLoop,
    transport: Any,
    core: StreamCore | None,
    file: Any,
    *,
    offset: int,
    count: int | None,
) -> int:
    if offset:
        file.seek(offset)
    chunk = _FALLBACK_CHUNK if count is None else min(count, _FALLBACK_CHUNK)
    buf = bytearray(chunk)
    total = 0
    try:
        while True:
            want = chunk if count is None else min(chunk, count - total)
            if want <= 0:
                break
            view = memoryview(buf)[:want]
            read = await future_wait(loop.run_in_executor(None, file.readinto, view))
            if not read:
                break
            if core is not None and core.buffer_size > core.high_water:
                await future_wait(core.wait_empty())
            if transport.is_closing():
                raise ConnectionError("Connection closed by peer")
            transport.write(bytes(view[:read]))
            total += read
        if core is not None:
            await future_wait(core.wait_empty())
    finally:
        if total:
            file.seek(offset + total)
    return total


async def sendfile(
    loop: asyncio.AbstractEventLoop,
    transport: asyncio.WriteTransport,
    file: Any,
    offset: Any = 0,
    count: Any = None,
    *,
    fallback: object = True,
) -> int:
    """Send ``file`` (from ``offset``, ``count`` bytes or to the end) over ``transport``.

    Uses ``os.sendfile`` (zero-copy) for a regular file on a plain socket
    transport; otherwise reads and writes in chunks, unless ``fallback`` is
    False, which raises :class:`asyncio.SendfileNotAvailableError`. Returns
    the number of bytes sent; the file position ends after the last byte sent.
    ``offset`` (an int >= 0) and ``count`` (None or an int > 0) are checked
    here, with errors naming them (hence their loose annotations).
    """
    if transport.is_closing():
        raise RuntimeError("Transport is closing")
    if isinstance(transport, asyncio.DatagramTransport) or not callable(
        getattr(transport, "write", None)
    ):
        raise RuntimeError(f"sendfile is not supported for transport {transport!r}")
    _check_arguments(file, offset, count)
    core = _core_of(transport)
    if isinstance(transport, SocketTransport) and core is not None and hasattr(os, "sendfile"):
        try:
            return await _sendfile_native(loop, core, file, offset, count)
        except _NativeUnavailable as exc:
            if not fallback:
                raise asyncio.SendfileNotAvailableError(
                    f"os.sendfile cannot send this file: {exc}"
                ) from None
    elif not fallback:
        raise asyncio.SendfileNotAvailableError(
            f"fallback is disabled and native sendfile is not supported for {transport!r}"
        )
    return await _sendfile_fallback(loop, transport, core, file, offset=offset, count=count)
