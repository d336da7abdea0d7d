"""The public queue classes, defined by the interpreter.

This module is never compiled (see ``exclude`` in pyproject.toml): each class
is an interpreted subclass of a plain compiled core from ``_queue.py``, so the
interpreter gives its instances a ``__dict__`` and a weak-reference slot and
clears their weak references when they are freed, on every Python version
(as with asyncio's queues, which user code keeps in WeakSets and subclasses).
"""

from __future__ import annotations

import types
from typing import TYPE_CHECKING, Generic, TypeVar

from corolla.queues._queue import LifoQueueCore, PriorityQueueCore, QueueCore

_T = TypeVar("_T")

__all__ = ["LifoQueue", "PriorityQueue", "Queue"]


class Queue(QueueCore, Generic[_T]):
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

    if not TYPE_CHECKING:
        # Queue[int] is a types.GenericAlias, as for asyncio's classes.
        __class_getitem__ = classmethod(types.GenericAlias)

    if TYPE_CHECKING:
        # The item type for type checkers; the compiled core takes Any.

        def _get(self) -> _T: ...

        def _put(self, item: _T) -> None: ...

        async def put(self, item: _T) -> None: ...

        def put_nowait(self, item: _T) -> None: ...

        async def get(self) -> _T: ...

        def get_nowait(self) -> _T: ...


class PriorityQueue(Queue[_T], PriorityQueueCore):
    """A queue that returns the smallest item first (``heapq`` order)."""


class LifoQueue(Queue[_T], LifoQueueCore):
    """A queue that returns the most recently put item first."""
