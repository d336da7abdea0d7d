"""Listening servers: Server, create_server, create_unix_server."""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import ssl as ssl_module
import stat
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from mypy_extensions import mypyc_attr

from corolla.transports import _stream
from corolla.transports._await import coroutine_wait, future_wait
from corolla.transports._connect import check_not_ssl_socket, check_ssl_arguments
from corolla.transports._debug import creation_stack, warn_unclosed
from corolla.transports._tls import TLSProtocol
from corolla.transports._tsocket import TransportSocket

if TYPE_CHECKING:
    from corolla.transports._public import Server

_RESOURCE_ERRNOS = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)
_ACCEPT_RETRY_DELAY = 1.0


@mypyc_attr(allow_interpreted_subclasses=True)
class ServerCore:
    """The compiled implementation of :class:`Server` (see ``_public.py``).

    Not a subclass of :class:`asyncio.AbstractServer` (the public class adds
    it): a compiled class with an interpreted base never clears the weak
    references to its instances when it frees them.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        sockets: list[socket.socket],
        protocol_factory: Callable[[], asyncio.BaseProtocol],
        backlog: int,
        *,
        unix_path: str | None = None,
        unix_inode: int | None = None,
        ssl: Any = None,
        ssl_handshake_timeout: float | None = None,
        ssl_shutdown_timeout: float | None = None,
    ) -> None:
        self._ssl = ssl
        self._ssl_handshake_timeout = ssl_handshake_timeout
        self._ssl_shutdown_timeout = ssl_shutdown_timeout
        self._loop = loop
        self._sockets: list[socket.socket] | None = sockets
        self._protocol_factory = protocol_factory
        self._backlog = backlog
        self._serving = False
        self._clients: set[asyncio.Transport] = set()
        self._waiters: list[asyncio.Future[None]] | None = []
        self._serving_forever: asyncio.Future[None] | None = None
        self._unix_path = unix_path
        self._unix_inode = unix_inode
        self._created = creation_stack(loop)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} sockets={self.sockets!r}>"

    def _finalize(self) -> None:
        """An unclosed server being collected: warn, close its sockets.

        Called by the public class's ``__del__`` (see ``_public.py``).
        """
        sockets = getattr(self, "_sockets", None)
        if sockets:
            # Only reached once nothing (the loop's accept callbacks included)
            # refers to the server: it was never closed.
            warn_unclosed("server", self, self._created)
            self._sockets = None
            for sock in sockets:
                sock.close()

    # -- connection bookkeeping (called by the transports) ---------------

    def _attach(self, transport: asyncio.Transport) -> None:
        self._clients.add(transport)

    def _detach(self, transport: asyncio.Transport) -> None:
        self._clients.discard(transport)
        if not self._clients and self._sockets is None:
            self._wake_up()

    def _wake_up(self) -> None:
        waiters = self._waiters
        self._waiters = None
        if waiters is not None:
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)

    # -- accepting -------------------------------------------------------

    def _start_serving(self) -> None:
        if self._serving or self._sockets is None:
            return
        self._serving = True
        for sock in self._sockets:
            sock.listen(self._backlog)
            self._add_acceptor(sock)

    def _add_acceptor(self, sock: socket.socket) -> None:
        self._loop.add_reader(sock.fileno(), self._accept_ready, sock)

    def _accept_ready(self, sock: socket.socket) -> None:
        loop = self._loop
        for _ in range(self._backlog):
            try:
                conn, addr = sock.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                return
            except OSError as exc:
                if exc.errno in _RESOURCE_ERRNOS:
                    # Through Any: compiled, a call typed -> None checks for None, and a
                    # replaced handler (a Mock) may return anything.
                    loop_any: Any = loop
                    loop_any.call_exception_handler(
                        {
                            "message": "socket.accept() out of system resource",
                            "exception": exc,
                            "socket": TransportSocket(sock),
                        }
                    )
                    loop.remove_reader(sock.fileno())
                    loop.call_later(_ACCEPT_RETRY_DELAY, self._retry_accept, sock)
                    return
                raise
            conn.setblocking(False)
            extra = {"peername": addr}
            try:
                app_protocol = self._protocol_factory()
                # A TLS layer is a plain compiled class, not an asyncio.BaseProtocol.
                protocol: asyncio.BaseProtocol | TLSProtocol = app_protocol
                if self._ssl is not None:
                    protocol = TLSProtocol(
                        loop,
                        app_protocol,
                        self._ssl,
                        None,
                        server_side=True,
                        handshake_timeout=self._ssl_handshake_timeout,
                        shutdown_timeout=self._ssl_shutdown_timeout,
                    )
                _stream.socket_transport_class(loop, conn, protocol, None, extra=extra, server=self)
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                conn.close()
                loop_any = loop  # (declared Any above)
                loop_any.call_exception_handler(
                    {
                        "message": "Error in protocol factory or transport setup",
                        "exception": exc,
                        "socket": TransportSocket(sock),
                    }
                )

    def _retry_accept(self, sock: socket.socket) -> None:
        if self._serving and self._sockets is not None and sock in self._sockets:
            self._add_acceptor(sock)

    # -- public API ------------------------------------------------------

    def get_loop(self) -> asyncio.AbstractEventLoop:
        """The loop the server runs on."""
        return self._loop

    def is_serving(self) -> bool:
        """True while the server accepts connections."""
        return self._serving

    @property
    def sockets(self) -> tuple[TransportSocket, ...]:
        """The listening sockets (wrapped), empty once closed."""
        if self._sockets is None:
            return ()
        return tuple(TransportSocket(s) for s in self._sockets)

    def close(self) -> None:
        """Stop listening and close the listening sockets; connections stay open."""
        sockets = self._sockets
        if sockets is None:
            return
        self._sockets = None
        for sock in sockets:
            if self._serving:
                self._loop.remove_reader(sock.fileno())
        self._serving = False
        for sock in sockets:
            sock.close()
        self._cleanup_unix_path()
        fut = self._serving_forever
        if fut is not None and not fut.done():
            fut.cancel()
            self._serving_forever = None
        if not self._clients:
            self._wake_up()

    def _cleanup_unix_path(self) -> None:
        path = self._unix_path
        if path is None:
            return
        self._unix_path = None
        try:
            if os.stat(path).st_ino == self._unix_inode:
                os.unlink(path)
        except OSError:
            pass

    def close_clients(self) -> None:
        """Close every connection accepted by this server (after flushing)."""
        for transport in list(self._clients):
            transport.close()

    def abort_clients(self) -> None:
        """Abort every connection accepted by this server."""
        for transport in list(self._clients):
            transport.abort()

    async def start_serving(self) -> None:
        """Start accepting connections (no-op when already serving)."""
        if self._sockets is None:
            raise RuntimeError(f"server {self!r} is closed")
        self._start_serving()

    async def serve_forever(self) -> None:
        """Accept connections until cancelled; closes the server on cancellation."""
        if self._serving_forever is not None:
            raise RuntimeError(f"server {self!r} is already being awaited on serve_forever()")
        if self._sockets is None:
            raise RuntimeError(f"server {self!r} is closed")
        self._start_serving()
        fut: asyncio.Future[None] = self._loop.create_future()
        self._serving_forever = fut
        try:
            await future_wait(fut)
        except asyncio.CancelledError as exc:
            self.close()
            await self.wait_closed()
            raise exc
        finally:
            self._serving_forever = None

    async def wait_closed(self) -> None:
        """Wait until the server is closed and all its connections are gone."""
        waiters = self._waiters
        if waiters is None:
            return
        waiter: asyncio.Future[None] = self._loop.create_future()
        waiters.append(waiter)
        await future_wait(waiter)


# What create_server and create_unix_server instantiate: the public Server, an
# interpreted subclass (see corolla.transports._public, which registers it here
# when the package is imported).
server_class: Any = None


def _hosts(host: Any) -> list[Any]:
    if host == "" or host is None:
        return [None]
    if isinstance(host, (str, bytes)) or not isinstance(host, Iterable):
        return [host]
    return list(host)


async def create_server(
    loop: asyncio.AbstractEventLoop,
    protocol_factory: Callable[[], asyncio.BaseProtocol],
    host: Any = None,
    port: Any = None,
    *,
    family: int = socket.AF_UNSPEC,
    flags: int = socket.AI_PASSIVE,
    sock: socket.socket | None = None,
    backlog: int = 100,
    ssl: Any = None,
    reuse_address: object = None,
    reuse_port: object = None,
    keep_alive: object = None,
    ssl_handshake_timeout: float | None = None,
    ssl_shutdown_timeout: float | None = None,
    start_serving: object = True,
) -> Server:
    """Listen on ``host``/``port`` (a host, a list of hosts, or all interfaces) or on ``sock``.

    Same arguments and errors as :meth:`asyncio.loop.create_server`, with the
    loop first. One listening socket is made per resolved address (IPv6
    sockets are IPv6-only so that dual-stack binds work).
    """
    if ssl is not None and not isinstance(ssl, ssl_module.SSLContext):
        raise TypeError("ssl argument must be an SSLContext or None")
    check_ssl_arguments(ssl, ssl_handshake_timeout, ssl_shutdown_timeout)
    check_not_ssl_socket(sock)
    sockets: list[socket.socket] = []
    if host is not None or port is not None:
        if sock is not None:
            raise ValueError("host/port and sock can not be specified at the same time")
        if reuse_address is None:
            reuse_address = os.name == "posix" and sys.platform != "cygwin"
        infos: list[tuple[Any, Any, int, str, Any]] = []
        for one_host in _hosts(host):
            found = await coroutine_wait(
                loop.getaddrinfo(
                    one_host, port, family=family, type=socket.SOCK_STREAM, flags=flags
                )
            )
            if not found:
                raise OSError(f"getaddrinfo({one_host!r}) returned empty list")
            infos.extend(found)
        seen: set[Any] = set()
        try:
            for af, socktype, proto, _, address in infos:
                key = (af, socktype, proto, address)
                if key in seen:
                    continue
                seen.add(key)
                try:
                    listener = socket.socket(af, socktype, proto)
                except OSError:
                    continue
                sockets.append(listener)
                if reuse_address:
                    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if reuse_port:
                    if not hasattr(socket, "SO_REUSEPORT"):
                        raise ValueError("reuse_port not supported by socket module")
                    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                if keep_alive:
                    listener.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
                if af == socket.AF_INET6 and hasattr(socket, "IPPROTO_IPV6"):
                    listener.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                try:
                    listener.bind(address)
                except OSError as exc:
                    raise OSError(
                        exc.errno,
                        f"error while attempting to bind on address {address!r}: "
                        f"{(exc.strerror or '').lower()}",
                    ) from None
            if not sockets:
                raise OSError("could not create any listening socket")
        except BaseException:
            for listener in sockets:
                listener.close()
            raise
    else:
        if sock is None:
            raise ValueError("Neither host/port nor sock were specified")
        if sock.type != socket.SOCK_STREAM:
            raise ValueError(f"A Stream Socket was expected, got {sock!r}")
        sockets = [sock]
    for listener in sockets:
        listener.setblocking(False)
    server: Server = server_class(
        loop,
        sockets,
        protocol_factory,
        backlog,
        ssl=ssl,
        ssl_handshake_timeout=ssl_handshake_timeout,
        ssl_shutdown_timeout=ssl_shutdown_timeout,
    )
    if start_serving:
        server._start_serving()
    return server


async def create_unix_server(
    loop: asyncio.AbstractEventLoop,
    protocol_factory: Callable[[], asyncio.BaseProtocol],
    path: Any = None,
    *,
    sock: socket.socket | None = None,
    backlog: int = 100,
    ssl: Any = None,
    ssl_handshake_timeout: float | None = None,
    ssl_shutdown_timeout: float | None = None,
    start_serving: object = True,
    cleanup_socket: object = True,
) -> Server:
    """Listen on the Unix socket ``path`` (a stale socket file there is replaced) or on ``sock``.

    With ``cleanup_socket`` (the default) the socket file is removed when the
    server closes, unless something else has replaced it meanwhile.
    """
    if ssl is not None and not isinstance(ssl, ssl_module.SSLContext):
        raise TypeError("ssl argument must be an SSLContext or None")
    check_ssl_arguments(ssl, ssl_handshake_timeout, ssl_shutdown_timeout)
    check_not_ssl_socket(sock)
    if path is not None:
        if sock is not None:
            raise ValueError("path and sock can not be specified at the same time")
        path = os.fspath(path)
        abstract = path[0] in (0, "\x00") if path else False
        if not abstract:
            try:
                if stat.S_ISSOCK(os.stat(path).st_mode):
                    os.remove(path)
            except FileNotFoundError:
                pass
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(path)
        except OSError as exc:
            sock.close()
            if exc.errno == errno.EADDRINUSE:
                raise OSError(errno.EADDRINUSE, f"Address {path!r} is already in use") from None
            raise
        except BaseException:
            sock.close()
            raise
    else:
        if sock is None:
            raise ValueError("path was not specified, and no sock specified")
        if sock.family != socket.AF_UNIX or sock.type != socket.SOCK_STREAM:
            raise ValueError(f"A UNIX Domain Stream Socket was expected, got {sock!r}")
    unix_path: str | None = None
    inode: int | None = None
    if cleanup_socket:
        name = sock.getsockname()
        if isinstance(name, str) and name and name[0] != "\x00":
            try:
                inode = os.stat(name).st_ino
                unix_path = name
            except OSError:
                pass
    sock.setblocking(False)
    server: Server = server_class(
        loop,
        [sock],
        protocol_factory,
        backlog,
        unix_path=unix_path,
        unix_inode=inode,
        ssl=ssl,
        ssl_handshake_timeout=ssl_handshake_timeout,
        ssl_shutdown_timeout=ssl_shutdown_timeout,
    )
    if start_serving:
        server._start_serving()
    return server
