"""create_connection (with Happy Eyeballs), Unix connections, connect_accepted_socket."""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import ssl as ssl_module
from collections.abc import Callable
from typing import Any

from corolla.transports import _stream
from corolla.transports._await import coroutine_wait, future_wait
from corolla.transports._tls import TLSProtocol, check_timeout, default_client_context

AddrInfo = tuple[Any, Any, int, str, Any]


def check_ssl_arguments(
    ssl: Any,
    ssl_handshake_timeout: float | None,
    ssl_shutdown_timeout: float | None,
) -> None:
    """Reject TLS-only options given without ssl, and timeouts that are not positive."""
    check_timeout("ssl_handshake_timeout", ssl_handshake_timeout)
    check_timeout("ssl_shutdown_timeout", ssl_shutdown_timeout)
    if not ssl:
        if ssl_handshake_timeout is not None:
            raise ValueError("ssl_handshake_timeout is only meaningful with ssl")
        if ssl_shutdown_timeout is not None:
            raise ValueError("ssl_shutdown_timeout is only meaningful with ssl")


def check_not_ssl_socket(sock: socket.socket | None) -> None:
    if sock is not None and isinstance(sock, ssl_module.SSLSocket):
        raise TypeError("Socket cannot be of type SSLSocket")


async def make_connection(
    loop: asyncio.AbstractEventLoop,
    sock: socket.socket,
    protocol_factory: Callable[[], asyncio.BaseProtocol],
    extra: dict[str, Any] | None = None,
    *,
    ssl: Any = None,
    server_hostname: str | None = None,
    ssl_handshake_timeout: float | None = None,
    ssl_shutdown_timeout: float | None = None,
    server_side: bool = False,
) -> tuple[asyncio.Transport, asyncio.BaseProtocol]:
    """Wrap a connected socket in a transport (TLS client side when ``ssl``) and wait
    for connection_made (after the handshake, with TLS)."""
    sock.setblocking(False)
    protocol = protocol_factory()
    waiter: asyncio.Future[None] = loop.create_future()
    if ssl:
        context = ssl if isinstance(ssl, ssl_module.SSLContext) else default_client_context()
        layer = TLSProtocol(
            loop,
            protocol,
            context,
            waiter,
            server_side=server_side,
            server_hostname=server_hostname,
            handshake_timeout=ssl_handshake_timeout,
            shutdown_timeout=ssl_shutdown_timeout,
        )
        app_transport = layer._app_transport
        assert app_transport is not None
        transport: asyncio.Transport = _stream.socket_transport_class(
            loop, sock, layer, None, extra=extra
        )
        try:
            await future_wait(waiter)
        except BaseException:
            layer.abort()
            raise
        return app_transport, protocol
    transport = _stream.socket_transport_class(loop, sock, protocol, waiter, extra=extra)
    try:
        await future_wait(waiter)
    except BaseException:
        transport.close()
        raise
    return transport, protocol


def interleave_addrinfos(infos: list[AddrInfo], first_count: int = 1) -> list[AddrInfo]:
    """Order addresses RFC 8305 style: ``first_count`` of the first family, then alternate."""
    by_family: dict[int, list[AddrInfo]] = {}
    for info in infos:
        by_family.setdefault(info[0], []).append(info)
    groups = list(by_family.values())
    result: list[AddrInfo] = []
    if first_count > 1 and groups:
        result.extend(groups[0][: first_count - 1])
        groups[0] = groups[0][first_count - 1 :]
    for batch in itertools.zip_longest(*groups):
        result.extend(info for info in batch if info is not None)
    return result


async def _connect_one(
    loop: asyncio.AbstractEventLoop,
    info: AddrInfo,
    local_infos: list[AddrInfo] | None,
) -> socket.socket:
    family, type_, proto, _, address = info
    sock = socket.socket(family=family, type=type_, proto=proto)
    try:
        sock.setblocking(False)
        if local_infos is not None:
            bound = False
            bind_errors: list[OSError] = []
            for local in local_infos:
                if local[0] != family:
                    continue
                try:
                    sock.bind(local[4])
                    bound = True
                    break
                except OSError as exc:
                    bind_errors.append(
                        OSError(
                            exc.errno,
                            f"error while attempting to bind on address {local[4]!r}: "
                            f"{(exc.strerror or '').lower()}",
                        )
                    )
            if not bound:
                if bind_errors:
                    raise bind_errors[0]
                raise OSError(f"no matching local address with family={family} found")
        await coroutine_wait(loop.sock_connect(sock, address))
    except BaseException:
        sock.close()
        raise
    return sock


def _join_errors(errors: list[BaseException], all_errors: object) -> BaseException:
    if all_errors:
        return ExceptionGroup("create_connection failed", list(errors))  # type: ignore[type-var]
    if not errors:
        return OSError("no address to connect to")
    if len(errors) == 1:
        return errors[0]
    first = str(errors[0])
    if all(str(e) == first for e in errors):
        return errors[0]
    return OSError("Multiple exceptions: {}".format(", ".join(str(e) for e in errors)))


