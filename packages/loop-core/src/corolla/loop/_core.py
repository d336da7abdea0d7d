"""LoopCore: the compiled heart of the corolla event loop.

It holds every hot path: the ready queue, the timer heap, readiness polling
(epoll directly, ``selectors`` elsewhere), the threadsafe wake-up, signals,
the low-level socket operations, executors, the exception handler and debug
mode. The public :class:`corolla.loop.EventLoop` adds the stdlib interface on
top of it.
"""

from __future__ import annotations

import concurrent.futures
import errno
import heapq
import io
import logging
import os
import select
import selectors
import signal
import socket
import sys
import threading
import time
import traceback
import warnings
import weakref
from collections.abc import AsyncGenerator, Callable, Coroutine
from contextvars import Context
from typing import Any, Final, cast

from mypy_extensions import mypyc_attr

from corolla.loop._handles import Handle, TimerHandle

logger: Final = logging.getLogger("asyncio")

# Internal interest bits.
_READ: Final = 1
_WRITE: Final = 2
# Linux epoll event bits (select.EPOLL* is missing on other platforms).
_EPOLLIN: Final = 0x001
_EPOLLOUT: Final = 0x004
_EPOLLERR: Final = 0x008
_EPOLLHUP: Final = 0x010

# The timer heap is rebuilt without its cancelled entries once they are at
# least this many and at least this fraction of it.
_MIN_CANCELLED_TO_COMPACT: Final = 100
_CANCELLED_FRACTION: Final = 0.5
_MAX_EVENTS: Final = 1024
_MAX_SELECT_TIMEOUT: Final = 24 * 3600.0
_SENDFILE_FALLBACK_CHUNK: Final = 256 * 1024

# Hot stdlib functions bound once: compiled, ``time.monotonic()`` is an
# attribute lookup on the module object on every call (a few hundred
# instructions); a Final module-level name is a C static.
_monotonic: Final = time.monotonic
_heappush: Final = heapq.heappush
_heappop: Final = heapq.heappop
# The builtin, bound once: compiled, ``callable(x)`` looks ``callable`` up on
# the builtins module on every call (call_soon's check of its argument).
_callable: Final = callable


def _debug_from_environment() -> bool:
    return bool(sys.flags.dev_mode) or (
        not sys.flags.ignore_environment and bool(os.environ.get("PYTHONASYNCIODEBUG"))
    )


def fileobj_to_fd(fileobj: object) -> int:
    """The file descriptor of an int or an object with ``fileno()``; ValueError otherwise."""
    if isinstance(fileobj, int):
        fd = fileobj
    else:
        try:
            fd = int(fileobj.fileno())  # type: ignore[attr-defined]
        except (AttributeError, TypeError, ValueError):
            raise ValueError(f"Invalid file object: {fileobj!r}") from None
    if fd < 0:
        raise ValueError(f"Invalid file descriptor: {fd}")
    return fd


def _is_coroutine_like(obj: object) -> bool:
    import inspect

    return inspect.iscoroutine(obj) or inspect.iscoroutinefunction(obj)


def _sighandler_noop(signum: int, frame: object) -> None:
    """Python-level handler: the C handler already wrote to the wake-up fd."""


class _FdCleanup:
    """Done-callback of a pending socket future: drops the fd's reader or writer."""

    def __init__(self, loop: LoopCore, fd: int, handle: Handle, writer: bool) -> None:
        self.loop = loop
        self.fd = fd
        self.handle = handle
        self.writer = writer

    def __call__(self, fut: object) -> None:
        if self.writer:
            current = self.loop._writers.get(self.fd)
            if current is self.handle:
                _remove_writer(self.loop, self.fd)
        else:
            current = self.loop._readers.get(self.fd)
            if current is self.handle:
                _drop_sock_reader(self.loop, self.fd)


class _SendState:
    def __init__(self, view: memoryview, pos: int) -> None:
        self.view = view
        self.pos = pos


class _ConcurrentBridge:
    """Copies a concurrent.futures.Future's outcome into a loop future."""

    def __init__(self, loop: LoopCore, fut: Any, cf: concurrent.futures.Future[Any]) -> None:
        self.loop = loop
        self.fut = fut
        self.cf = cf

    def on_cf_done(self, cf: concurrent.futures.Future[Any]) -> None:
        if self.loop._closed:
            return
        try:
            self.loop.call_soon_threadsafe(self.copy)
        except RuntimeError:
            pass  # the loop closed meanwhile

    def copy(self) -> None:
        fut = self.fut
        if fut.done():
            return
        cf = self.cf
        if cf.cancelled():
            fut.cancel()
            return
        exc = cf.exception()
        if exc is None:
            fut.set_result(cf.result())
        elif type(exc) is concurrent.futures.CancelledError:
            # The asyncio spelling of the same outcome.
            import asyncio

            fut.set_exception(asyncio.CancelledError(*exc.args))
        else:
            fut.set_exception(exc)

    def on_fut_done(self, fut: Any) -> None:
        if fut.cancelled():
            self.cf.cancel()


class _Countdown:
    """Resolves ``fut`` once ``count`` awaited objects are done."""

    def __init__(self, fut: Any, count: int) -> None:
        self.fut = fut
        self.count = count

    def __call__(self, done: object) -> None:
        self.count -= 1
        if self.count <= 0 and not self.fut.done():
            self.fut.set_result(None)


