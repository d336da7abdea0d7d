"""Queue, LifoQueue and PriorityQueue."""

from __future__ import annotations

import asyncio
import heapq
import math
import sys
from collections import deque
from collections.abc import Generator
from typing import Any, Generic, Protocol, TypeVar

from mypy_extensions import mypyc_attr

from corolla.queues._errors import QueueEmpty, QueueFull, QueueShutDown

_T = TypeVar("_T")


class _Waiter(Protocol):
    # What we need from loop.create_future(), whatever the loop.
    def done(self) -> bool: ...

    def cancelled(self) -> bool: ...

    def cancel(self, msg: Any | None = None) -> bool: ...

    def set_result(self, result: Any, /) -> None: ...

    def result(self) -> Any: ...

    _asyncio_future_blocking: bool

    def __await__(self) -> Generator[Any, None, Any]: ...


class _WaitFuture:
    # ``await _WaitFuture(fut)`` is ``await fut`` for a future of any loop.
    # A mypyc-compiled coroutine cancelled while awaiting forwards the
    # exception with the old throw(type, value, tb) form, which 3.12+ futures
    # answer with a DeprecationWarning (an error under -W error, replacing the
    # CancelledError). Driving the future protocol in our own compiled
    # generator keeps that throw away from the future's iterator, for about
    # +1.4k instructions per wait (callgrind, 3.13) where a delegating
    # iterator cost +8.3k. corolla.sync has the same piece; the two packages
    # share no dependency to put it in.

    _fut: _Waiter

    def __init__(self, fut: _Waiter) -> None:
        self._fut = fut

    def __await__(self) -> Generator[Any, None, Any]:
        return _wait_future(self._fut)


def _wait_future(fut: _Waiter) -> Generator[Any, None, Any]:
    if not fut.done():
        fut._asyncio_future_blocking = True
        yield fut
        if not fut.done():
            raise RuntimeError("await wasn't used with future")
    return fut.result()


def _wake_first(waiters: deque[_Waiter]) -> None:
    # Wake the first waiter that is still waiting; drop the ones that are not.
    while waiters:
        waiter = waiters.popleft()
        if not waiter.done():
            waiter.set_result(None)
            return


def _wake_all(waiters: deque[_Waiter]) -> None:
    while waiters:
        waiter = waiters.popleft()
        if not waiter.done():
            waiter.set_result(None)