async def _wait_finished(loop: asyncio.AbstractEventLoop, tasks: list[asyncio.Task[Any]]) -> None:
    pending = [t for t in tasks if not t.done()]
    if not pending:
        return
    waiter: asyncio.Future[None] = loop.create_future()
    left = [len(pending)]

    def one_done(_: asyncio.Task[Any]) -> None:
        left[0] -= 1
        if left[0] == 0 and not waiter.done():
            waiter.set_result(None)

    for task in pending:
        task.add_done_callback(one_done)
    await future_wait(waiter)


async def staggered_connect(
    loop: asyncio.AbstractEventLoop,
    infos: list[AddrInfo],
    local_infos: list[AddrInfo] | None,
    delay: float,
) -> tuple[socket.socket | None, list[BaseException]]:
    """Race connection attempts, starting one more every ``delay`` seconds or on failure.

    Returns the first connected socket (the others are cancelled and closed)
    or None with every attempt's error, in address order.
    """
    errors: list[BaseException | None] = [None] * len(infos)
    tasks: list[asyncio.Task[Any]] = []
    done: asyncio.Future[None] = loop.create_future()
    state: dict[str, Any] = {"next": 0, "timer": None, "winner": None, "failed": 0}

    def start_next() -> None:
        timer = state["timer"]
        if timer is not None:
            timer.cancel()
            state["timer"] = None
        if state["winner"] is not None or done.done():
            return
        index: int = state["next"]
        if index >= len(infos):
            return
        state["next"] = index + 1
        tasks.append(loop.create_task(attempt(index)))
        if index + 1 < len(infos):
            state["timer"] = loop.call_later(delay, start_next)

    async def attempt(index: int) -> None:
        try:
            sock = await _connect_one(loop, infos[index], local_infos)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            errors[index] = exc
            state["failed"] += 1
            if state["failed"] == len(infos):
                if not done.done():
                    done.set_result(None)
            else:
                start_next()
            return
        if state["winner"] is None and not done.done():
            state["winner"] = sock
            done.set_result(None)
        else:
            sock.close()

    def stop_all() -> None:
        timer = state["timer"]
        if timer is not None:
            timer.cancel()
        for task in tasks:
            task.cancel()

    start_next()
    # No await inside ``finally``: compiled code must re-raise a cancellation
    # after the attempts are cleaned up, so the two paths are spelled out.
    try:
        await future_wait(done)
    except BaseException as exc:
        stop_all()
        await _wait_finished(loop, tasks)
        raise exc
    stop_all()
    await _wait_finished(loop, tasks)
    winner: socket.socket | None = state["winner"]
    return winner, [e for e in errors if e is not None]


async def open_connection_socket(
    loop: asyncio.AbstractEventLoop,
    host: Any,
    port: Any,
    *,
    family: int = 0,
    proto: int = 0,
    flags: int = 0,
    local_addr: Any = None,
    happy_eyeballs_delay: float | None = None,
    interleave: int | None = None,
    all_errors: object = False,
) -> socket.socket:
    """Resolve ``host``/``port`` and return a connected non-blocking socket."""
    if happy_eyeballs_delay is not None and interleave is None:
        interleave = 1
    infos: list[AddrInfo] = list(
        await coroutine_wait(
            loop.getaddrinfo(
                host, port, family=family, type=socket.SOCK_STREAM, proto=proto, flags=flags
            )
        )
    )
    if not infos:
        raise OSError("getaddrinfo() returned empty list")
    local_infos: list[AddrInfo] | None = None
    if local_addr is not None:
        local_infos = list(
            await coroutine_wait(
                loop.getaddrinfo(
                    *local_addr, family=family, type=socket.SOCK_STREAM, proto=proto, flags=flags
                )
            )
        )
        if not local_infos:
            raise OSError("getaddrinfo() returned empty list")
    if interleave:
        infos = interleave_addrinfos(infos, interleave)
    errors: list[BaseException] = []
    if happy_eyeballs_delay is None:
        for info in infos:
            try:
                return await _connect_one(loop, info, local_infos)
            except OSError as exc:
                errors.append(exc)
    else:
        sock, errors = await staggered_connect(loop, infos, local_infos, happy_eyeballs_delay)
        if sock is not None:
            return sock
    raise _join_errors(errors, all_errors)


