"""sleep, Timeout/timeout/timeout_at and wait_for."""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Awaitable, Generator
from types import TracebackType
from typing import Any, Final, TypeVar, final

from corolla.futures._api import Future
from corolla.futures._future import FutureCore, finish_result
from corolla.tasks._combinators import ensure_future, forward_throws

_T = TypeVar("_T")


class _YieldOnce:
    """Awaiting it gives the loop one turn (a bare yield, as ``sleep(0)`` does)."""

    def __await__(self) -> Generator[None, None, None]:
        yield None


_YIELD_ONCE: Final = _YieldOnce()


def _wake(fut: FutureCore, result: object) -> None:
    if fut._st == 0:
        finish_result(fut, result)


async def sleep(delay: float, result: _T = None) -> _T:  # type: ignore[assignment]
    """Suspend the current task for ``delay`` seconds, then return ``result``.

    ``sleep(0)`` (or a negative delay) only lets the loop run other ready
    callbacks once, without a timer.
    """
    if delay <= 0:
        await _YIELD_ONCE
        return result
    loop = asyncio.get_running_loop()
    future: Future[_T] = Future(loop=loop)
    handle = loop.call_later(delay, _wake, future, result)
    try:
        return await future
    finally:
        handle.cancel()


class _State(enum.Enum):
    CREATED = "created"
    ENTERED = "active"
    EXPIRING = "expiring"
    EXPIRED = "expired"
    EXITED = "finished"


@final
class Timeout:
    """Async context manager that cancels the current task at a deadline.

    Create it with :func:`timeout` or :func:`timeout_at`. When the deadline
    (in ``loop.time()`` units, None for never) passes inside the block, the
    task is cancelled and the block raises :class:`TimeoutError`. Works with
    any task that has the 3.11+ ``cancelling()``/``uncancel()`` methods.
    """

    def __init__(self, when: float | None) -> None:
        self._state = _State.CREATED
        self._when = when
        self._handle: asyncio.Handle | None = None
        self._task: Any = None
        self._cancelling = 0

    def when(self) -> float | None:
        """The deadline, in ``loop.time()`` units, or None."""
        return self._when

    def reschedule(self, when: float | None) -> None:
        """Move the deadline (None disables it). Only inside the block."""
        if self._state is not _State.ENTERED:
            if self._state is _State.CREATED:
                raise RuntimeError("Timeout has not been entered")
            raise RuntimeError(f"Cannot change state of {self._state.value} Timeout")
        self._when = when
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if when is None:
            return
        loop = asyncio.get_running_loop()
        if when <= loop.time():
            self._handle = loop.call_soon(self._on_timeout)
        else:
            self._handle = loop.call_at(when, self._on_timeout)

    def expired(self) -> bool:
        """True once the deadline passed and the task was cancelled for it."""
        return self._state is _State.EXPIRING or self._state is _State.EXPIRED

    def __repr__(self) -> str:
        when = ""
        if self._state is _State.ENTERED:
            when = f" when={None if self._when is None else round(self._when, 3)}"
        return f"<Timeout [{self._state.value}]{when}>"

    async def __aenter__(self) -> Timeout:
        if self._state is not _State.CREATED:
            raise RuntimeError("Timeout has already been entered")
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("Timeout should be used inside a task")
        self._state = _State.ENTERED
        self._task = task
        self._cancelling = task.cancelling()
        self.reschedule(self._when)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> bool | None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if self._state is _State.EXPIRING:
            self._state = _State.EXPIRED
            if self._task.uncancel() <= self._cancelling and exc_type is not None:
                # No newer cancellation request: the expiry is ours to report.
                if issubclass(exc_type, asyncio.CancelledError):
                    raise _timeout_error_from(exc_val)
                if exc_val is not None:
                    # Another error replaced the cancellation (raised while it
                    # unwound): show the TimeoutError in its chain (3.13).
                    _chain_timeout_error(exc_val)
                    if isinstance(exc_val, BaseExceptionGroup):
                        for inner in exc_val.exceptions:
                            _chain_timeout_error(inner)
        elif self._state is _State.ENTERED:
            self._state = _State.EXITED
        return None

    def _on_timeout(self) -> None:
        self._task.cancel()
        self._state = _State.EXPIRING
        self._handle = None


def _timeout_error_from(cause: BaseException | None) -> TimeoutError:
    """A TimeoutError caused by ``cause``.

    Built here rather than in a local of ``__aexit__``: the raised error's
    traceback holds that frame, so a local naming the error would make a
    reference cycle (interpreted) keeping the cancelled work's frames, and
    everything they hold, alive until the next garbage collection. Spelled out
    rather than ``raise ... from``: compiled, ``raise ... from exc_val`` lost
    the cause.
    """
    error = TimeoutError()
    error.__cause__ = cause
    return error


def _chain_timeout_error(exc: BaseException) -> None:
    """Put a TimeoutError between ``exc``'s chain and the first CancelledError in it."""
    current = exc
    while True:
        context = current.__context__
        if context is None:
            return
        if isinstance(context, asyncio.CancelledError):
            timeout_error = TimeoutError()
            timeout_error.__cause__ = context
            timeout_error.__context__ = context
            current.__context__ = timeout_error
            return
        current = context


def timeout(delay: float | None) -> Timeout:
    """A :class:`Timeout` expiring ``delay`` seconds from now (None: never)."""
    loop = asyncio.get_running_loop()
    return Timeout(None if delay is None else loop.time() + delay)


def timeout_at(when: float | None) -> Timeout:
    """A :class:`Timeout` expiring at ``when`` (``loop.time()`` units; None: never)."""
    return Timeout(when)


async def _cancel_and_wait(fut: Any) -> None:
    loop = asyncio.get_running_loop()
    waiter: Future[None] = Future(loop=loop)

    def release(_: object) -> None:
        if not waiter.done():
            waiter.set_result(None)

    fut.add_done_callback(release)
    try:
        fut.cancel()
        await waiter
    finally:
        fut.remove_done_callback(release)


async def wait_for(fut: Awaitable[_T], timeout: float | None) -> _T:
    """Await ``fut`` with a timeout; on timeout cancel it and raise TimeoutError.

    The 3.12+ semantics: built on :func:`timeout`, so a cancellation from
    outside always wins, and a zero or negative timeout still returns the
    result of an already finished future.
    """
    if timeout is not None and timeout <= 0:
        task = ensure_future(fut)
        if task.done():
            result: _T = task.result()
            return result
        await _cancel_and_wait(task)
        try:
            result = task.result()
        except asyncio.CancelledError as exc:
            raise TimeoutError from exc
        return result
    async with timeout_at(None if timeout is None else asyncio.get_running_loop().time() + timeout):
        return await forward_throws(fut)