@mypyc_attr(allow_interpreted_subclasses=True)
class LoopCore:
    """The compiled event loop machinery (use :class:`corolla.loop.EventLoop`)."""

    def __init__(self, selector: selectors.BaseSelector | None = None) -> None:
        self._ready: list[Handle] = []
        self._scheduled: list[TimerHandle] = []
        self._timer_cancelled_count = 0
        self._stopping = False
        self._closed = False
        self._running = False
        self._thread_id = 0
        self._debug = _debug_from_environment()
        self.slow_callback_duration = 0.1
        self._clock_resolution: float = time.get_clock_info("monotonic").resolution
        self._exception_handler: Callable[[Any, dict[str, Any]], object] | None = None
        self._task_factory: Callable[..., Any] | None = None
        # corolla.futures.new_future and corolla.tasks.new_task, imported on first use.
        self._new_future: Any = None
        self._new_task: Any = None
        self._default_executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._executor_shutdown_called = False
        self._asyncgens: weakref.WeakSet[AsyncGenerator[Any, Any]] = weakref.WeakSet()
        self._asyncgens_shutdown_called = False
        self._old_agen_hooks: Any = None
        # readiness
        self._readers: dict[int, Handle] = {}
        self._writers: dict[int, Handle] = {}
        self._fd_mask: dict[int, int] = {}
        # fd -> the socket whose sock_* reader was dropped while its kernel
        # registration was kept (the next sock_* read on it needs no syscall).
        self._lazy_readers: dict[int, weakref.ref[socket.socket]] = {}
        self._transports: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()
        self._epoll: select.epoll | None = None
        self._selector: selectors.BaseSelector | None = selector
        if selector is None:
            if hasattr(select, "epoll"):
                self._epoll = select.epoll()
            else:
                self._selector = selectors.DefaultSelector()
        # threadsafe wake-up
        self._wake_rfd = -1
        self._wake_wfd = -1
        self._wake_eventfd = False
        self._make_wakeup()
        # signals
        self._signal_handlers: dict[int, Handle] = {}
        self._sig_rfd = -1
        self._sig_wfd = -1
        self._old_wakeup_fd = -1

    # ------------------------------------------------------------------ basics

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} running={self._running} "
            f"closed={self._closed} debug={self._debug}>"
        )

    def time(self) -> float:
        """The loop's monotonic clock, in seconds."""
        return _monotonic()

    def is_running(self) -> bool:
        """True while ``run_forever`` (or ``run_until_complete``) is on the stack."""
        return self._running

    def is_closed(self) -> bool:
        """True once ``close()`` has been called."""
        return self._closed

    def get_debug(self) -> bool:
        """Whether debug mode is on."""
        return self._debug

    def set_debug(self, enabled: object) -> None:
        """Turn debug mode on or off."""
        self._debug = bool(enabled)

    def _check_callback(self, callback: object, method: str) -> None:
        if not callable(callback) or _is_coroutine_like(callback):
            if _is_coroutine_like(callback):
                raise TypeError(f"coroutines cannot be used with {method}()")
            raise TypeError(f"a callable object was expected by {method}(), got {callback!r}")

    # --------------------------------------------------------------- wake-up

    def _make_wakeup(self) -> None:
        if hasattr(os, "eventfd"):
            fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
            self._wake_rfd = fd
            self._wake_wfd = fd
            self._wake_eventfd = True
        else:
            rfd, wfd = os.pipe()
            os.set_blocking(rfd, False)
            os.set_blocking(wfd, False)
            self._wake_rfd = rfd
            self._wake_wfd = wfd
            self._wake_eventfd = False
        _register_raw(self, self._wake_rfd, _READ)

    def _close_wakeup(self) -> None:
        if self._wake_rfd >= 0:
            _unregister_raw(self, self._wake_rfd)
            os.close(self._wake_rfd)
            if self._wake_wfd != self._wake_rfd:
                os.close(self._wake_wfd)
        self._wake_rfd = -1
        self._wake_wfd = -1

    # ------------------------------------------------------------ scheduling

    def call_soon(
        self, callback: Callable[..., object], *args: object, context: Context | None = None
    ) -> Handle:
        """Run ``callback(*args)`` on the next loop iteration, in FIFO order."""
        if self._closed:
            raise RuntimeError("Event loop is closed")
        if self._debug or not _callable(callback):
            _check_thread(self)
            self._check_callback(callback, "call_soon")
        handle = Handle(callback, args, self, context)
        self._ready.append(handle)
        return handle

    def call_soon_threadsafe(
        self, callback: Callable[..., object], *args: object, context: Context | None = None
    ) -> Handle:
        """Like ``call_soon`` but callable from any thread; wakes the loop up."""
        if self._closed:
            raise RuntimeError("Event loop is closed")
        if self._debug or not _callable(callback):
            self._check_callback(callback, "call_soon_threadsafe")
        handle = Handle(callback, args, self, context)
        self._ready.append(handle)
        _write_to_self(self)
        return handle

    def call_later(
        self,
        delay: float | None,
        callback: Callable[..., object],
        *args: object,
        context: Context | None = None,
    ) -> TimerHandle:
        """Run ``callback(*args)`` after ``delay`` seconds (a negative delay means now)."""
        if delay is None:
            raise TypeError("delay must not be None")
        return _call_at(self, _monotonic() + delay, callback, args, context, "call_later")

    def call_at(
        self,
        when: float | None,
        callback: Callable[..., object],
        *args: object,
        context: Context | None = None,
    ) -> TimerHandle:
        """Run ``callback(*args)`` at loop time ``when``."""
        if when is None:
            raise TypeError("when cannot be None")
        return _call_at(self, when, callback, args, context, "call_at")

    # ------------------------------------------------------------- readiness

    def add_reader(self, fd: Any, callback: Callable[..., object], *args: object) -> None:
        """Call ``callback(*args)`` whenever ``fd`` is readable."""
        _check_closed(self)
        self._check_callback(callback, "add_reader")
        num = fileobj_to_fd(fd)
        _ensure_fd_no_transport(self, num)
        _add_reader(self, num, callback, args)

    def remove_reader(self, fd: Any) -> bool:
        """Stop watching ``fd`` for reading; True if it was watched."""
        num = fileobj_to_fd(fd)
        _ensure_fd_no_transport(self, num)
        return _remove_reader(self, num)

    def add_writer(self, fd: Any, callback: Callable[..., object], *args: object) -> None:
        """Call ``callback(*args)`` whenever ``fd`` is writable."""
        _check_closed(self)
        self._check_callback(callback, "add_writer")
        num = fileobj_to_fd(fd)
        _ensure_fd_no_transport(self, num)
        _add_writer(self, num, callback, args)

    def remove_writer(self, fd: Any) -> bool:
        """Stop watching ``fd`` for writing; True if it was watched."""
        num = fileobj_to_fd(fd)
        _ensure_fd_no_transport(self, num)
        return _remove_writer(self, num)

    # The transports' own readiness operations: like the public ones, without
    # the check that refuses a descriptor owned by an open transport (the
    # stdlib loop's names and arguments; corolla.transports uses them when the
    # loop has ``_transports``).

    def _add_reader(self, fd: int, callback: Callable[..., object], *args: object) -> None:
        _add_reader(self, fd, callback, args)

    def _remove_reader(self, fd: int) -> bool:
        return _remove_reader(self, fd)

    def _add_writer(self, fd: int, callback: Callable[..., object], *args: object) -> None:
        _add_writer(self, fd, callback, args)

    def _remove_writer(self, fd: int) -> bool:
        return _remove_writer(self, fd)

    # ----------------------------------------------------------------- loop

    def stop(self) -> None:
        """Stop ``run_forever`` once the callbacks already queued have run."""
        self._stopping = True

    def _run_forever_setup(self) -> None:
        import asyncio

        _check_closed(self)
        if self._running:
            raise RuntimeError("This event loop is already running")
        if asyncio._get_running_loop() is not None:
            raise RuntimeError("Cannot run the event loop while another loop is running")
        self._thread_id = threading.get_ident()
        self._old_agen_hooks = sys.get_asyncgen_hooks()
        sys.set_asyncgen_hooks(
            firstiter=self._asyncgen_firstiter_hook, finalizer=self._asyncgen_finalizer_hook
        )
        self._running = True
        asyncio._set_running_loop(self)  # type: ignore[arg-type]

    def _run_forever_cleanup(self) -> None:
        import asyncio

        self._stopping = False
        self._running = False
        self._thread_id = 0
        asyncio._set_running_loop(None)
        hooks = self._old_agen_hooks
        self._old_agen_hooks = None
        if hooks is not None:
            sys.set_asyncgen_hooks(firstiter=hooks[0], finalizer=hooks[1])

    def run_forever(self) -> None:
        """Run callbacks and I/O until ``stop()`` is called."""
        self._run_forever_setup()
        try:
            while True:
                _run_once(self)
                if self._stopping:
                    break
        finally:
            self._run_forever_cleanup()

    def run_until_complete(self, future: Any) -> Any:
        """Run until ``future`` (a future, task or coroutine) is done; return its result."""
        _check_closed(self)
        if self._running:
            raise RuntimeError("This event loop is already running")
        fut: Any
        new_task = False
        if getattr(future, "_asyncio_future_blocking", None) is not None:
            if future.get_loop() is not self:
                raise ValueError("The future belongs to a different loop than the one specified")
            fut = future
        else:
            import inspect

            if inspect.iscoroutine(future):
                fut = self.create_task(future)
            elif inspect.isawaitable(future):
                fut = self.create_task(self._wrap_awaitable(future))
            else:
                raise TypeError("An asyncio.Future, a coroutine or an awaitable is required")
            new_task = True
            fut._log_destroy_pending = False
        stopper = self._stop_on_done
        fut.add_done_callback(stopper)
        try:
            self.run_forever()
        except BaseException:
            if new_task and fut.done() and not fut.cancelled():
                # The exception propagates: the task's copy was seen.
                fut.exception()
            raise
        finally:
            fut.remove_done_callback(stopper)
        if not fut.done():
            raise RuntimeError("Event loop stopped before Future completed.")
        return fut.result()

    async def _wrap_awaitable(self, awaitable: Any) -> Any:
        return await awaitable

    def _stop_on_done(self, fut: Any) -> None:
        if not fut.cancelled():
            exc = fut.exception()
            if isinstance(exc, (SystemExit, KeyboardInterrupt)):
                # run_until_complete re-raises it; stopping would swallow it.
                return
        self.stop()

    def close(self) -> None:
        """Close the loop: drop pending callbacks, release fds, shut the executor down."""
        if self._running:
            raise RuntimeError("Cannot close a running event loop")
        if self._closed:
            return
        if self._debug:
            logger.debug("Close %r", self)
        if threading.current_thread() is threading.main_thread():
            for sig in list(self._signal_handlers):
                self.remove_signal_handler(sig)
        elif self._signal_handlers:
            # Signal dispositions can only change in the main thread.
            warnings.warn(
                f"closing {self!r} outside the main thread: its signal handlers stay installed",
                ResourceWarning,
                stacklevel=2,
            )
            self._signal_handlers.clear()
            self._close_signal_pipe()
        self._closed = True
        self._ready.clear()
        self._scheduled.clear()
        self._timer_cancelled_count = 0
        self._executor_shutdown_called = True
        for handle in self._readers.values():
            handle.cancel()
        for handle in self._writers.values():
            handle.cancel()
        self._readers.clear()
        self._writers.clear()
        self._close_wakeup()
        self._fd_mask.clear()
        self._lazy_readers.clear()
        if self._epoll is not None:
            self._epoll.close()
        if self._selector is not None:
            self._selector.close()
        executor = self._default_executor
        if executor is not None:
            self._default_executor = None
            executor.shutdown(wait=False)

    # --------------------------------------------------- futures and tasks

    def create_future(self) -> Any:
        """A new :class:`corolla.futures.Future` bound to this loop."""
        new_future = self._new_future
        if new_future is None:
            import corolla.futures

            new_future = self._new_future = getattr(corolla.futures, "new_future")  # noqa: B009
        return new_future(self)

    def create_task(
        self,
        coro: Coroutine[Any, Any, Any],
        *,
        name: object = None,
        context: Context | None = None,
        eager_start: bool | None = None,
    ) -> Any:
        """Wrap ``coro`` in a task (made by the task factory, if one is set)."""
        _check_closed(self)
        factory = self._task_factory
        if factory is None:
            new_task = self._new_task
            if new_task is None:
                import corolla.tasks

                new_task = self._new_task = getattr(corolla.tasks, "new_task")  # noqa: B009
            return new_task(self, coro, name, context, bool(eager_start))
        kwargs: dict[str, Any] = {}
        if context is not None:
            kwargs["context"] = context
        if eager_start is not None:
            kwargs["eager_start"] = eager_start
        task = factory(self, coro, **kwargs)
        if name is not None:
            try:
                task.set_name(name)
            except AttributeError:
                pass
        return task

    def set_task_factory(self, factory: Callable[..., Any] | None) -> None:
        """Use ``factory(loop, coro, **kwargs)`` to make tasks (None: the default Task)."""
        if factory is not None and not callable(factory):
            raise TypeError("task factory must be a callable or None")
        self._task_factory = factory

    def get_task_factory(self) -> Callable[..., Any] | None:
        """The task factory set with ``set_task_factory`` (None by default)."""
        return self._task_factory

    def _wait_all(self, awaitables: list[Any]) -> Any:
        """A future done once every future in ``awaitables`` is done."""
        waiter = self.create_future()
        if not awaitables:
            waiter.set_result(None)
            return waiter
        countdown = _Countdown(waiter, len(awaitables))
        for fut in awaitables:
            fut.add_done_callback(countdown)
        return waiter

    # -------------------------------------------------------- async gens

    def _asyncgen_firstiter_hook(self, agen: AsyncGenerator[Any, Any]) -> None:
        if self._asyncgens_shutdown_called:
            warnings.warn(
                f"asynchronous generator {agen!r} was scheduled after "
                "loop.shutdown_asyncgens() call",
                ResourceWarning,
                source=self,
                stacklevel=2,
            )
        self._asyncgens.add(agen)

    def _asyncgen_finalizer_hook(self, agen: AsyncGenerator[Any, Any]) -> None:
        self._asyncgens.discard(agen)
        if not self._closed:
            self.call_soon_threadsafe(self._aclose_agen, agen)

    def _aclose_agen(self, agen: AsyncGenerator[Any, Any]) -> None:
        self.create_task(agen.aclose())

    async def shutdown_asyncgens(self) -> None:
        """Close every async generator still open on this loop."""
        self._asyncgens_shutdown_called = True
        if not len(self._asyncgens):
            return
        closing = list(self._asyncgens)
        self._asyncgens.clear()
        tasks = [self.create_task(agen.aclose()) for agen in closing]
        await self._wait_all(tasks)
        for agen, task in zip(closing, tasks, strict=True):
            if task.cancelled():
                continue
            exc = task.exception()
            if exc is not None:
                # Through Any: compiled, a call typed -> None checks for None, and a
                # replaced handler (a Mock) may return anything.
                loop_any: Any = self
                loop_any.call_exception_handler(
                    {
                        "message": "an error occurred during closing of "
                        f"asynchronous generator {agen!r}",
                        "exception": exc,
                        "asyncgen": agen,
                    }
                )

    # ----------------------------------------------------------- executors

    def set_default_executor(self, executor: Any) -> None:
        """Use ``executor`` (a ThreadPoolExecutor) for ``run_in_executor(None, ...)``."""
        if not isinstance(executor, concurrent.futures.ThreadPoolExecutor):
            raise TypeError("executor must be ThreadPoolExecutor")
        self._default_executor = executor

    def run_in_executor(self, executor: Any, func: Callable[..., Any], *args: object) -> Any:
        """Run ``func(*args)`` in ``executor`` (the default thread pool if None)."""
        _check_closed(self)
        if self._debug or not callable(func):
            self._check_callback(func, "run_in_executor")
        if executor is None:
            if self._executor_shutdown_called:
                raise RuntimeError("Executor shutdown has been called")
            executor = self._default_executor
            if executor is None:
                executor = concurrent.futures.ThreadPoolExecutor(thread_name_prefix="corolla")
                self._default_executor = executor
        cf = executor.submit(func, *args)
        return self.wrap_concurrent_future(cf)

    def wrap_concurrent_future(self, cf: concurrent.futures.Future[Any]) -> Any:
        """A loop future that follows ``cf`` (cancelling it cancels ``cf``)."""
        fut = self.create_future()
        bridge = _ConcurrentBridge(self, fut, cf)
        fut.add_done_callback(bridge.on_fut_done)
        cf.add_done_callback(bridge.on_cf_done)
        return fut

    def _shutdown_executor_thread(
        self, executor: concurrent.futures.ThreadPoolExecutor, fut: Any
    ) -> None:
        try:
            executor.shutdown(wait=True)
            if not self._closed:
                self.call_soon_threadsafe(self._set_result_unless_done, fut, None)
        except BaseException as exc:
            if not self._closed:
                self.call_soon_threadsafe(self._set_exception_unless_done, fut, exc)

    def _set_result_unless_done(self, fut: Any, value: object) -> None:
        if not fut.done():
            fut.set_result(value)

    def _set_exception_unless_done(self, fut: Any, exc: BaseException) -> None:
        if not fut.done():
            fut.set_exception(exc)

    async def shutdown_default_executor(self, timeout: float | None = None) -> None:
        """Shut the default executor down, waiting up to ``timeout`` seconds for its threads."""
        self._executor_shutdown_called = True
        executor = self._default_executor
        if executor is None:
            return
        done = self.create_future()
        thread = threading.Thread(
            target=self._shutdown_executor_thread, args=(executor, done), daemon=True
        )
        thread.start()
        timer: TimerHandle | None = None
        if timeout is not None:
            timer = self.call_later(timeout, self._set_result_unless_done, done, False)
        try:
            finished = await done
        finally:
            if timer is not None:
                timer.cancel()
        if finished is False:
            warnings.warn(
                f"The executor did not finishing joining its threads within {timeout} seconds.",
                RuntimeWarning,
                stacklevel=2,
            )
            executor.shutdown(wait=False)
        else:
            thread.join()

    # ----------------------------------------------------------------- DNS

    async def getaddrinfo(
        self,
        host: bytes | str | None,
        port: bytes | str | int | None,
        *,
        family: int = 0,
        type: int = 0,
        proto: int = 0,
        flags: int = 0,
    ) -> list[tuple[Any, Any, int, str, Any]]:
        """``socket.getaddrinfo`` in the default executor."""
        result: list[tuple[Any, Any, int, str, Any]] = await self.run_in_executor(
            None, socket.getaddrinfo, host, port, family, type, proto, flags
        )
        return result

    async def getnameinfo(self, sockaddr: Any, flags: int = 0) -> tuple[str, str]:
        """``socket.getnameinfo`` in the default executor."""
        result: tuple[str, str] = await self.run_in_executor(
            None, socket.getnameinfo, sockaddr, flags
        )
        return result

    # -------------------------------------------------------------- sockets

    async def sock_recv(self, sock: socket.socket, nbytes: int) -> bytes:
        """Receive up to ``nbytes`` bytes from the non-blocking socket ``sock``."""
        _check_socket(self, sock)
        if not self._lazy_readers or not _known_unreadable(self, sock):
            try:
                return sock.recv(nbytes)
            except (BlockingIOError, InterruptedError):
                pass
        fut = self.create_future()
        _wait_readable(self, sock, fut, self._sock_recv_ready, fut, sock, nbytes)
        data: bytes = await fut
        return data

    def _sock_recv_ready(self, fut: Any, sock: socket.socket, nbytes: int) -> None:
        if fut.done():
            return
        try:
            data = sock.recv(nbytes)
        except (BlockingIOError, InterruptedError):
            return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            fut.set_exception(exc)
        else:
            fut.set_result(data)

    async def sock_recv_into(self, sock: socket.socket, buf: Any) -> int:
        """Receive into the writable buffer ``buf``; return the byte count."""
        _check_socket(self, sock)
        if not self._lazy_readers or not _known_unreadable(self, sock):
            try:
                return sock.recv_into(buf)
            except (BlockingIOError, InterruptedError):
                pass
        fut = self.create_future()
        _wait_readable(self, sock, fut, self._sock_recv_into_ready, fut, sock, buf)
        count: int = await fut
        return count

    def _sock_recv_into_ready(self, fut: Any, sock: socket.socket, buf: Any) -> None:
        if fut.done():
            return
        try:
            count = sock.recv_into(buf)
        except (BlockingIOError, InterruptedError):
            return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            fut.set_exception(exc)
        else:
            fut.set_result(count)

    async def sock_recvfrom(self, sock: socket.socket, bufsize: int) -> tuple[bytes, Any]:
        """Receive a datagram of up to ``bufsize`` bytes; return ``(data, address)``."""
        _check_socket(self, sock)
        try:
            return sock.recvfrom(bufsize)
        except (BlockingIOError, InterruptedError):
            pass
        fut = self.create_future()
        _wait_readable(self, sock, fut, self._sock_recvfrom_ready, fut, sock, bufsize)
        result: tuple[bytes, Any] = await fut
        return result

    def _sock_recvfrom_ready(self, fut: Any, sock: socket.socket, bufsize: int) -> None:
        if fut.done():
            return
        try:
            result = sock.recvfrom(bufsize)
        except (BlockingIOError, InterruptedError):
            return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            fut.set_exception(exc)
        else:
            fut.set_result(result)

    async def sock_recvfrom_into(
        self, sock: socket.socket, buf: Any, nbytes: int = 0
    ) -> tuple[int, Any]:
        """Receive a datagram into ``buf``; return ``(nbytes, address)``."""
        _check_socket(self, sock)
        if not nbytes:
            nbytes = memoryview(buf).nbytes
        try:
            return sock.recvfrom_into(buf, nbytes)
        except (BlockingIOError, InterruptedError):
            pass
        fut = self.create_future()
        _wait_readable(self, sock, fut, self._sock_recvfrom_into_ready, fut, sock, buf, nbytes)
        result: tuple[int, Any] = await fut
        return result

    def _sock_recvfrom_into_ready(
        self, fut: Any, sock: socket.socket, buf: Any, nbytes: int
    ) -> None:
        if fut.done():
            return
        try:
            result = sock.recvfrom_into(buf, nbytes)
        except (BlockingIOError, InterruptedError):
            return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            fut.set_exception(exc)
        else:
            fut.set_result(result)

    async def sock_sendall(self, sock: socket.socket, data: Any) -> None:
        """Send all of ``data``; returns None once every byte is handed to the kernel."""
        _check_socket(self, sock)
        try:
            sent = sock.send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        if isinstance(data, bytes):
            total = len(data)
            if sent == total:
                return
        view = memoryview(data).cast("B")
        if sent == view.nbytes:
            return
        fut = self.create_future()
        state = _SendState(view, sent)
        _wait_writable(self, sock, fut, self._sock_sendall_ready, fut, sock, state)
        await fut

    def _sock_sendall_ready(self, fut: Any, sock: socket.socket, state: _SendState) -> None:
        if fut.done():
            return
        try:
            sent = sock.send(state.view[state.pos :])
        except (BlockingIOError, InterruptedError):
            return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            fut.set_exception(exc)
            return
        state.pos += sent
        if state.pos >= state.view.nbytes:
            fut.set_result(None)

    async def sock_sendto(self, sock: socket.socket, data: Any, address: Any) -> int:
        """Send the datagram ``data`` to ``address``; return the byte count."""
        _check_socket(self, sock)
        try:
            return sock.sendto(data, address)
        except (BlockingIOError, InterruptedError):
            pass
        fut = self.create_future()
        _wait_writable(self, sock, fut, self._sock_sendto_ready, fut, sock, data, address)
        count: int = await fut
        return count

    def _sock_sendto_ready(self, fut: Any, sock: socket.socket, data: Any, address: Any) -> None:
        if fut.done():
            return
        try:
            count = sock.sendto(data, address)
        except (BlockingIOError, InterruptedError):
            return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            fut.set_exception(exc)
        else:
            fut.set_result(count)

    async def sock_connect(self, sock: socket.socket, address: Any) -> None:
        """Connect ``sock`` to ``address``, resolving a host name first if needed."""
        _check_socket(self, sock)
        if sock.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple):
            host = address[0]
            needs_lookup = True
            if isinstance(host, str):
                try:
                    socket.inet_pton(sock.family, host.partition("%")[0])
                    needs_lookup = False
                except (OSError, ValueError):
                    needs_lookup = True
            if needs_lookup:
                infos = await self.getaddrinfo(
                    host, address[1], family=sock.family, type=sock.type, proto=sock.proto
                )
                if not infos:
                    raise OSError(f"getaddrinfo({host!r}) returned empty list")
                address = infos[0][4]
        try:
            sock.connect(address)
            return
        except (BlockingIOError, InterruptedError):
            pass
        fut = self.create_future()
        _wait_writable(self, sock, fut, self._sock_connect_ready, fut, sock, address)
        await fut

    def _sock_connect_ready(self, fut: Any, sock: socket.socket, address: Any) -> None:
        if fut.done():
            return
        try:
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err != 0:
                raise OSError(err, f"Connect call failed {address}")
        except (BlockingIOError, InterruptedError):
            return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            fut.set_exception(exc)
        else:
            fut.set_result(None)

    async def sock_accept(self, sock: socket.socket) -> tuple[socket.socket, Any]:
        """Accept a connection; the new socket is non-blocking."""
        _check_socket(self, sock)
        try:
            conn, address = sock.accept()
            conn.setblocking(False)
            return conn, address
        except (BlockingIOError, InterruptedError):
            pass
        fut = self.create_future()
        _wait_readable(self, sock, fut, self._sock_accept_ready, fut, sock)
        result: tuple[socket.socket, Any] = await fut
        return result

    def _sock_accept_ready(self, fut: Any, sock: socket.socket) -> None:
        if fut.done():
            return
        try:
            conn, address = sock.accept()
            conn.setblocking(False)
        except (BlockingIOError, InterruptedError):
            return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            fut.set_exception(exc)
        else:
            fut.set_result((conn, address))

    async def sock_sendfile(
        self,
        sock: socket.socket,
        file: Any,
        offset: int = 0,
        count: int | None = None,
        *,
        fallback: object = True,
    ) -> int:
        """Send ``file`` over ``sock`` with ``os.sendfile`` (or read/send when unavailable)."""
        _check_socket(self, sock)
        if "b" not in getattr(file, "mode", "b"):
            raise ValueError("file should be opened in binary mode")
        if sock.type != socket.SOCK_STREAM:
            raise ValueError("only SOCK_STREAM type sockets are supported")
        if count is not None:
            if not isinstance(count, int):
                raise TypeError(f"count must be a positive integer (got {count!r})")
            if count <= 0:
                raise ValueError(f"count must be a positive integer (got {count!r})")
        if not isinstance(offset, int):
            raise TypeError(f"offset must be a non-negative integer (got {offset!r})")
        if offset < 0:
            raise ValueError(f"offset must be a non-negative integer (got {offset!r})")
        import asyncio

        try:
            return await self._sock_sendfile_native(sock, file, offset, count)
        except asyncio.SendfileNotAvailableError:
            if not fallback:
                raise
        return await self._sock_sendfile_fallback(sock, file, offset, count)

    async def _sock_sendfile_native(
        self, sock: socket.socket, file: Any, offset: int, count: int | None
    ) -> int:
        import asyncio

        if not hasattr(os, "sendfile"):
            raise asyncio.SendfileNotAvailableError("os.sendfile() is not available")
        try:
            in_fd = file.fileno()
        except (AttributeError, io.UnsupportedOperation) as exc:
            raise asyncio.SendfileNotAvailableError("not a regular file") from exc
        try:
            file_size = os.fstat(in_fd).st_size
        except OSError as exc:
            raise asyncio.SendfileNotAvailableError("not a regular file") from exc
        blocksize = count if count else file_size
        if not blocksize:
            return 0
        state = [offset, 0]  # next offset, total sent
        fut = self.create_future()
        self._sendfile_step(fut, sock, in_fd, state, count, blocksize, None)
        try:
            sent: int = await fut
        finally:
            if state[1] > 0:
                file.seek(offset + state[1])
        return sent

    def _sendfile_step(  # noqa: PLR0917
        self,
        fut: Any,
        sock: socket.socket,
        in_fd: int,
        state: list[int],
        count: int | None,
        blocksize: int,
        registered: Handle | None,
    ) -> None:
        import asyncio

        if fut.done():
            return
        fd = sock.fileno()
        while True:
            if count is not None:
                blocksize = count - state[1]
                if blocksize <= 0:
                    break
            try:
                sent = os.sendfile(fd, in_fd, state[0], blocksize)
            except (BlockingIOError, InterruptedError):
                if registered is None:
                    handle = _add_writer(self, fd, self._sendfile_step, ())
                    handle._args = (fut, sock, in_fd, state, count, blocksize, handle)
                    fut.add_done_callback(_FdCleanup(self, fd, handle, True))
                return
            except OSError as exc:
                if state[1] == 0 and exc.errno in (errno.ENOTSOCK, errno.EINVAL, errno.ENOSYS):
                    err = asyncio.SendfileNotAvailableError("os.sendfile call failed")
                    err.__cause__ = exc
                    fut.set_exception(err)
                else:
                    fut.set_exception(exc)
                return
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                fut.set_exception(exc)
                return
            if sent == 0:
                break  # end of file
            state[0] += sent
            state[1] += sent
        fut.set_result(state[1])

    async def _sock_sendfile_fallback(
        self, sock: socket.socket, file: Any, offset: int, count: int | None
    ) -> int:
        if offset:
            file.seek(offset)
        blocksize = min(count, _SENDFILE_FALLBACK_CHUNK) if count else _SENDFILE_FALLBACK_CHUNK
        buf = bytearray(blocksize)
        total = 0
        try:
            while True:
                if count:
                    blocksize = min(count - total, blocksize)
                    if blocksize <= 0:
                        break
                view = memoryview(buf)[:blocksize]
                read: int = await self.run_in_executor(None, file.readinto, view)
                if not read:
                    break
                await self.sock_sendall(sock, view[:read])
                total += read
            return total
        finally:
            if total > 0 and hasattr(file, "seek"):
                file.seek(offset + total)

    # -------------------------------------------------------------- signals

    def _check_signal(self, sig: object) -> int:
        if not isinstance(sig, int):
            raise TypeError(f"sig must be an int, not {sig!r}")
        if sig not in signal.valid_signals():
            raise ValueError(f"invalid signal number {sig}")
        return sig

    def add_signal_handler(self, sig: int, callback: Callable[..., object], *args: object) -> None:
        """Run ``callback(*args)`` in the loop when signal ``sig`` arrives (main thread only)."""
        if _is_coroutine_like(callback):
            raise TypeError("coroutines cannot be used with add_signal_handler()")
        self._check_signal(sig)
        _check_closed(self)
        if not callable(callback):
            raise TypeError(f"a callable object was expected, got {callback!r}")
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError("add_signal_handler() can only be called from the main thread")
        if self._sig_rfd < 0:
            rfd, wfd = os.pipe()
            os.set_blocking(rfd, False)
            os.set_blocking(wfd, False)
            try:
                old = signal.set_wakeup_fd(wfd, warn_on_full_buffer=False)
            except (ValueError, OSError) as exc:
                os.close(rfd)
                os.close(wfd)
                raise RuntimeError(str(exc)) from exc
            self._old_wakeup_fd = old
            self._sig_rfd = rfd
            self._sig_wfd = wfd
            _register_raw(self, rfd, _READ)
        self._signal_handlers[sig] = Handle(callback, args, self, None)
        try:
            signal.signal(sig, _sighandler_noop)
            signal.siginterrupt(sig, False)
        except OSError as exc:
            del self._signal_handlers[sig]
            if not self._signal_handlers:
                self._close_signal_pipe()
            if exc.errno == errno.EINVAL:
                raise RuntimeError(f"sig {sig:d} cannot be caught") from exc
            raise

    def remove_signal_handler(self, sig: int) -> bool:
        """Restore the default handling of ``sig``; True if a handler was installed."""
        self._check_signal(sig)
        if sig not in self._signal_handlers:
            return False
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError("remove_signal_handler() can only be called from the main thread")
        del self._signal_handlers[sig]
        handler: Any = signal.default_int_handler if sig == signal.SIGINT else signal.SIG_DFL
        try:
            signal.signal(sig, handler)
        except OSError as exc:
            if exc.errno == errno.EINVAL:
                raise RuntimeError(f"sig {sig:d} cannot be caught") from exc
            raise
        if not self._signal_handlers:
            self._close_signal_pipe()
        return True

    def _close_signal_pipe(self) -> None:
        if self._sig_rfd < 0:
            return
        try:
            signal.set_wakeup_fd(self._old_wakeup_fd)
        except (ValueError, OSError) as exc:
            logger.info("set_wakeup_fd(%s) failed: %s", self._old_wakeup_fd, exc)
        _unregister_raw(self, self._sig_rfd)
        os.close(self._sig_rfd)
        os.close(self._sig_wfd)
        self._sig_rfd = -1
        self._sig_wfd = -1
        self._old_wakeup_fd = -1

    # ---------------------------------------------------------- exceptions

    def get_exception_handler(self) -> Callable[[Any, dict[str, Any]], object] | None:
        """The handler set with ``set_exception_handler`` (None: the default one)."""
        return self._exception_handler

    def set_exception_handler(
        self, handler: Callable[[Any, dict[str, Any]], object] | None
    ) -> None:
        """Send exception contexts to ``handler(loop, context)`` (None: the default handler)."""
        if handler is not None and not callable(handler):
            raise TypeError(f"A callable object or None is expected, got {handler!r}")
        self._exception_handler = handler

    def default_exception_handler(self, context: dict[str, Any]) -> None:
        """Log ``context`` (message, exception and the other keys) to the ``asyncio`` logger."""
        message = context.get("message") or "Unhandled exception in event loop"
        exception = context.get("exception")
        exc_info: Any = False
        if isinstance(exception, BaseException):
            exc_info = (type(exception), exception, exception.__traceback__)
        if "source_traceback" not in context and self._debug:
            handle = context.get("handle")
            if isinstance(handle, Handle) and handle._source_traceback:
                context["handle_traceback"] = handle._source_traceback
        lines = [str(message)]
        for key in sorted(context):
            if key in ("message", "exception"):
                continue
            value = context[key]
            if key in ("source_traceback", "handle_traceback"):
                text = "".join(traceback.format_list(value)).rstrip()
                label = "Object created at" if key == "source_traceback" else "Handle created at"
                lines.append(f"{label} (most recent call last):\n{text}")
            else:
                lines.append(f"{key}: {value!r}")
        logger.error("\n".join(lines), exc_info=exc_info)

    def call_exception_handler(self, context: dict[str, Any]) -> None:
        """Pass ``context`` to the exception handler; errors in the handler are logged."""
        handler = self._exception_handler
        if handler is None:
            try:
                self.default_exception_handler(context)
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException:
                logger.error("Exception in default exception handler", exc_info=True)
            return
        try:
            # A custom handler runs in the context of what failed (the task,
            # future or callback), so it sees that code's context variables.
            run_in = _context_of(context)
            if run_in is None:
                handler(self, context)
            else:
                run_in.run(handler, self, context)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            try:
                self.default_exception_handler(
                    {
                        "message": "Unhandled error in exception handler",
                        "exception": exc,
                        "context": context,
                    }
                )
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException:
                logger.error(
                    "Exception in default exception handler while handling an unexpected error "
                    "in custom exception handler",
                    exc_info=True,
                )

    # ----------------------------------------------------------------- fork

    def _reinit_after_fork(self) -> None:
        """In a forked child: stop sharing the parent's epoll, wake-up and signal fds."""
        if self._closed:
            return
        old_epoll = self._epoll
        if old_epoll is not None:
            old_epoll.close()  # only this process's reference
            self._epoll = select.epoll()
        elif self._selector is not None:
            old_sel = self._selector
            self._selector = type(old_sel)()
        masks = dict(self._fd_mask)
        self._fd_mask.clear()
        for fd in (self._wake_rfd, self._wake_wfd, self._sig_rfd, self._sig_wfd):
            masks.pop(fd, None)
        old_fds = {self._wake_rfd, self._wake_wfd, self._sig_rfd, self._sig_wfd}
        for fd in old_fds:
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._wake_rfd = self._wake_wfd = self._sig_rfd = self._sig_wfd = -1
        self._make_wakeup()
        for fd, mask in masks.items():
            try:
                _register_raw(self, fd, mask)
            except OSError:
                self._readers.pop(fd, None)
                self._writers.pop(fd, None)
        if self._signal_handlers:
            # The handlers stay installed; their wake-ups need a pipe of our own.
            handlers = self._signal_handlers
            self._signal_handlers = {}
            try:
                for sig, handle in handlers.items():
                    self.add_signal_handler(sig, handle._callback, *handle._args)
            except RuntimeError:
                pass
        self._default_executor = None
        self._executor_shutdown_called = False


