"""The compiled cores of Queue, LifoQueue and PriorityQueue.

The public classes are defined by the interpreter in ``_public.py`` (never
compiled), as subclasses of these plain compiled classes: a compiled class on
an interpreted base (``typing.Generic``) gets a weak-reference slot that, on
Python 3.11, its deallocator never clears (a weak reference outliving a queue
crashed the interpreter), and none at all on 3.12+.

Compiled code calls a method of an interpreted subclass instance through a
Python-level lookup (so overrides work), which would make every ``put_nowait``
pay for looking up ``full``, ``_qsize`` and ``_put``. A queue whose class
overrides none of the storage and size methods (``_STORAGE_METHODS``) uses
module-level functions instead; any override makes it call the methods, as
asyncio's Queue does.
"""

from __future__ import annotations

import asyncio
import heapq
import math
import sys
from collections import deque
from collections.abc import Generator
from typing import Any, Final, Protocol

from mypy_extensions import mypyc_attr

from corolla.queues._errors import QueueEmpty, QueueFull, QueueShutDown


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


# What a queue stores, chosen once per class (see _kind_of).
_CUSTOM: Final = -1  # a subclass overrides a storage or size method: call the methods
_FIFO: Final = 0
_LIFO: Final = 1
_HEAP: Final = 2

# The methods whose overrides asyncio's Queue honours from put/get and friends.
_STORAGE_METHODS: Final = (
    "_init",
    "_put",
    "_get",
    "_qsize",
    "qsize",
    "empty",
    "full",
    "put_nowait",
    "get_nowait",
)
_KIND_ATTRIBUTE: Final = "_corolla_queue_kind"


def _kind_of(cls: type) -> int:
    # Cached in the class's own __dict__ (a subclass computes its own).
    cached = cls.__dict__.get(_KIND_ATTRIBUTE)
    if isinstance(cached, int):
        return cached
    kind = _find_kind(cls)
    try:
        setattr(cls, _KIND_ATTRIBUTE, kind)
    except (TypeError, AttributeError):
        pass  # the compiled core classes themselves take no attributes
    return kind


def _find_kind(cls: type) -> int:
    owners: dict[str, type] = {}
    for name in _STORAGE_METHODS:
        for klass in cls.__mro__:
            if name in klass.__dict__:
                owners[name] = klass
                break
    storage = owners.get("_put")
    if storage is None or owners.get("_get") is not storage or owners.get("_init") is not storage:
        return _CUSTOM
    for name in ("_qsize", "qsize", "empty", "full", "put_nowait", "get_nowait"):
        if owners.get(name) is not QueueCore:
            return _CUSTOM
    if storage is QueueCore:
        return _FIFO
    if storage is LifoQueueCore:
        return _LIFO
    if storage is PriorityQueueCore:
        return _HEAP
    return _CUSTOM


# The storage and size operations for the three built-in kinds, without method calls.


def _take(q: QueueCore) -> Any:
    kind = q._kind
    if kind == _FIFO:
        return q._queue.popleft()
    if kind == _LIFO:
        return q._queue.pop()
    return heapq.heappop(q._queue)


def _size(q: QueueCore) -> int:
    if q._kind == _CUSTOM:
        return q._qsize()
    size: int = len(q._queue)
    return size


def _is_full(q: QueueCore) -> bool:
    if q._kind == _CUSTOM:
        return q.full()
    limit = q._limit
    if limit <= 0:
        return False
    size: int = len(q._queue)
    return size >= limit


def _is_empty(q: QueueCore) -> bool:
    if q._kind == _CUSTOM:
        return q.empty()
    return len(q._queue) == 0


def _put_nowait(q: QueueCore, item: Any) -> None:
    if q._is_shutdown:
        raise QueueShutDown
    kind = q._kind
    if kind == _CUSTOM:
        if q.full():
            raise QueueFull
        q._put(item)
    else:
        limit = q._limit
        if limit > 0 and len(q._queue) >= limit:
            raise QueueFull
        if kind == _HEAP:
            heapq.heappush(q._queue, item)
        else:
            q._queue.append(item)
    q._unfinished_tasks += 1
    if q._getters:
        _wake_first(q._getters)


def _get_nowait(q: QueueCore) -> Any:
    kind = q._kind
    if kind == _CUSTOM:
        if q.empty():
            if q._is_shutdown:
                raise QueueShutDown
            raise QueueEmpty
        item = q._get()
    else:
        storage = q._queue
        if len(storage) == 0:
            if q._is_shutdown:
                raise QueueShutDown
            raise QueueEmpty
        if kind == _FIFO:
            item = storage.popleft()
        elif kind == _LIFO:
            item = storage.pop()
        else:
            item = heapq.heappop(storage)
    if q._putters:
        _wake_first(q._putters)
    return item


def _bind_loop(q: QueueCore) -> asyncio.AbstractEventLoop:
    loop = asyncio.get_running_loop()
    bound = q._loop
    if bound is None:
        q._loop = loop
    elif bound is not loop:
        raise RuntimeError(
            f"{q!r} is bound to a different event loop: it was first used from "
            f"{bound!r} and now from {loop!r}"
        )
    return loop


