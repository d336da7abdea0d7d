"""sock_* operations, DNS and executors (these need corolla.tasks.Task on the corolla loop)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import io
import os
import socket
import tempfile
import threading
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest

pytestmark = pytest.mark.usefixtures("need_tasks")


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    yield a, b
    a.close()
    b.close()


def test_sock_recv_waits_for_data(
    any_loop: asyncio.AbstractEventLoop, pair: tuple[socket.socket, socket.socket]
) -> None:
    a, b = pair

    async def main() -> bytes:
        any_loop.call_soon(b.send, b"ping")
        return await any_loop.sock_recv(a, 100)

    assert any_loop.run_until_complete(main()) == b"ping"


def test_sock_recv_into(
    any_loop: asyncio.AbstractEventLoop, pair: tuple[socket.socket, socket.socket]
) -> None:
    a, b = pair
    buf = bytearray(10)

    async def main() -> int:
        any_loop.call_soon(b.send, b"abc")
        return await any_loop.sock_recv_into(a, buf)

    assert any_loop.run_until_complete(main()) == 3
    assert buf[:3] == b"abc"


def test_sock_sendall_large_payload(
    any_loop: asyncio.AbstractEventLoop, pair: tuple[socket.socket, socket.socket]
) -> None:
    a, b = pair
    payload = os.urandom(4 * 1024 * 1024)  # bigger than the socket buffers

    async def reader() -> bytes:
        chunks = []
        total = 0
        while total < len(payload):
            data = await any_loop.sock_recv(b, 1 << 16)
            chunks.append(data)
            total += len(data)
        return b"".join(chunks)

    async def main() -> bytes:
        reading = any_loop.create_task(reader())
        await any_loop.sock_sendall(a, memoryview(payload))
        return await reading

    assert any_loop.run_until_complete(main()) == payload


def test_sock_recv_eof(
    any_loop: asyncio.AbstractEventLoop, pair: tuple[socket.socket, socket.socket]
) -> None:
    a, b = pair
    b.shutdown(socket.SHUT_WR)
    assert any_loop.run_until_complete(any_loop.sock_recv(a, 10)) == b""


def test_cancelled_sock_recv_unregisters_reader(
    any_loop: asyncio.AbstractEventLoop, pair: tuple[socket.socket, socket.socket]
) -> None:
    a, b = pair

    async def main() -> bytes:
        task = any_loop.create_task(any_loop.sock_recv(a, 10))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # the data sent after the cancel is still there for the next read
        b.send(b"kept")
        return await any_loop.sock_recv(a, 10)

    assert any_loop.run_until_complete(main()) == b"kept"
    assert not any_loop.remove_reader(a)


def test_blocking_socket_is_refused(loop: asyncio.AbstractEventLoop) -> None:
    # The stdlib loop checks this only in debug mode; corolla always does.
    a, b = socket.socketpair()
    try:
        makers: list[Callable[[], Coroutine[Any, Any, Any]]] = [
            lambda: loop.sock_recv(a, 1),
            lambda: loop.sock_sendall(a, b"x"),
            lambda: loop.sock_recv_into(a, bytearray(1)),
            lambda: loop.sock_accept(a),
            lambda: loop.sock_connect(a, ("127.0.0.1", 1)),
        ]
        for make in makers:
            with pytest.raises(ValueError, match="non-blocking"):
                loop.run_until_complete(make())
    finally:
        a.close()
        b.close()


def test_sock_ops_on_closed_loop(any_loop: asyncio.AbstractEventLoop) -> None:
    a, b = socket.socketpair()
    a.setblocking(False)
    try:
        any_loop.close()
        coro = any_loop.sock_recv(a, 1)
        with pytest.raises(RuntimeError, match="closed"):
            coro.send(None)  # the coroutine finished by raising
    finally:
        a.close()
        b.close()


def test_tcp_accept_connect_by_name(any_loop: asyncio.AbstractEventLoop) -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.setblocking(False)
    port = listener.getsockname()[1]
    client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    client.setblocking(False)

    async def main() -> bytes:
        accepting = any_loop.create_task(any_loop.sock_accept(listener))
        await any_loop.sock_connect(client, ("localhost", port))  # needs resolution
        conn, _addr = await accepting
        with conn:
            assert conn.gettimeout() == 0
            await any_loop.sock_sendall(client, b"over tcp")
            return await any_loop.sock_recv(conn, 100)

    try:
        assert any_loop.run_until_complete(main()) == b"over tcp"
    finally:
        client.close()
        listener.close()


def test_sock_connect_refused(any_loop: asyncio.AbstractEventLoop) -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    client = socket.socket()
    client.setblocking(False)
    try:
        with pytest.raises(ConnectionRefusedError):
            any_loop.run_until_complete(any_loop.sock_connect(client, ("127.0.0.1", port)))
    finally:
        client.close()


def test_udp_sendto_recvfrom(any_loop: asyncio.AbstractEventLoop) -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    server.setblocking(False)
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client.setblocking(False)
    address = server.getsockname()

    async def main() -> tuple[bytes, int]:
        receiving = any_loop.create_task(any_loop.sock_recvfrom(server, 100))
        await asyncio.sleep(0)
        sent = await any_loop.sock_sendto(client, b"datagram", address)
        data, _ = await receiving
        await any_loop.sock_sendto(client, b"second", address)
        buf = bytearray(100)
        nbytes, _ = await any_loop.sock_recvfrom_into(server, buf)
        assert buf[:nbytes] == b"second"
        nbytes, _ = await _send_and_recv_into(buf)
        assert buf[:nbytes] == b"thi"
        return data, sent

    async def _send_and_recv_into(buf: bytearray) -> tuple[int, object]:
        await any_loop.sock_sendto(client, b"third", address)
        return await any_loop.sock_recvfrom_into(server, buf, 3)

    try:
        assert any_loop.run_until_complete(main()) == (b"datagram", 8)
    finally:
        client.close()
        server.close()


def test_sock_sendfile_native_and_fallback(
    any_loop: asyncio.AbstractEventLoop, pair: tuple[socket.socket, socket.socket]
) -> None:
    a, b = pair
    content = os.urandom(300_000)

    async def drain(n: int) -> bytes:
        chunks = []
        got = 0
        while got < n:
            data = await any_loop.sock_recv(b, 1 << 16)
            chunks.append(data)
            got += len(data)
        return b"".join(chunks)

    async def main(file: object, offset: int, count: int | None) -> tuple[int, bytes]:
        expect = len(content) - offset if count is None else count
        reading = any_loop.create_task(drain(expect))
        sent = await any_loop.sock_sendfile(a, file, offset, count)  # type: ignore[arg-type]
        return sent, await reading

    with tempfile.TemporaryFile() as f:
        f.write(content)
        f.seek(0)
        sent, data = any_loop.run_until_complete(main(f, 0, None))
        assert (sent, data) == (len(content), content)
        assert f.tell() == len(content)
        sent, data = any_loop.run_until_complete(main(f, 1000, 5000))
        assert (sent, data) == (5000, content[1000:6000])
        assert f.tell() == 6000
    # BytesIO has no fileno: the read/send fallback does the work
    buffer = io.BytesIO(content)
    sent, data = any_loop.run_until_complete(main(buffer, 10, None))
    assert (sent, data) == (len(content) - 10, content[10:])


def test_sock_sendfile_fallback_takes_any_truth_value(
    any_loop: asyncio.AbstractEventLoop, pair: tuple[socket.socket, socket.socket]
) -> None:
    # asyncio tests fallback for its truth; the compiled build once raised
    # TypeError for fallback=1.
    a, b = pair

    async def main() -> bytes:
        sent = await any_loop.sock_sendfile(a, io.BytesIO(b"abc"), fallback=1)  # type: ignore[arg-type]
        assert sent == 3
        return await any_loop.sock_recv(b, 3)

    assert any_loop.run_until_complete(main()) == b"abc"
    with pytest.raises(asyncio.SendfileNotAvailableError):
        any_loop.run_until_complete(any_loop.sock_sendfile(a, io.BytesIO(b"x"), fallback=0))  # type: ignore[arg-type]


def test_sock_sendfile_errors(
    any_loop: asyncio.AbstractEventLoop, pair: tuple[socket.socket, socket.socket]
) -> None:
    a, _ = pair
    with pytest.raises(asyncio.SendfileNotAvailableError):
        any_loop.run_until_complete(any_loop.sock_sendfile(a, io.BytesIO(b"x"), fallback=False))
    with tempfile.TemporaryFile("w+") as text:
        with pytest.raises(ValueError, match="binary"):
            any_loop.run_until_complete(any_loop.sock_sendfile(a, text))  # type: ignore[arg-type]
    with tempfile.TemporaryFile() as f:
        with pytest.raises(ValueError):
            any_loop.run_until_complete(any_loop.sock_sendfile(a, f, -1))
        with pytest.raises(ValueError):
            any_loop.run_until_complete(any_loop.sock_sendfile(a, f, 0, 0))
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.setblocking(False)
    try:
        with tempfile.TemporaryFile() as f, pytest.raises(ValueError, match="SOCK_STREAM"):
            any_loop.run_until_complete(any_loop.sock_sendfile(udp, f))
    finally:
        udp.close()


def test_getaddrinfo_and_getnameinfo(any_loop: asyncio.AbstractEventLoop) -> None:
    infos = any_loop.run_until_complete(
        any_loop.getaddrinfo("127.0.0.1", 80, family=socket.AF_INET, type=socket.SOCK_STREAM)
    )
    assert infos[0][4] == ("127.0.0.1", 80)
    host, port = any_loop.run_until_complete(
        any_loop.getnameinfo(("127.0.0.1", 80), socket.NI_NUMERICHOST | socket.NI_NUMERICSERV)
    )
    assert (host, port) == ("127.0.0.1", "80")
    with pytest.raises(socket.gaierror):
        any_loop.run_until_complete(any_loop.getaddrinfo("no-such-host.invalid", 80))


def test_run_in_executor_default_and_custom(any_loop: asyncio.AbstractEventLoop) -> None:
    main_thread = threading.get_ident()

    async def main() -> tuple[int, bool, str]:
        value = await any_loop.run_in_executor(None, sum, [1, 2, 3])
        other = await any_loop.run_in_executor(None, threading.get_ident)
        with concurrent.futures.ThreadPoolExecutor(thread_name_prefix="custom") as pool:
            name = await any_loop.run_in_executor(pool, lambda: threading.current_thread().name)
        return value, other != main_thread, name

    value, other_thread, name = any_loop.run_until_complete(main())
    assert value == 6
    assert other_thread
    assert name.startswith("custom")


def test_run_in_executor_exception(any_loop: asyncio.AbstractEventLoop) -> None:
    def fail() -> None:
        raise LookupError("in thread")

    with pytest.raises(LookupError, match="in thread"):
        any_loop.run_until_complete(any_loop.run_in_executor(None, fail))


def test_set_default_executor(any_loop: asyncio.AbstractEventLoop) -> None:
    with pytest.raises(TypeError):
        any_loop.set_default_executor(object())  # type: ignore[arg-type]
    pool = concurrent.futures.ThreadPoolExecutor(thread_name_prefix="mine")
    any_loop.set_default_executor(pool)
    name = any_loop.run_until_complete(
        any_loop.run_in_executor(None, lambda: threading.current_thread().name)
    )
    assert name.startswith("mine")
    any_loop.run_until_complete(any_loop.shutdown_default_executor())


def test_executor_after_shutdown_is_refused(any_loop: asyncio.AbstractEventLoop) -> None:
    any_loop.run_until_complete(any_loop.run_in_executor(None, int))
    any_loop.run_until_complete(any_loop.shutdown_default_executor())
    with pytest.raises(RuntimeError, match="shutdown"):
        any_loop.run_in_executor(None, int)


def test_shutdown_default_executor_timeout_warns(loop: asyncio.AbstractEventLoop) -> None:
    release = threading.Event()
    started = threading.Event()

    def blocked() -> None:
        started.set()
        release.wait(60)  # hang guard

    fut = loop.run_in_executor(None, blocked)
    started.wait(60)
    with pytest.warns(RuntimeWarning, match="did not finish"):
        loop.run_until_complete(loop.shutdown_default_executor(timeout=0))  # type: ignore[call-arg,unused-ignore]
    release.set()
    loop.run_until_complete(fut)


def test_run_in_executor_on_closed_loop(any_loop: asyncio.AbstractEventLoop) -> None:
    any_loop.close()
    with pytest.raises(RuntimeError, match="closed"):
        any_loop.run_in_executor(None, int)


def test_kept_reader_registration_survives_fd_reuse(loop: asyncio.AbstractEventLoop) -> None:
    # corolla keeps a finished sock_recv's epoll registration for the next read;
    # closing the socket and reusing its fd number must not lose events.
    async def exchange() -> bytes:
        a, b = socket.socketpair()
        a.setblocking(False)
        try:
            loop.call_soon(b.send, b"one")
            first = await loop.sock_recv(a, 10)
            loop.call_soon(b.send, b"two")
            return first + await loop.sock_recv(a, 10)
        finally:
            a.close()
            b.close()

    async def generic_reader() -> bytes:
        c, d = socket.socketpair()
        try:
            got = loop.create_future()

            def on_read() -> None:
                loop.remove_reader(c)
                got.set_result(c.recv(10))

            loop.add_reader(c, on_read)
            d.send(b"generic")
            data: bytes = await got
            return data
        finally:
            c.close()
            d.close()

    for _ in range(3):
        assert loop.run_until_complete(exchange()) == b"onetwo"
        assert loop.run_until_complete(generic_reader()) == b"generic"


def test_kept_reader_registration_dropped_when_data_arrives_unread(
    loop: asyncio.AbstractEventLoop, pair: tuple[socket.socket, socket.socket]
) -> None:
    a, b = pair

    async def main() -> bytes:
        loop.call_soon(b.send, b"x")
        data = await loop.sock_recv(a, 10)
        b.send(b"unread")  # nobody reads: the kept registration fires once, then goes
        for _ in range(3):
            await asyncio.sleep(0)
        return data

    assert loop.run_until_complete(main()) == b"x"
    assert a.fileno() not in loop._lazy_readers  # type: ignore[attr-defined]
    assert a.fileno() not in loop._fd_mask  # type: ignore[attr-defined]
    assert loop.run_until_complete(loop.sock_recv(a, 10)) == b"unread"


def test_run_in_executor_concurrent_cancelled_error(any_loop: asyncio.AbstractEventLoop) -> None:
    def cancelled_in_thread() -> None:
        raise concurrent.futures.CancelledError

    with pytest.raises(asyncio.CancelledError):
        any_loop.run_until_complete(any_loop.run_in_executor(None, cancelled_in_thread))


def test_run_in_executor_cancel_cancels_pending_job(loop: asyncio.AbstractEventLoop) -> None:
    release = threading.Event()
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        blocker = loop.run_in_executor(pool, release.wait, 60)  # hang guard
        queued = loop.run_in_executor(pool, int)

        async def main() -> None:
            queued.cancel()
            release.set()
            await blocker

        loop.run_until_complete(main())
        assert queued.cancelled()
    finally:
        release.set()
        pool.shutdown(wait=True)