@mypyc_attr(allow_interpreted_subclasses=True)
class Queue(Generic[_T]):
    """A first-in, first-out queue for coroutines.

    ``maxsize <= 0`` means unbounded; otherwise ``put()`` waits while the
    queue holds ``maxsize`` items. Items are never handed directly to a
    waiting getter: a getter that is cancelled just as an item arrives leaves
    the item in the queue and passes the wake-up on, so nothing is lost.
    ``shutdown()`` makes further puts (and gets, once empty) raise
    :class:`QueueShutDown`.

    Subclasses may override ``_init``, ``_put``, ``_get`` and ``_qsize`` to
    change the storage order, as with asyncio.Queue.
    """

    _maxsize: int | float
    _limit: int
    _queue: Any
    _getters: deque[_Waiter]
    _putters: deque[_Waiter]
    _unfinished_tasks: int
    _joiners: deque[_Waiter]
    _is_shutdown: bool
    _loop: asyncio.AbstractEventLoop | None

    def __init__(self, maxsize: int | float = 0) -> None:
        self._loop = None
        self._maxsize = maxsize
        # full() compares sizes with an int: qsize >= 1.5 exactly when qsize >= 2.
        self._limit = maxsize if isinstance(maxsize, int) else math.ceil(maxsize)
        self._getters = deque()
        self._putters = deque()
        self._joiners = deque()
        self._unfinished_tasks = 0
        self._is_shutdown = False
        self._init(maxsize)

    # Storage: overridden by LifoQueue / PriorityQueue and user subclasses.

    def _init(self, maxsize: int | float) -> None:
        self._queue = deque()

    def _get(self) -> _T:
        item: _T = self._queue.popleft()
        return item

    def _put(self, item: _T) -> None:
        self._queue.append(item)

    def _qsize(self) -> int:
        size: int = len(self._queue)
        return size

    # Loop binding.

    def _get_loop(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        bound = self._loop
        if bound is None:
            self._loop = loop
        elif bound is not loop:
            raise RuntimeError(
                f"{self!r} is bound to a different event loop: it was first used from "
                f"{bound!r} and now from {loop!r}"
            )
        return loop

    # Representation.

    def __repr__(self) -> str:
        return f"<{type(self).__name__} at {id(self):#x} {self._format()}>"

    def __str__(self) -> str:
        return f"<{type(self).__name__} {self._format()}>"

    def _format(self) -> str:
        parts = [f"maxsize={self._maxsize!r}"]
        if self._queue:
            parts.append(f"_queue={list(self._queue)!r}")
        if self._getters:
            parts.append(f"_getters[{len(self._getters)}]")
        if self._putters:
            parts.append(f"_putters[{len(self._putters)}]")
        if self._unfinished_tasks:
            parts.append(f"tasks={self._unfinished_tasks}")
        if self._is_shutdown:
            parts.append("shutdown")
        return " ".join(parts)

    def __class_getitem__(cls, item: Any) -> Any:
        # Queue[int] at run time, as with the stdlib classes.
        from types import GenericAlias

        return GenericAlias(cls, item)

    # Size.

    @property
    def maxsize(self) -> int | float:
        """The bound given at construction (0 or less: unbounded)."""
        return self._maxsize

    def qsize(self) -> int:
        """Number of items in the queue."""
        return self._qsize()

    def empty(self) -> bool:
        """True when the queue holds no item."""
        return self._qsize() == 0

    def full(self) -> bool:
        """True when the queue holds ``maxsize`` items (never for an unbounded queue)."""
        if self._limit <= 0:
            return False
        return self._qsize() >= self._limit

    # Putting.

    async def put(self, item: _T) -> None:
        """Put ``item``, waiting while the queue is full.

        Raises QueueShutDown if the queue is (or becomes) shut down.
        """
        while self.full():
            if self._is_shutdown:
                raise QueueShutDown
            putter = self._get_loop().create_future()
            self._putters.append(putter)
            try:
                if sys.version_info >= (3, 12):
                    await _WaitFuture(putter)
                else:
                    await putter
            except BaseException:
                putter.cancel()
                try:
                    self._putters.remove(putter)
                except ValueError:
                    pass
                if not self.full() and not putter.cancelled():
                    # We were woken for a free slot we will not use.
                    _wake_first(self._putters)
                raise
        self.put_nowait(item)

    def put_nowait(self, item: _T) -> None:
        """Put ``item`` at once; QueueFull if there is no room, QueueShutDown after shutdown."""
        if self._is_shutdown:
            raise QueueShutDown
        if self.full():
            raise QueueFull
        self._put(item)
        self._unfinished_tasks += 1
        if self._getters:
            _wake_first(self._getters)

    # Getting.

    async def get(self) -> _T:
        """Remove and return an item, waiting while the queue is empty.

        Raises QueueShutDown once the queue is shut down and empty.
        """
        while self._qsize() == 0:
            if self._is_shutdown:
                raise QueueShutDown
            getter = self._get_loop().create_future()
            self._getters.append(getter)
            try:
                if sys.version_info >= (3, 12):
                    await _WaitFuture(getter)
                else:
                    await getter
            except BaseException:
                getter.cancel()
                try:
                    self._getters.remove(getter)
                except ValueError:
                    pass
                if self._qsize() != 0 and not getter.cancelled():
                    # We were woken for an item we will not take: the item
                    # stays queued and the next getter is woken for it.
                    _wake_first(self._getters)
                raise
        return self.get_nowait()

    def get_nowait(self) -> _T:
        """Remove and return an item at once; QueueEmpty if there is none.

        Raises QueueShutDown instead when the queue is shut down and empty.
        """
        if self._qsize() == 0:
            if self._is_shutdown:
                raise QueueShutDown
            raise QueueEmpty
        item = self._get()
        if self._putters:
            _wake_first(self._putters)
        return item

    # Task accounting.

    def task_done(self) -> None:
        """Mark one item taken from the queue as processed.

        ValueError if called more times than items were put.
        """
        if self._unfinished_tasks <= 0:
            raise ValueError("task_done() called too many times")
        self._unfinished_tasks -= 1
        if self._unfinished_tasks == 0:
            _wake_all(self._joiners)

    async def join(self) -> None:
        """Wait until every item put has been marked done with ``task_done()``."""
        if self._unfinished_tasks > 0:
            joiner = self._get_loop().create_future()
            self._joiners.append(joiner)
            try:
                if sys.version_info >= (3, 12):
                    await _WaitFuture(joiner)
                else:
                    await joiner
            except BaseException:
                joiner.cancel()
                raise

    # Shutdown.

    def shutdown(self, immediate: bool = False) -> None:
        """Shut the queue down: ``put()`` raises QueueShutDown from now on.

        With ``immediate=False`` items already queued can still be got; once the
        queue is empty ``get()`` raises QueueShutDown. With ``immediate=True``
        the queued items are discarded (and counted as done for ``join()``).
        Every blocked ``put()``/``get()`` is woken to see the shutdown.
        """
        self._is_shutdown = True
        if immediate:
            while self._qsize() != 0:
                self._get()
                if self._unfinished_tasks > 0:
                    self._unfinished_tasks -= 1
            if self._unfinished_tasks == 0:
                _wake_all(self._joiners)
        _wake_all(self._getters)
        _wake_all(self._putters)


class PriorityQueue(Queue[_T]):
    """A queue that returns the smallest item first (``heapq`` order)."""

    def _init(self, maxsize: int | float) -> None:
        self._queue = []

    def _put(self, item: _T) -> None:
        heapq.heappush(self._queue, item)

    def _get(self) -> _T:
        item: _T = heapq.heappop(self._queue)
        return item


class LifoQueue(Queue[_T]):
    """A queue that returns the most recently put item first."""

    def _init(self, maxsize: int | float) -> None:
        self._queue = []

    def _put(self, item: _T) -> None:
        self._queue.append(item)

    def _get(self) -> _T:
        item: _T = self._queue.pop()
        return item
