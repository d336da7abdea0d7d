"""ensure_future, gather, shield, wait and as_completed."""

from __future__ import annotations

import asyncio
import collections
import inspect
import sys
from collections.abc import Awaitable, Generator, Iterable
from typing import Any, Final, TypeVar, cast

from corolla.futures._api import Future
from corolla.futures._future import (
    FutureCore,
    future_add_to_awaited_by,
    future_discard_from_awaited_by,
    get_loop_of,
    isfuture,
)
from corolla.tasks._api import GatheringFuture, await_awaitable
from corolla.tasks._task import is_coroutine

_T = TypeVar("_T")

# 3.13's as_completed checks its argument and finds the loop when called;
# before, it was a generator doing that at the first step.
_EAGER_AS_COMPLETED: Final = sys.version_info >= (3, 13)

FIRST_COMPLETED = "FIRST_COMPLETED"
FIRST_EXCEPTION = "FIRST_EXCEPTION"
ALL_COMPLETED = "ALL_COMPLETED"


# 3.12 deprecated throw(type, value, traceback) in Python's own coroutines
# and in the stdlib's future iterators.
_FORWARD_THROWS: Final = sys.version_info >= (3, 12)


class OneArgThrow:
    """Iterates what ``await aw`` would, passing ``throw()`` on in its one-argument form.

    A mypyc-compiled coroutine hands an exception (a cancellation) down to
    what it awaits as ``throw(type, value, traceback)``; Python 3.12+
    coroutines and the stdlib's futures answer that form with a
    DeprecationWarning, an error under ``-W error`` that would replace the
    CancelledError. corolla's compiled code wraps the awaitables it did not
    make (a user's coroutine given to wait_for, say) in this on 3.12+; its own
    futures take the old form silently and are awaited directly.
    """

    def __init__(self, it: Generator[Any, Any, Any]) -> None:
        self._it = it

    def __await__(self) -> Generator[Any, Any, Any]:
        return cast("Generator[Any, Any, Any]", self)

    def __iter__(self) -> OneArgThrow:
        return self

    def __next__(self) -> Any:
        return self._it.send(None)

    def send(self, value: Any) -> Any:
        return self._it.send(value)

    def throw(self, typ: Any, value: Any = None, tb: Any = None) -> Any:
        exc = typ if value is None else value
        if tb is not None and isinstance(exc, BaseException) and exc.__traceback__ is not tb:
            exc = exc.with_traceback(tb)
        try:
            return self._it.throw(exc)
        finally:
            # When the error comes back out, its traceback holds this frame:
            # interpreted, locals naming it would be a reference cycle keeping
            # what its frames hold (a connection's SSLContext, say) until the
            # next garbage collection.
            typ = value = tb = exc = None

    def close(self) -> None:
        self._it.close()


def forward_throws(aw: Awaitable[_T]) -> Awaitable[_T]:
    """``aw``, or on 3.12+ a :class:`OneArgThrow` around it when it is not corolla's."""
    if not _FORWARD_THROWS or isinstance(aw, FutureCore):
        return aw
    get_iter = getattr(aw, "__await__", None)
    if get_iter is None:
        return aw  # let ``await`` raise its usual TypeError
    return cast("Awaitable[_T]", OneArgThrow(get_iter()))


def ensure_future(coro_or_future: Any, *, loop: asyncio.AbstractEventLoop | None = None) -> Any:
    """Return a future for ``coro_or_future``.

    A future (corolla's, the stdlib's, anything with the future protocol) is
    returned as is; a coroutine or other awaitable is wrapped in a task made
    by ``loop.create_task`` (default: the current loop), so task factories
    apply. Anything else raises TypeError; a future of another loop than
    ``loop`` raises ValueError.
    """
    if isfuture(coro_or_future):
        if loop is not None and loop is not get_loop_of(coro_or_future):
            raise ValueError(
                "The future belongs to a different loop than the one specified as the loop argument"
            )
        return coro_or_future
    if is_coroutine(coro_or_future):
        coro = coro_or_future
    elif inspect.isawaitable(coro_or_future):
        coro = await_awaitable(coro_or_future)
    else:
        raise TypeError("An asyncio.Future, a coroutine or an awaitable is required")
    if loop is None:
        loop = asyncio.get_event_loop()
    try:
        return loop.create_task(coro)
    except RuntimeError:
        if coro is not coro_or_future:
            coro.close()
        raise


def _cancelled_error_of(fut: Any) -> BaseException:
    maker = getattr(fut, "_make_cancelled_error", None)
    if maker is not None:
        exc: BaseException = maker()
        return exc
    return asyncio.CancelledError()