# Internal helpers, as functions: a method call on an interpreted subclass of
# LoopCore would go through a Python-level lookup on every call.


def _check_closed(self: LoopCore) -> None:
    if self._closed:
        raise RuntimeError("Event loop is closed")


def _check_thread(self: LoopCore) -> None:
    if self._thread_id == 0:
        return
    if threading.get_ident() != self._thread_id:
        raise RuntimeError(
            "Non-thread-safe operation invoked on an event loop other than the current one"
        )


def _write_to_self(self: LoopCore) -> None:
    fd = self._wake_wfd
    if fd < 0:
        return
    try:
        if self._wake_eventfd:
            os.eventfd_write(fd, 1)
        else:
            os.write(fd, b"\0")
    except OSError:
        pass  # full (a wake-up is already pending) or closing


def _drain_wakeup(self: LoopCore) -> None:
    try:
        if self._wake_eventfd:
            os.eventfd_read(self._wake_rfd)
        else:
            while os.read(self._wake_rfd, 4096):
                pass
    except OSError:
        pass


def _call_at(  # noqa: PLR0917
    self: LoopCore,
    when: float,
    callback: Callable[..., object],
    args: tuple[object, ...],
    context: Context | None,
    method: str,
) -> TimerHandle:
    if self._closed:
        raise RuntimeError("Event loop is closed")
    if self._debug or not _callable(callback):
        _check_thread(self)
        self._check_callback(callback, method)
    timer = TimerHandle(float(when), callback, args, self, context)
    timer._scheduled = True
    _heappush(self._scheduled, timer)
    return timer


