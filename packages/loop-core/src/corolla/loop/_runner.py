"""Runner and run(): run a coroutine in a fresh corolla loop."""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import signal
import sys
import threading
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, Final, TypeVar

T = TypeVar("T")

_CREATED: Final = 0
_INITIALIZED: Final = 1
_CLOSED: Final = 2


def _default_loop_factory() -> asyncio.AbstractEventLoop:
    from corolla.loop._loop import new_event_loop

    return new_event_loop()


class Runner:
    """Run coroutines in one event loop, then tear it down cleanly.

    Like :class:`asyncio.Runner`: ``loop_factory`` makes the loop (a corolla
    loop by default), ``debug`` sets its debug mode, every ``run()`` shares
    one :class:`contextvars.Context`, and Ctrl-C cancels the running task
    (raising :class:`KeyboardInterrupt` once it has unwound).
    """

    def __init__(
        self,
        *,
        debug: object = None,
        loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None,
    ) -> None:
        self._state = _CREATED
        self._debug = debug
        self._loop_factory = loop_factory
        self._loop: asyncio.AbstractEventLoop | None = None
        self._context: contextvars.Context | None = None
        self._interrupt_count = 0
        self._set_event_loop = False
        self._main_task: Any = None

    def __enter__(self) -> Runner:
        self._lazy_init()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Cancel leftover tasks, close async generators and the executor, close the loop."""
        if self._state != _INITIALIZED:
            return
        loop = self._loop
        assert loop is not None
        try:
            _cancel_all_tasks(loop)
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(_shutdown_executor(loop))
        finally:
            if self._set_event_loop:
                asyncio.set_event_loop(None)
            loop.close()
            self._loop = None
            self._state = _CLOSED

    def get_loop(self) -> asyncio.AbstractEventLoop:
        """The runner's loop (made on first use)."""
        self._lazy_init()
        assert self._loop is not None
        return self._loop

    def run(self, coro: Coroutine[Any, Any, T], *, context: contextvars.Context | None = None) -> T:
        """Run ``coro`` to completion in the runner's loop and return its result."""
        if not inspect.iscoroutine(coro):
            raise ValueError(f"a coroutine was expected, got {coro!r}")
        if asyncio._get_running_loop() is not None:
            raise RuntimeError("Runner.run() cannot be called from a running event loop")
        self._lazy_init()
        loop = self._loop
        assert loop is not None
        if context is None:
            context = self._context
        task = loop.create_task(coro, context=context)
        self._main_task = task
        sigint_installed = False
        if (
            threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler
        ):
            try:
                signal.signal(signal.SIGINT, self._on_sigint)
                sigint_installed = True
            except ValueError:
                sigint_installed = False
        self._interrupt_count = 0
        try:
            result: T = loop.run_until_complete(task)
            return result
        except asyncio.CancelledError:
            if self._interrupt_count > 0:
                uncancel = getattr(task, "uncancel", None)
                if uncancel is None or uncancel() == 0:
                    raise KeyboardInterrupt from None
            raise
        finally:
            self._main_task = None
            if sigint_installed and signal.getsignal(signal.SIGINT) == self._on_sigint:
                signal.signal(signal.SIGINT, signal.default_int_handler)

    def _lazy_init(self) -> None:
        if self._state == _CLOSED:
            raise RuntimeError("Runner is closed")
        if self._state == _INITIALIZED:
            return
        if self._loop_factory is None:
            loop = _default_loop_factory()
            if not self._set_event_loop:
                asyncio.set_event_loop(loop)
                self._set_event_loop = True
        else:
            loop = self._loop_factory()
        if self._debug is not None:
            loop.set_debug(bool(self._debug))
        self._loop = loop
        self._context = contextvars.copy_context()
        self._state = _INITIALIZED

    def _on_sigint(self, signum: int, frame: object) -> None:
        self._interrupt_count += 1
        task = self._main_task
        if self._interrupt_count == 1 and task is not None and not task.done():
            task.cancel()
            loop = self._loop
            if loop is not None:
                loop.call_soon_threadsafe(_noop)
            return
        raise KeyboardInterrupt


def _noop() -> None:
    return None


async def _shutdown_executor(loop: asyncio.AbstractEventLoop) -> None:
    from corolla.loop._core import LoopCore

    target: object = loop
    if isinstance(target, LoopCore) or sys.version_info >= (3, 12):
        await loop.shutdown_default_executor(300.0)  # type: ignore[call-arg,unused-ignore]
    else:  # the 3.11 stdlib loop takes no timeout
        await loop.shutdown_default_executor()


class _Countdown:
    def __init__(self, fut: Any, count: int) -> None:
        self.fut = fut
        self.count = count

    def __call__(self, done: object) -> None:
        self.count -= 1
        if self.count <= 0 and not self.fut.done():
            self.fut.set_result(None)


def _cancel_all_tasks(loop: asyncio.AbstractEventLoop) -> None:
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    if not pending:
        return
    for task in pending:
        task.cancel()
    waiter = loop.create_future()
    countdown = _Countdown(waiter, len(pending))
    for task in pending:
        task.add_done_callback(countdown)
    loop.run_until_complete(waiter)
    for task in pending:
        if task.cancelled():
            continue
        exc = task.exception()
        if exc is not None:
            # Through Any: compiled, a call typed -> None checks for None, and a
            # replaced handler (a Mock) may return anything.
            loop_any: Any = loop
            loop_any.call_exception_handler(
                {
                    "message": "unhandled exception during asyncio.run() shutdown",
                    "exception": exc,
                    "task": task,
                }
            )


def run(
    main: Coroutine[Any, Any, T],
    *,
    debug: object = None,
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None,
) -> T:
    """Run ``main`` in a new corolla event loop and close the loop afterwards.

    Like :func:`asyncio.run`; the loop comes from ``loop_factory`` if given.
    """
    if asyncio._get_running_loop() is not None:
        raise RuntimeError("asyncio.run() cannot be called from a running event loop")
    with Runner(debug=debug, loop_factory=loop_factory) as runner:
        return runner.run(main)