def gather(*coros_or_futures: Any, return_exceptions: object = False) -> Any:
    """Run awaitables concurrently; the result is the list of their results.

    The first exception propagates unless ``return_exceptions`` is true, in
    which case exceptions take their place in the list. The children are not
    cancelled when one fails; cancelling the returned future cancels them.
    """
    if not coros_or_futures:
        loop = asyncio.get_event_loop()
        empty: Future[list[Any]] = Future(loop=loop)
        empty.set_result([])
        return empty

    # The task calling gather() awaits each child, for the call graph.
    running = asyncio._get_running_loop()
    cur_task = None if running is None else asyncio.current_task(running)
    children: list[Any] = []
    by_arg: dict[int, Any] = {}
    loop_or_none: asyncio.AbstractEventLoop | None = None
    for arg in coros_or_futures:
        fut = by_arg.get(id(arg))
        if fut is None or fut[0] is not arg:
            child = ensure_future(arg, loop=loop_or_none)
            if loop_or_none is None:
                loop_or_none = get_loop_of(child)
            if child is not arg:
                # We made it: a pending task of ours being destroyed is our business.
                try:
                    child._log_destroy_pending = False
                except AttributeError:
                    pass
            by_arg[id(arg)] = (arg, child)
            children.append(child)
        else:
            children.append(fut[1])
    assert loop_or_none is not None
    outer = GatheringFuture(children, loop_or_none)
    unique = list({id(c): c for c in children}.values())
    total = len(unique)
    finished = 0

    def on_child_done(child: Any) -> None:
        nonlocal finished
        finished += 1
        if cur_task is not None:
            future_discard_from_awaited_by(child, cur_task)
        if outer.done():
            if not child.cancelled():
                child.exception()  # mark it retrieved: the outcome is decided
            return
        if not return_exceptions:
            if child.cancelled():
                outer.set_exception(_cancelled_error_of(child))
                return
            exc = child.exception()
            if exc is not None:
                outer.set_exception(exc)
                return
        if finished < total:
            return
        results: list[Any] = []
        for c in children:
            if c.cancelled():
                # A fresh error with the message: _make_cancelled_error() hands
                # out the original only once, and the outer future may need it.
                msg = getattr(c, "_cancel_message", None)
                results.append(asyncio.CancelledError("" if msg is None else msg))
            else:
                exc = c.exception()
                results.append(c.result() if exc is None else exc)
        if outer._cancel_requested:
            # asyncio takes the error from the last child in argument order
            # (not the one that just finished); do the same, messages included.
            outer.set_exception(_cancelled_error_of(children[-1]))
        else:
            outer.set_result(results)

    for child in unique:
        if child.done():
            # As 3.12+ does: already finished children count right away, so a
            # gather of finished (e.g. eager) tasks is finished on return.
            on_child_done(child)
        else:
            if cur_task is not None:
                future_add_to_awaited_by(child, cur_task)
            child.add_done_callback(on_child_done)
    return outer


def shield(arg: Any) -> Any:
    """Protect an awaitable from cancellation.

    Cancelling the returned future (or the task awaiting it) does not cancel
    the inner task, which keeps running; its result is then dropped.
    """
    inner = ensure_future(arg)
    if inner.done():
        return inner
    loop = get_loop_of(inner)
    outer: Future[Any] = Future(loop=loop)
    # The task calling shield() awaits the inner one, for the call graph.
    cur_task = asyncio.current_task(loop)
    if cur_task is not None:
        future_add_to_awaited_by(inner, cur_task)

    def on_inner_done(_: Any) -> None:
        if cur_task is not None:
            future_discard_from_awaited_by(inner, cur_task)
        if outer.cancelled():
            if not inner.cancelled():
                inner.exception()  # retrieved: nobody else will
            return
        if inner.cancelled():
            outer.cancel()
            return
        exc = inner.exception()
        if exc is not None:
            outer.set_exception(exc)
        else:
            outer.set_result(inner.result())

    def on_outer_done(_: Any) -> None:
        if not inner.done():
            inner.remove_done_callback(on_inner_done)
            if cur_task is not None:
                # Left running alone: the call graph forgets the shielding task.
                future_discard_from_awaited_by(inner, cur_task)

    inner.add_done_callback(on_inner_done)
    outer.add_done_callback(on_outer_done)
    return outer


def _check_futures_argument(fs: Any, what: str) -> None:
    if isfuture(fs) or is_coroutine(fs):
        raise TypeError(f"expect {what} of futures, not {type(fs).__name__}")