def _register_raw(self: LoopCore, fd: int, mask: int) -> None:
    old = self._fd_mask.get(fd, 0)
    new = old | mask
    if new == old:
        if not self._lazy_readers or fd not in self._lazy_readers:
            return
        # A kept registration may belong to a closed socket whose fd number
        # was reused: make the kernel state certain.
        del self._lazy_readers[fd]
        old = 0
        _forget_raw(self, fd)
    epoll = self._epoll
    if epoll is not None:
        events = (_EPOLLIN if new & _READ else 0) | (_EPOLLOUT if new & _WRITE else 0)
        if old:
            try:
                epoll.modify(fd, events)
            except FileNotFoundError:
                # The fd was closed (dropping it from epoll) and reused.
                epoll.register(fd, events)
        else:
            try:
                epoll.register(fd, events)
            except FileExistsError:
                epoll.modify(fd, events)
    else:
        sel = self._selector
        assert sel is not None
        sel_events = (selectors.EVENT_READ if new & _READ else 0) | (
            selectors.EVENT_WRITE if new & _WRITE else 0
        )
        if old:
            sel.modify(fd, sel_events)
        else:
            sel.register(fd, sel_events)
    self._fd_mask[fd] = new


def _forget_raw(self: LoopCore, fd: int) -> None:
    """Drop ``fd`` from the kernel's interest list, whatever state it is in."""
    try:
        if self._epoll is not None:
            self._epoll.unregister(fd)
        elif self._selector is not None:
            self._selector.unregister(fd)
    except (OSError, KeyError, ValueError):
        pass