@mypyc_attr(allow_interpreted_subclasses=True)
class QueueCore:
    """The compiled first-in, first-out queue (the public class is corolla.queues.Queue)."""

    _maxsize: int | float
    _limit: int
    _queue: Any
    _getters: deque[_Waiter]
    _putters: deque[_Waiter]
    _unfinished_tasks: int
    _joiners: deque[_Waiter]
    _is_shutdown: bool
    _loop: asyncio.AbstractEventLoop | None
    _kind: int

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
        kind = _kind_of(type(self))
        self._kind = kind
        if kind == _FIFO:
            self._queue = deque()
        elif kind == _CUSTOM:
            self._init(maxsize)
        else:
            self._queue = []

    # Storage: overridden by LifoQueue / PriorityQueue and user subclasses.

    def _init(self, maxsize: int | float) -> None:
        self._queue = deque()

    def _get(self) -> Any:
        return self._queue.popleft()

    def _put(self, item: Any) -> None:
        self._queue.append(item)

    def _qsize(self) -> int:
        size: int = len(self._queue)
        return size

    # Loop binding.

    def _get_loop(self) -> asyncio.AbstractEventLoop:
        return _bind_loop(self)

    # Representation.

    def __repr__(self) -> str:
        return f"<{type(self).__name__} at {id(self):#x} {self._format()}>"

    def __str__(self) -> str:
        return f"<{type(self).__name__} {self._format()}>"

    def _format(self) -> str:
        return _format(self)

    # Size.

    @property
    def maxsize(self) -> int | float:
        """The bound given at construction (0 or less: unbounded)."""
        return self._maxsize

    def qsize(self) -> int:
        """Number of items in the queue."""
        return _size(self)

    def empty(self) -> bool:
        """True when the queue holds no item."""
        return _size(self) == 0

    def full(self) -> bool:
        """True when the queue holds ``maxsize`` items (never for an unbounded queue)."""
        if self._limit <= 0:
            return False
        return _size(self) >= self._limit

    # Putting.

    async def put(self, item: Any) -> None:
        """Put ``item``, waiting while the queue is full.

        Raises QueueShutDown if the queue is (or becomes) shut down.
        """
        while _is_full(self):
            if self._is_shutdown:
                raise QueueShutDown
            putter = _bind_loop(self).create_future()
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
                if not _is_full(self) and not putter.cancelled():
                    # We were woken for a free slot we will not use.
                    _wake_first(self._putters)
                raise
        if self._kind == _CUSTOM:
            self.put_nowait(item)
        else:
            _put_nowait(self, item)

    def put_nowait(self, item: Any) -> None:
        """Put ``item`` at once; QueueFull if there is no room, QueueShutDown after shutdown."""
        _put_nowait(self, item)

    # Getting.

    async def get(self) -> Any:
        """Remove and return an item, waiting while the queue is empty.

        Raises QueueShutDown once the queue is shut down and empty.
        """
        while _is_empty(self):
            if self._is_shutdown:
                raise QueueShutDown
            getter = _bind_loop(self).create_future()
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
                if not _is_empty(self) and not getter.cancelled():
                    # We were woken for an item we will not take: the item
                    # stays queued and the next getter is woken for it.
                    _wake_first(self._getters)
                raise
        if self._kind == _CUSTOM:
            return self.get_nowait()
        return _get_nowait(self)

    def get_nowait(self) -> Any:
        """Remove and return an item at once; QueueEmpty if there is none.

        Raises QueueShutDown instead when the queue is shut down and empty.
        """
        return _get_nowait(self)

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
            joiner = _bind_loop(self).create_future()
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

    def shutdown(self, immediate: object = False) -> None:
        """Shut the queue down: ``put()`` raises QueueShutDown from now on.

        With ``immediate=False`` items already queued can still be got; once the
        queue is empty ``get()`` raises QueueShutDown. With ``immediate=True``
        the queued items are discarded (and counted as done for ``join()``).
        Every blocked ``put()``/``get()`` is woken to see the shutdown.
        """
        self._is_shutdown = True
        if immediate:
            while not _is_empty(self):
                if self._kind == _CUSTOM:
                    self._get()
                else:
                    _take(self)
                if self._unfinished_tasks > 0:
                    self._unfinished_tasks -= 1
            if self._unfinished_tasks == 0:
                _wake_all(self._joiners)
        _wake_all(self._getters)
        _wake_all(self._putters)


def _format(q: QueueCore) -> str:
    parts = [f"maxsize={q._maxsize!r}"]
    if q._queue:
        parts.append(f"_queue={list(q._queue)!r}")
    if q._getters:
        parts.append(f"_getters[{len(q._getters)}]")
    if q._putters:
        parts.append(f"_putters[{len(q._putters)}]")
    if q._unfinished_tasks:
        parts.append(f"tasks={q._unfinished_tasks}")
    if q._is_shutdown:
        parts.append("shutdown")
    return " ".join(parts)


@mypyc_attr(allow_interpreted_subclasses=True)
class PriorityQueueCore(QueueCore):
    """The compiled priority queue (the public class is corolla.queues.PriorityQueue)."""

    def _init(self, maxsize: int | float) -> None:
        self._queue = []

    def _put(self, item: Any) -> None:
        heapq.heappush(self._queue, item)

    def _get(self) -> Any:
        return heapq.heappop(self._queue)


@mypyc_attr(allow_interpreted_subclasses=True)
class LifoQueueCore(QueueCore):
    """The compiled last-in, first-out queue (the public class is corolla.queues.LifoQueue)."""

    def _init(self, maxsize: int | float) -> None:
        self._queue = []

    def _put(self, item: Any) -> None:
        self._queue.append(item)

    def _get(self) -> Any:
        return self._queue.pop()
