"""Datagram transport (UDP and Unix datagram sockets) and create_datagram_endpoint."""

from __future__ import annotations

import asyncio
import collections
import os
import socket
import stat
from collections.abc import Callable
from typing import Any, Final

from corolla.transports._await import coroutine_wait, future_wait
from corolla.transports._debug import creation_stack
from corolla.transports._fdguard import FdOps
from corolla.transports._stream import DETACHED
from corolla.transports._tsocket import TransportSocket

# An IP datagram carries at most 65535 bytes: a 64 KiB read takes any of them
# without the mmap a larger allocation can cost (see _stream._MAX_READ). Unix
# datagram sockets can carry more, so they read up to 256 KiB.
_MAX_IP_DATAGRAM: Final = 64 * 1024
_MAX_DATAGRAM: Final = 256 * 1024
_DEFAULT_HIGH: Final = 64 * 1024
_HEADER_COST: Final = 8  # per queued datagram, so that empty datagrams count


class DatagramCore:
    """The state behind a datagram transport (compiled class)."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        sock: socket.socket,
        protocol: asyncio.BaseProtocol,
        address: Any,
        connected: bool,
    ) -> None:
        self.loop = loop
        self.ops = FdOps(loop)
        self.created = creation_stack(loop)
        self.sock: socket.socket | None = sock
        self.fd = sock.fileno()
        self.protocol = protocol
        self.address = address
        self.connected = connected
        unix = sock.family == getattr(socket, "AF_UNIX", -1)
        self.read_size = _MAX_DATAGRAM if unix else _MAX_IP_DATAGRAM
        self.public: asyncio.DatagramTransport | None = None
        self.extra: dict[str, Any] = {"socket": TransportSocket(sock)}
        try:
            self.extra["sockname"] = sock.getsockname()
        except OSError:
            self.extra["sockname"] = None
        self.extra["peername"] = address if connected else None
        self.closing = False
        self.conn_lost = 0
        self.lost_called = False
        self.reader_added = False
        self.writer_added = False
        self.buffer: collections.deque[tuple[bytes, Any]] = collections.deque()
        self.buffer_size = 0
        self.high_water = _DEFAULT_HIGH
        self.low_water = _DEFAULT_HIGH // 4
        self.protocol_paused = False

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
        if not self.closing and self.sock is not None:
            self.reader_added = True
            self.ops.add_reader(self.fd, self.read_ready)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def read_ready(self) -> None:
        sock = self.sock
        if sock is None or self.closing:
            return
        try:
            data, addr = sock.recvfrom(self.read_size)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._error_received(exc)
            return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self.fatal_error(exc, "Fatal read error on datagram transport")
            return
        try:
            self.protocol.datagram_received(data, addr)  # type: ignore[attr-defined]
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self.fatal_error(exc, "Fatal error: protocol.datagram_received() call failed.")

    def _error_received(self, exc: OSError) -> None:
        try:
            self.protocol.error_received(exc)  # type: ignore[attr-defined]
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as error:
            self.fatal_error(error, "Fatal error: protocol.error_received() call failed.")

    def _send(self, sock: socket.socket, data: Any, addr: Any) -> None:
        if self.connected:
            sock.send(data)
        else:
            sock.sendto(data, addr)

    def sendto(self, data: Any, addr: Any) -> None:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(
                f"data argument must be a bytes-like object, not {type(data).__name__!r}"
            )
        if self.address is not None:
            if addr is not None and addr != self.address:
                raise ValueError(f"Invalid address: must be None or {self.address}")
            addr = self.address
        elif addr is None:
            raise ValueError("an address is required: the transport is not connected")
        sock = self.sock
        if self.conn_lost or sock is None:
            self.conn_lost += 1
            return
        if not self.buffer:
            try:
                self._send(sock, data, addr)
                return
            except (BlockingIOError, InterruptedError):
                self.writer_added = True
                self.ops.add_writer(self.fd, self.write_ready)
            except OSError as exc:
                self._error_received(exc)
                return
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                self.fatal_error(exc, "Fatal write error on datagram transport")
                return
        payload = bytes(data)
        self.buffer.append((payload, addr))
        self.buffer_size += len(payload) + _HEADER_COST
        self._maybe_pause_protocol()

    def write_ready(self) -> None:
        sock = self.sock
        if sock is None:
            return
        buffer = self.buffer
        while buffer:
            data, addr = buffer.popleft()
            self.buffer_size -= len(data) + _HEADER_COST
            try:
                self._send(sock, data, addr)
            except (BlockingIOError, InterruptedError):
                buffer.appendleft((data, addr))
                self.buffer_size += len(data) + _HEADER_COST
                break
            except OSError as exc:
                self._error_received(exc)
                if self.sock is None:
                    return
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                self.fatal_error(exc, "Fatal write error on datagram transport")
                return
        self._maybe_resume_protocol()
        if not buffer and self.writer_added:
            self.writer_added = False
            self.ops.remove_writer(self.fd)
            if self.closing:
                self._schedule_lost(None)

    def set_write_buffer_limits(self, high: int | None, low: int | None) -> None:
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
            # Through Any: compiled, a call typed -> None checks for None, and a
            # replaced handler (a Mock) may return anything.
            loop_any: Any = self.loop
            loop_any.call_exception_handler(
                {"message": "protocol.pause_writing() failed", "exception": exc}
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
                    {"message": "protocol.resume_writing() failed", "exception": exc}
                )

    def _remove_reader(self) -> None:
        if self.reader_added:
            self.reader_added = False
            self.ops.remove_reader(self.fd)

    def close(self) -> None:
        if self.closing:
            return
        self.closing = True
        self._remove_reader()
        if not self.buffer:
            self._schedule_lost(None)

    def fatal_error(self, exc: BaseException, message: str) -> None:
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

    def force_close(self, exc: BaseException | None) -> None:
        if self.conn_lost:
            return
        self.buffer.clear()
        self.buffer_size = 0
        if self.writer_added:
            self.writer_added = False
            self.ops.remove_writer(self.fd)
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
            self.protocol.connection_lost(exc)  # type: ignore[arg-type]
        finally:
            sock = self.sock
            self.sock = None
            if sock is not None:
                sock.close()
            self.ops.unregister(self.fd, self.public)
            self.protocol = DETACHED
            self.public = None

    def close_socket_now(self) -> None:
        sock = self.sock
        if sock is not None:
            self.sock = None
            sock.close()


# What create_datagram_endpoint instantiates: the public DatagramSocketTransport,
# an interpreted class (see corolla.transports._public, which registers it here
# when the package is imported).
datagram_transport_class: Any = None


async def create_datagram_endpoint(
    loop: asyncio.AbstractEventLoop,
    protocol_factory: Callable[[], asyncio.BaseProtocol],
    local_addr: Any = None,
    remote_addr: Any = None,
    *,
    family: int = 0,
    proto: int = 0,
    flags: int = 0,
    reuse_address: object = None,
    reuse_port: object = None,
    allow_broadcast: object = None,
    sock: socket.socket | None = None,
) -> tuple[asyncio.DatagramTransport, asyncio.BaseProtocol]:
    """Open a datagram endpoint, bound to ``local_addr`` and/or connected to ``remote_addr``.

    Same arguments and errors as :meth:`asyncio.loop.create_datagram_endpoint`
    (3.13 behaviour: ``reuse_address=True`` is refused), with the loop first.
    Returns ``(transport, protocol)``.
    """
    if reuse_address:
        raise ValueError(
            "Passing `reuse_address=True` is no longer supported, as the usage of "
            "SO_REUSEPORT in UDP poses a significant security concern."
        )
    address: Any = None
    connected = False
    if sock is not None:
        if sock.type != socket.SOCK_DGRAM:
            raise ValueError(f"A datagram socket was expected, got {sock!r}")
        given = {
            "local_addr": local_addr,
            "remote_addr": remote_addr,
            "family": family,
            "proto": proto,
            "flags": flags,
            "reuse_port": reuse_port,
            "allow_broadcast": allow_broadcast,
        }
        problems = ", ".join(f"{k}={v}" for k, v in given.items() if v)
        if problems:
            raise ValueError(
                "socket modifier keyword arguments can not be used "
                f"when sock is specified. ({problems})"
            )
        sock.setblocking(False)
        try:
            address = sock.getpeername()
            connected = True
        except OSError:
            address = None
    else:
        sock, address, connected = await _open_datagram_socket(
            loop,
            local_addr,
            remote_addr=remote_addr,
            family=family,
            proto=proto,
            flags=flags,
            reuse_port=reuse_port,
            allow_broadcast=allow_broadcast,
        )
    protocol = protocol_factory()
    waiter: asyncio.Future[None] = loop.create_future()
    transport: asyncio.DatagramTransport = datagram_transport_class(
        loop, sock, protocol, address, waiter, connected=connected
    )
    try:
        await future_wait(waiter)
    except BaseException:
        transport.close()
        raise
    return transport, protocol


async def _open_datagram_socket(
    loop: asyncio.AbstractEventLoop,
    local_addr: Any,
    *,
    remote_addr: Any,
    family: int,
    proto: int,
    flags: int,
    reuse_port: object,
    allow_broadcast: object,
) -> tuple[socket.socket, Any, bool]:
    candidates: list[tuple[int, int, Any, Any]] = []
    if not (local_addr or remote_addr):
        if family == 0:
            raise ValueError("unexpected address family")
        candidates.append((family, proto, None, None))
    elif hasattr(socket, "AF_UNIX") and family == socket.AF_UNIX:
        for addr in (local_addr, remote_addr):
            if addr is not None and not isinstance(addr, (str, bytes, os.PathLike)):
                raise TypeError("string is expected")
        if local_addr is not None:
            local_addr = os.fspath(local_addr)
            if local_addr and local_addr[0] not in (0, "\x00"):
                try:
                    if stat.S_ISSOCK(os.stat(local_addr).st_mode):
                        os.remove(local_addr)
                except FileNotFoundError:
                    pass
        if remote_addr is not None:
            remote_addr = os.fspath(remote_addr)
        candidates.append((family, proto, local_addr, remote_addr))
    else:
        found: dict[tuple[int, int], list[Any]] = {}
        for index, addr in enumerate((local_addr, remote_addr)):
            if addr is None:
                continue
            if not (isinstance(addr, tuple) and len(addr) == 2):
                raise TypeError("2-tuple is expected")
            infos = await coroutine_wait(
                loop.getaddrinfo(
                    *addr, family=family, type=socket.SOCK_DGRAM, proto=proto, flags=flags
                )
            )
            if not infos:
                raise OSError("getaddrinfo() returned empty list")
            for info in infos:
                address = info[4]
                slot = found.setdefault((int(info[0]), info[2]), [None, None])
                if slot[index] is None:
                    slot[index] = address
        for key, pair in found.items():
            local, remote = pair
            if (local_addr is None or local is not None) and (
                remote_addr is None or remote is not None
            ):
                candidates.append((key[0], key[1], local, remote))
        if not candidates:
            raise ValueError("can not get address information")
    errors: list[OSError] = []
    for candidate in candidates:
        local = candidate[2]
        remote = candidate[3]
        sock = socket.socket(family=candidate[0], type=socket.SOCK_DGRAM, proto=candidate[1])
        try:
            if reuse_port:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            if allow_broadcast:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
            sock.setblocking(False)
            if local is not None:
                sock.bind(local)
            if remote is not None and not allow_broadcast:
                await coroutine_wait(loop.sock_connect(sock, remote))
        except OSError as exc:
            sock.close()
            errors.append(exc)
            continue
        except BaseException:
            sock.close()
            raise
        connected = remote is not None and not allow_broadcast
        return sock, remote, connected
    raise errors[0]