def _drop_sock_reader(self: LoopCore, fd: int) -> None:
    """The sock_* read on ``fd`` is over: drop its handle, keep the registration."""
    handle = self._readers.pop(fd, None)
    if handle is None:
        return
    args = handle._args
    sock = args[1] if len(args) > 1 else None
    handle.cancel()
    if self._epoll is None or not isinstance(sock, socket.socket):
        _unregister_raw(self, fd, _READ)
        return
    self._lazy_readers[fd] = weakref.ref(sock)


def _add_sock_reader(
    self: LoopCore,
    sock: socket.socket,
    fd: int,
    callback: Callable[..., object],
    args: tuple[object, ...],
) -> Handle:
    """add_reader for a sock_* operation; reuses a kept registration of the same socket."""
    if self._lazy_readers:
        kept = self._lazy_readers.get(fd)
        if kept is not None and kept() is sock and self._fd_mask.get(fd, 0) & _READ:
            del self._lazy_readers[fd]
            handle = Handle(callback, args, self, None)
            old = self._readers.get(fd)
            self._readers[fd] = handle
            if old is not None:
                old.cancel()
            return handle
    return _add_reader(self, fd, callback, args)


def _unregister_raw(self: LoopCore, fd: int, mask: int = _READ | _WRITE) -> None:
    old = self._fd_mask.get(fd, 0)
    new = old & ~mask
    if new == old:
        return
    epoll = self._epoll
    try:
        if epoll is not None:
            if new:
                epoll.modify(
                    fd, (_EPOLLIN if new & _READ else 0) | (_EPOLLOUT if new & _WRITE else 0)
                )
            else:
                epoll.unregister(fd)
        else:
            sel = self._selector
            assert sel is not None
            if new:
                sel.modify(
                    fd,
                    (selectors.EVENT_READ if new & _READ else 0)
                    | (selectors.EVENT_WRITE if new & _WRITE else 0),
                )
            else:
                sel.unregister(fd)
    except (OSError, KeyError, ValueError):
        pass  # the fd was closed behind our back: the kernel already forgot it
    if new:
        self._fd_mask[fd] = new
    else:
        del self._fd_mask[fd]
    if not new & _READ and self._lazy_readers:
        self._lazy_readers.pop(fd, None)