async def create_connection(
    loop: asyncio.AbstractEventLoop,
    protocol_factory: Callable[[], asyncio.BaseProtocol],
    host: Any = None,
    port: Any = None,
    *,
    ssl: Any = None,
    family: int = 0,
    proto: int = 0,
    flags: int = 0,
    sock: socket.socket | None = None,
    local_addr: Any = None,
    server_hostname: str | None = None,
    ssl_handshake_timeout: float | None = None,
    ssl_shutdown_timeout: float | None = None,
    happy_eyeballs_delay: float | None = None,
    interleave: int | None = None,
    all_errors: object = False,
) -> tuple[asyncio.Transport, asyncio.BaseProtocol]:
    """Open a stream connection to ``host``/``port`` (or wrap ``sock``).

    Same arguments and errors as :meth:`asyncio.loop.create_connection`, with
    the loop first. Addresses are tried in order, or raced RFC 8305 style when
    ``happy_eyeballs_delay`` is given. Returns ``(transport, protocol)``.
    """
    if server_hostname is not None and not ssl:
        raise ValueError("server_hostname is only meaningful with ssl")
    if server_hostname is None and ssl:
        if not host:
            raise ValueError("You must set server_hostname when using ssl without a host")
        server_hostname = host
    check_ssl_arguments(ssl, ssl_handshake_timeout, ssl_shutdown_timeout)
    check_not_ssl_socket(sock)
    if host is not None or port is not None:
        if sock is not None:
            raise ValueError("host/port and sock can not be specified at the same time")
    else:
        if sock is None:
            raise ValueError("host and port was not specified and no sock specified")
        if sock.type != socket.SOCK_STREAM:
            raise ValueError(f"A Stream Socket was expected, got {sock!r}")
        if local_addr is not None:
            raise ValueError("local_addr can not be specified with sock")
    if sock is None:
        sock = await open_connection_socket(
            loop,
            host,
            port,
            family=family,
            proto=proto,
            flags=flags,
            local_addr=local_addr,
            happy_eyeballs_delay=happy_eyeballs_delay,
            interleave=interleave,
            all_errors=all_errors,
        )
    try:
        return await make_connection(
            loop,
            sock,
            protocol_factory,
            ssl=ssl,
            server_hostname=server_hostname,
            ssl_handshake_timeout=ssl_handshake_timeout,
            ssl_shutdown_timeout=ssl_shutdown_timeout,
        )
    except BaseException:
        sock.close()
        raise


async def create_unix_connection(
    loop: asyncio.AbstractEventLoop,
    protocol_factory: Callable[[], asyncio.BaseProtocol],
    path: Any = None,
    *,
    ssl: Any = None,
    sock: socket.socket | None = None,
    server_hostname: str | None = None,
    ssl_handshake_timeout: float | None = None,
    ssl_shutdown_timeout: float | None = None,
) -> tuple[asyncio.Transport, asyncio.BaseProtocol]:
    """Open a Unix stream connection to ``path`` (or wrap ``sock``)."""
    if server_hostname is not None and not ssl:
        raise ValueError("server_hostname is only meaningful with ssl")
    if ssl and server_hostname is None:
        raise ValueError("you have to pass server_hostname when using ssl")
    check_ssl_arguments(ssl, ssl_handshake_timeout, ssl_shutdown_timeout)
    check_not_ssl_socket(sock)
    if path is not None:
        if sock is not None:
            raise ValueError("path and sock can not be specified at the same time")
        path = os.fspath(path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM, 0)
        try:
            sock.setblocking(False)
            await coroutine_wait(loop.sock_connect(sock, path))
        except BaseException:
            sock.close()
            raise
    else:
        if sock is None:
            raise ValueError("no path and sock were specified")
        if sock.family != socket.AF_UNIX or sock.type != socket.SOCK_STREAM:
            raise ValueError(f"A UNIX Domain Stream Socket was expected, got {sock!r}")
    try:
        return await make_connection(
            loop,
            sock,
            protocol_factory,
            ssl=ssl,
            server_hostname=server_hostname,
            ssl_handshake_timeout=ssl_handshake_timeout,
            ssl_shutdown_timeout=ssl_shutdown_timeout,
        )
    except BaseException:
        sock.close()
        raise


async def connect_accepted_socket(
    loop: asyncio.AbstractEventLoop,
    protocol_factory: Callable[[], asyncio.BaseProtocol],
    sock: socket.socket,
    *,
    ssl: Any = None,
    ssl_handshake_timeout: float | None = None,
    ssl_shutdown_timeout: float | None = None,
) -> tuple[asyncio.Transport, asyncio.BaseProtocol]:
    """Wrap a socket accepted outside the loop in a transport."""
    if sock.type != socket.SOCK_STREAM:
        raise ValueError(f"A Stream Socket was expected, got {sock!r}")
    check_ssl_arguments(ssl, ssl_handshake_timeout, ssl_shutdown_timeout)
    check_not_ssl_socket(sock)
    if ssl and not isinstance(ssl, ssl_module.SSLContext):
        raise TypeError("ssl argument must be an SSLContext or None")
    return await make_connection(
        loop,
        sock,
        protocol_factory,
        ssl=ssl,
        ssl_handshake_timeout=ssl_handshake_timeout,
        ssl_shutdown_timeout=ssl_shutdown_timeout,
        server_side=True,
    )
