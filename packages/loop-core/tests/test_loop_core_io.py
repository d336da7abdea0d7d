"""add_reader/add_writer, the selectors fallback, signals."""

from __future__ import annotations

import asyncio
import os
import selectors
import signal
import socket
import threading

import pytest

from corolla.loop import EventLoop


def test_reader_fires_on_data_and_is_removed(any_loop: asyncio.AbstractEventLoop) -> None:
    rfd, wfd = os.pipe()
    try:
        seen: list[bytes] = []

        def on_readable() -> None:
            seen.append(os.read(rfd, 100))
            assert any_loop.remove_reader(rfd)
            any_loop.stop()

        any_loop.add_reader(rfd, on_readable)
        os.write(wfd, b"hello")
        any_loop.run_forever()
        assert seen == [b"hello"]
        assert not any_loop.remove_reader(rfd)
    finally:
        os.close(rfd)
        os.close(wfd)


def test_writer_fires_and_is_removed(any_loop: asyncio.AbstractEventLoop) -> None:
    a, b = socket.socketpair()
    try:
        seen: list[str] = []

        def on_writable(tag: str) -> None:
            seen.append(tag)
            assert any_loop.remove_writer(a)
            any_loop.stop()

        any_loop.add_writer(a, on_writable, "w")
        any_loop.run_forever()
        assert seen == ["w"]
        assert not any_loop.remove_writer(a)
    finally:
        a.close()
        b.close()


def test_reader_and_writer_on_same_fd(any_loop: asyncio.AbstractEventLoop) -> None:
    a, b = socket.socketpair()
    try:
        events: list[str] = []

        def on_read() -> None:
            events.append("r")
            a.recv(10)
            any_loop.remove_reader(a)
            any_loop.stop()

        def on_write() -> None:
            events.append("w")
            any_loop.remove_writer(a)
            b.send(b"x")

        any_loop.add_reader(a, on_read)
        any_loop.add_writer(a, on_write)
        any_loop.run_forever()
        assert events == ["w", "r"]
    finally:
        a.close()
        b.close()


def test_add_reader_replaces_previous_callback(any_loop: asyncio.AbstractEventLoop) -> None:
    a, b = socket.socketpair()
    try:
        seen: list[str] = []

        def cb(tag: str) -> None:
            seen.append(tag)
            a.recv(10)
            any_loop.remove_reader(a)
            any_loop.stop()

        any_loop.add_reader(a, cb, "first")
        any_loop.add_reader(a, cb, "second")
        b.send(b"x")
        any_loop.run_forever()
        assert seen == ["second"]
    finally:
        a.close()
        b.close()


def test_invalid_file_objects(any_loop: asyncio.AbstractEventLoop) -> None:
    with pytest.raises(ValueError):
        any_loop.add_reader(-1, print)
    with pytest.raises(ValueError):
        any_loop.add_writer(object(), print)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        any_loop.remove_reader("not a file")  # type: ignore[arg-type]


def test_closed_fd_is_os_error(any_loop: asyncio.AbstractEventLoop) -> None:
    rfd, wfd = os.pipe()
    os.close(rfd)
    os.close(wfd)
    with pytest.raises(OSError):
        any_loop.add_reader(rfd, print)


def test_reader_on_closed_loop(any_loop: asyncio.AbstractEventLoop) -> None:
    any_loop.close()
    rfd, wfd = os.pipe()
    try:
        with pytest.raises(RuntimeError, match="closed"):
            any_loop.add_reader(rfd, print)
        with pytest.raises(RuntimeError, match="closed"):
            any_loop.add_writer(wfd, print)
        assert not any_loop.remove_reader(rfd)
    finally:
        os.close(rfd)
        os.close(wfd)


def test_fd_used_by_transport_is_guarded(any_loop: asyncio.AbstractEventLoop) -> None:
    class FakeTransport:
        def is_closing(self) -> bool:
            return False

    a, b = socket.socketpair()
    transport = FakeTransport()
    try:
        any_loop._transports[a.fileno()] = transport  # type: ignore[attr-defined]
        with pytest.raises(RuntimeError, match="transport"):
            any_loop.add_reader(a, print)
        with pytest.raises(RuntimeError, match="transport"):
            any_loop.remove_writer(a)
    finally:
        a.close()
        b.close()


def test_reader_callback_exception_goes_to_handler(any_loop: asyncio.AbstractEventLoop) -> None:
    a, b = socket.socketpair()
    contexts: list[dict[str, object]] = []
    any_loop.set_exception_handler(lambda loop, ctx: contexts.append(ctx))
    try:

        def broken() -> None:
            any_loop.remove_reader(a)
            any_loop.stop()
            raise OSError("reader failed")

        any_loop.add_reader(a, broken)
        b.send(b"x")
        any_loop.run_forever()
        assert len(contexts) == 1
        assert isinstance(contexts[0]["exception"], OSError)
    finally:
        a.close()
        b.close()