def _ensure_fd_no_transport(self: LoopCore, fd: int) -> None:
    if not len(self._transports):
        return
    transport = self._transports.get(fd)
    if transport is not None and not transport.is_closing():
        raise RuntimeError(f"File descriptor {fd!r} is used by transport {transport!r}")


def _add_reader(
    self: LoopCore, fd: int, callback: Callable[..., object], args: tuple[object, ...]
) -> Handle:
    _check_closed(self)
    handle = Handle(callback, args, self, None)
    _register_raw(self, fd, _READ)
    old = self._readers.get(fd)
    self._readers[fd] = handle
    if old is not None:
        old.cancel()
    return handle


def _remove_reader(self: LoopCore, fd: int) -> bool:
    if self._closed:
        return False
    handle = self._readers.pop(fd, None)
    if handle is None:
        return False
    _unregister_raw(self, fd, _READ)
    handle.cancel()
    return True


def _add_writer(
    self: LoopCore, fd: int, callback: Callable[..., object], args: tuple[object, ...]
) -> Handle:
    _check_closed(self)
    handle = Handle(callback, args, self, None)
    _register_raw(self, fd, _WRITE)
    old = self._writers.get(fd)
    self._writers[fd] = handle
    if old is not None:
        old.cancel()
    return handle


def _remove_writer(self: LoopCore, fd: int) -> bool:
    if self._closed:
        return False
    handle = self._writers.pop(fd, None)
    if handle is None:
        return False
    _unregister_raw(self, fd, _WRITE)
    handle.cancel()
    return True