async def wait(
    fs: Iterable[Any], *, timeout: float | None = None, return_when: object = ALL_COMPLETED
) -> tuple[set[Any], set[Any]]:
    """Wait for futures and tasks; return ``(done, pending)`` sets.

    ``return_when`` is FIRST_COMPLETED, FIRST_EXCEPTION or ALL_COMPLETED;
    ``timeout`` (seconds) returns early without cancelling anything.
    Coroutines are refused: pass tasks.
    """
    _check_futures_argument(fs, "a list")
    futures = set(fs)
    if not futures:
        raise ValueError("Set of Tasks/Futures is empty.")
    if return_when not in (FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED):
        raise ValueError(f"Invalid return_when value: {return_when}")
    if any(is_coroutine(f) for f in futures):
        raise TypeError("Passing coroutines is forbidden, use tasks explicitly.")
    loop = asyncio.get_running_loop()
    futures = {ensure_future(f, loop=loop) for f in futures}

    waiter: Future[None] = Future(loop=loop)
    remaining = len(futures)

    def release(_: object = None) -> None:
        if not waiter.done():
            waiter.set_result(None)

    # The calling task awaits each of them, for the call graph.
    cur_task = asyncio.current_task(loop)

    def on_done(f: Any) -> None:
        nonlocal remaining
        remaining -= 1
        future_discard_from_awaited_by(f, cur_task)
        if (
            remaining <= 0
            or return_when == FIRST_COMPLETED
            or (return_when == FIRST_EXCEPTION and not f.cancelled() and f.exception() is not None)
        ):
            release()

    handle = loop.call_later(timeout, release) if timeout is not None else None
    for f in futures:
        f.add_done_callback(on_done)
        future_add_to_awaited_by(f, cur_task)
    try:
        await waiter
    finally:
        if handle is not None:
            handle.cancel()
        for f in futures:
            if f.remove_done_callback(on_done):
                # Still pending (or its callback not run yet): no longer awaited here.
                future_discard_from_awaited_by(f, cur_task)
    done = {f for f in futures if f.done()}
    return done, futures - done


class AsCompletedIterator:
    """What :func:`as_completed` returns: both kinds of iteration.

    ``for aw in it`` gives awaitables returning results in completion order;
    ``async for fut in it`` gives the finished futures/tasks themselves.
    """

    _loop: asyncio.AbstractEventLoop

    def __init__(self, fs: Iterable[Any], timeout: float | None) -> None:
        self._fs: Iterable[Any] | None = fs
        self._timeout = timeout
        self._todo: set[Any] = set()
        self._left = 0
        self._finished: collections.deque[Any] = collections.deque()
        self._waiter: Future[None] | None = None
        self._handle: asyncio.TimerHandle | None = None
        if _EAGER_AS_COMPLETED:
            self._start()

    def _start(self) -> None:
        # On 3.11/3.12 as_completed() is lazy (a generator there): the
        # arguments are checked and the loop looked up at the first step.
        fs = self._fs
        if fs is None:
            return
        self._fs = None
        _check_futures_argument(fs, "an iterable")
        loop = asyncio.get_event_loop()
        self._loop = loop
        self._todo = {ensure_future(f, loop=loop) for f in set(fs)}
        self._left = len(self._todo)
        for f in self._todo:
            f.add_done_callback(self._on_done)
        if self._todo and self._timeout is not None:
            self._handle = loop.call_later(self._timeout, self._on_timeout)

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _on_done(self, f: Any) -> None:
        if f not in self._todo:
            return
        self._todo.discard(f)
        self._finished.append(f)
        if not self._todo and self._handle is not None:
            self._handle.cancel()
        self._wake()

    def _on_timeout(self) -> None:
        for f in self._todo:
            f.remove_done_callback(self._on_done)
            self._finished.append(None)  # each marker raises TimeoutError once
        self._todo.clear()
        self._wake()

    async def _next_done(self, resolve: bool) -> Any:
        while not self._finished:
            self._waiter = Future(loop=self._loop)
            await self._waiter
        f = self._finished.popleft()
        if f is None:
            raise TimeoutError
        return f.result() if resolve else f

    def __iter__(self) -> AsCompletedIterator:
        return self

    def __next__(self) -> Awaitable[Any]:
        self._start()
        if self._left <= 0:
            raise StopIteration
        self._left -= 1
        return self._next_done(True)

    def __aiter__(self) -> AsCompletedIterator:
        return self

    def __anext__(self) -> Awaitable[Any]:
        self._start()
        if self._left <= 0:
            raise StopAsyncIteration
        self._left -= 1
        return self._next_done(False)


def as_completed(fs: Iterable[Any], *, timeout: float | None = None) -> AsCompletedIterator:
    """Iterate over awaitables in the order they finish (see AsCompletedIterator).

    After ``timeout`` seconds, the remaining items raise TimeoutError.
    """
    return AsCompletedIterator(fs, timeout)