def test_fd_closed_while_registered_can_be_reused(loop: EventLoop) -> None:
    a, b = socket.socketpair()
    fd = a.fileno()
    loop.add_reader(fd, print)
    a.close()  # the kernel drops it from epoll; our table still has it
    b.close()
    assert loop.remove_reader(fd)  # no error for the fd the kernel already forgot
    c, d = socket.socketpair()
    try:
        seen: list[int] = []

        def on_read() -> None:
            seen.append(1)
            loop.remove_reader(c)
            loop.stop()

        loop.add_reader(c, on_read)
        d.send(b"x")
        loop.run_forever()
        assert seen == [1]
    finally:
        c.close()
        d.close()


def test_selectors_fallback() -> None:
    loop = EventLoop(selector=selectors.SelectSelector())
    a, b = socket.socketpair()
    try:
        seen: list[str] = []

        def on_read() -> None:
            seen.append(a.recv(10).decode())
            loop.remove_reader(a)
            loop.call_later(0.001, loop.stop)

        loop.add_reader(a, on_read)
        thread = threading.Thread(target=lambda: loop.call_soon_threadsafe(b.send, b"hi"))
        thread.start()
        loop.run_forever()
        thread.join()
        assert seen == ["hi"]
    finally:
        a.close()
        b.close()
        loop.close()


# ---------------------------------------------------------------- signals


def test_signal_handler_runs_in_loop(any_loop: asyncio.AbstractEventLoop) -> None:
    seen: list[object] = []

    def on_signal(tag: str) -> None:
        seen.append((tag, threading.current_thread() is threading.main_thread()))
        any_loop.stop()

    any_loop.add_signal_handler(signal.SIGUSR1, on_signal, "usr1")
    try:
        any_loop.call_soon(os.kill, os.getpid(), signal.SIGUSR1)
        any_loop.run_forever()
        assert seen == [("usr1", True)]
    finally:
        assert any_loop.remove_signal_handler(signal.SIGUSR1)
    assert not any_loop.remove_signal_handler(signal.SIGUSR1)
    assert signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL


def test_sigint_handler_restores_default_int_handler(any_loop: asyncio.AbstractEventLoop) -> None:
    any_loop.add_signal_handler(signal.SIGINT, print)
    assert any_loop.remove_signal_handler(signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_invalid_signals(any_loop: asyncio.AbstractEventLoop) -> None:
    with pytest.raises(TypeError):
        any_loop.add_signal_handler("SIGUSR1", print)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        any_loop.add_signal_handler(0, print)
    with pytest.raises(ValueError):
        any_loop.add_signal_handler(signal.NSIG + 10, print)
    with pytest.raises(ValueError):
        any_loop.remove_signal_handler(signal.NSIG + 10)
    with pytest.raises(RuntimeError):
        any_loop.add_signal_handler(signal.SIGKILL, print)
    assert not any_loop.remove_signal_handler(signal.SIGUSR2)


def test_coroutine_signal_handler_is_type_error(any_loop: asyncio.AbstractEventLoop) -> None:
    async def handler() -> None:
        return None

    with pytest.raises(TypeError):
        any_loop.add_signal_handler(signal.SIGUSR1, handler)


def test_signal_handler_only_in_main_thread(any_loop: asyncio.AbstractEventLoop) -> None:
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            any_loop.add_signal_handler(signal.SIGUSR1, print)
        except RuntimeError as exc:
            errors.append(exc)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert len(errors) == 1


def test_signal_handler_on_closed_loop(any_loop: asyncio.AbstractEventLoop) -> None:
    any_loop.close()
    with pytest.raises(RuntimeError):
        any_loop.add_signal_handler(signal.SIGUSR1, print)


def test_close_removes_signal_handlers(loop: EventLoop) -> None:
    loop.add_signal_handler(signal.SIGUSR2, print)
    loop.close()
    assert signal.getsignal(signal.SIGUSR2) == signal.SIG_DFL


def test_close_outside_main_thread_with_signal_handlers(loop: EventLoop) -> None:
    loop.add_signal_handler(signal.SIGUSR2, print)
    caught: list[str] = []

    def worker() -> None:
        import warnings

        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            loop.close()
        caught.extend(str(w.message) for w in seen)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert loop.is_closed()
    assert any("main thread" in m for m in caught)
    signal.signal(signal.SIGUSR2, signal.SIG_DFL)
    signal.set_wakeup_fd(-1)