def _dispatch(self: LoopCore, fd: int, readable: bool, writable: bool) -> None:
    if fd == self._wake_rfd:
        _drain_wakeup(self)
        return
    if fd == self._sig_rfd:
        _read_signals(self)
        return
    if readable:
        handle = self._readers.get(fd)
        if handle is not None:
            if handle._cancelled:
                _remove_reader(self, fd)
            else:
                self._ready.append(handle)
        elif self._lazy_readers and fd in self._lazy_readers:
            # A kept registration fired with nobody reading: drop it now.
            _unregister_raw(self, fd, _READ)
    if writable:
        handle = self._writers.get(fd)
        if handle is not None:
            if handle._cancelled:
                _remove_writer(self, fd)
            else:
                self._ready.append(handle)


def _context_of(context: dict[str, Any]) -> Context | None:
    """The context of the task, future or handle an error context names, if any."""
    for key in ("task", "future", "handle"):
        thing = context.get(key)
        if thing is None:
            continue
        get_context = getattr(thing, "get_context", None)
        if get_context is None:
            return None
        ctx = get_context()
        return ctx if isinstance(ctx, Context) else None
    return None


def _poll(self: LoopCore, timeout: float) -> None:
    epoll = self._epoll
    if epoll is not None:
        try:
            # Typed loosely on purpose: compiled, the fd stays the int object
            # epoll made (no unboxing to look it up in ``_readers`` again).
            events: list[tuple[Any, int]] = epoll.poll(timeout, _MAX_EVENTS)
        except InterruptedError:
            return
        readers = self._readers
        ready = self._ready
        for fd, ev in events:
            if ev == _EPOLLIN:
                # The common case, inline: a registered reader's fd is readable.
                handle = readers.get(fd)
                if handle is not None and not handle._cancelled:
                    ready.append(handle)
                    continue
            _dispatch(
                self,
                fd,
                (ev & (_EPOLLIN | _EPOLLERR | _EPOLLHUP)) != 0,
                (ev & (_EPOLLOUT | _EPOLLERR | _EPOLLHUP)) != 0,
            )
    else:
        sel = self._selector
        assert sel is not None
        for key, mask in sel.select(None if timeout < 0 else timeout):
            _dispatch(
                self,
                key.fd,
                (mask & selectors.EVENT_READ) != 0,
                (mask & selectors.EVENT_WRITE) != 0,
            )


def _run_once(self: LoopCore) -> None:
    scheduled = self._scheduled
    nsched = len(scheduled)
    if (
        self._timer_cancelled_count >= _MIN_CANCELLED_TO_COMPACT
        and self._timer_cancelled_count > nsched * _CANCELLED_FRACTION
    ):
        kept: list[TimerHandle] = []
        for timer in scheduled:
            if timer._cancelled:
                timer._scheduled = False
            else:
                kept.append(timer)
        heapq.heapify(kept)
        self._scheduled = scheduled = kept
        self._timer_cancelled_count = 0
    else:
        while scheduled and scheduled[0]._cancelled:
            self._timer_cancelled_count -= 1
            _heappop(scheduled)._scheduled = False

    ready = self._ready
    timeout: float
    if ready or self._stopping:
        timeout = 0.0
    elif scheduled:
        timeout = scheduled[0]._when - _monotonic()
        if timeout < 0.0:
            timeout = 0.0
        elif timeout > _MAX_SELECT_TIMEOUT:
            timeout = _MAX_SELECT_TIMEOUT
    else:
        timeout = -1.0

    if timeout == 0.0 and len(self._fd_mask) <= 1 and ready:
        # Only the wake-up fd is registered and callbacks are waiting: no
        # readiness can change what runs next, so skip the syscall. (Threadsafe
        # callbacks are already in the ready list; the eventfd is drained later.)
        pass
    elif self._debug and timeout != 0.0:
        started = _monotonic()
        _poll(self, timeout)
        took = _monotonic() - started
        if took >= 1.0:
            logger.log(logging.INFO, "poll %.3f ms took %.3f ms", timeout * 1e3, took * 1e3)
    else:
        _poll(self, timeout)

    if scheduled:
        end = _monotonic() + self._clock_resolution
        while scheduled:
            timer = scheduled[0]
            if timer._when >= end:
                break
            _heappop(scheduled)
            timer._scheduled = False
            if timer._cancelled:
                self._timer_cancelled_count -= 1
            else:
                ready.append(timer)
        # Interpreted, this frame can outlive the call (see the end); keep no timer in it.
        del timer

    if not ready:
        return
    # Callbacks scheduled from here on go to a fresh list: the next iteration.
    self._ready = []
    # Each slot is emptied as its handle is taken, so a handle that ran is
    # released before the next one runs: a task that finished with an error
    # nobody retrieves is reported at once (and frees its resources), as on
    # the stdlib loop, not when the whole batch is done.
    batch = cast("list[Handle | None]", ready)
    ntodo = len(batch)
    i = 0
    try:
        if self._debug:
            while i < ntodo:
                handle = batch[i]
                batch[i] = None
                i += 1
                if handle is None or handle._cancelled:
                    continue
                started = _monotonic()
                handle._run()
                took = _monotonic() - started
                if took >= self.slow_callback_duration:
                    logger.warning("Executing %s took %.3f seconds", handle, took)
        else:
            while i < ntodo:
                handle = batch[i]
                batch[i] = None
                i += 1
                if handle is not None and not handle._cancelled:
                    handle._run()
    except BaseException:
        # KeyboardInterrupt/SystemExit: what did not run yet stays first in line.
        if i < ntodo:
            self._ready = ready[i:] + self._ready
        raise
    # Interpreted, a coroutine that raised in one of these callbacks keeps this
    # frame alive from its traceback (through Handle._run's frame, its f_back),
    # locals included: drop the last handle, which may be that very task's step,
    # so that a failed task nobody holds is reported at once (see Handle._run).
    handle = None


def _check_socket(self: LoopCore, sock: socket.socket) -> None:
    if self._closed:
        raise RuntimeError("Event loop is closed")
    import ssl

    if isinstance(sock, ssl.SSLSocket):
        raise TypeError("Socket cannot be of type SSLSocket")
    if sock.gettimeout() != 0:
        raise ValueError("the socket must be non-blocking")


def _known_unreadable(self: LoopCore, sock: socket.socket) -> bool:
    """The last poll saw no data on ``sock`` (its kept registration did not fire).

    Reading then would almost surely fail with EAGAIN; waiting is correct either
    way, as the level-triggered registration reports data on the next poll.
    """
    kept = self._lazy_readers.get(sock.fileno())
    return kept is not None and kept() is sock


def _wait_readable(
    self: LoopCore, sock: socket.socket, fut: Any, callback: Callable[..., object], *args: object
) -> None:
    fd = sock.fileno()
    _ensure_fd_no_transport(self, fd)
    handle = _add_sock_reader(self, sock, fd, callback, args)
    fut.add_done_callback(_FdCleanup(self, fd, handle, False))


def _wait_writable(
    self: LoopCore, sock: socket.socket, fut: Any, callback: Callable[..., object], *args: object
) -> None:
    fd = sock.fileno()
    _ensure_fd_no_transport(self, fd)
    handle = _add_writer(self, fd, callback, args)
    fut.add_done_callback(_FdCleanup(self, fd, handle, True))


def _read_signals(self: LoopCore) -> None:
    while True:
        try:
            data = os.read(self._sig_rfd, 4096)
        except (BlockingIOError, InterruptedError):
            return
        if not data:
            return
        for signum in data:
            handle = self._signal_handlers.get(signum)
            if handle is None:
                continue
            if handle._cancelled:
                self.remove_signal_handler(signum)
            else:
                self._ready.append(handle)
