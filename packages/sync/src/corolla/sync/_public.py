"""The public classes, defined by the interpreter over the compiled cores.

This module is never compiled (``exclude`` in pyproject.toml). A class mypyc
compiles has no ``__dict__`` and no weak-reference slot, and an interpreted
class may subclass it only if it allows that; asyncio's primitives are plain
Python classes, so user code weak-references them (a
``WeakValueDictionary`` of per-key locks), sets attributes on them and
subclasses them. These classes give all three on every Python version: the
interpreter adds the slots and clears weak references on free, and every
method is the compiled core's.
"""

from __future__ import annotations

from corolla.sync import _lock
from corolla.sync._barrier import BarrierCore
from corolla.sync._lock import ConditionCore, EventCore, LockCore
from corolla.sync._semaphore import SemaphoreCore


class Lock(LockCore):
    """A mutual-exclusion lock for coroutines.

    Waiters acquire the lock in the order they started waiting (FIFO). A
    waiter that is cancelled after it was chosen to take the lock passes the
    wake-up on to the next waiter, so a cancellation never strands the lock.
    Use it as ``async with lock: ...``.
    """


class Event(EventCore):
    """A flag that tasks can wait on.

    ``set()`` wakes every waiting task; ``clear()`` resets the flag so later
    ``wait()`` calls block again.
    """


class Condition(ConditionCore):
    """A condition variable: tasks wait on it until another task notifies them.

    It works with any lock that has ``acquire()``/``release()``/``locked()``
    (a new :class:`Lock` by default). The lock must be held to wait or notify.
    """


class Semaphore(SemaphoreCore):
    """A counter of free slots: ``acquire()`` takes one, ``release()`` returns one.

    Waiters are served in FIFO order and a newcomer never overtakes a task
    that is already waiting, so nobody starves. A slot handed to a waiter that
    is cancelled before it runs goes to the next waiter.
    """


class BoundedSemaphore(Semaphore):
    """A :class:`Semaphore` that raises ValueError when released more times than acquired."""

    def __init__(self, value: int = 1, **unexpected: object) -> None:
        super().__init__(value, **unexpected)
        self._bound_value = value


class Barrier(BarrierCore):
    """Lets ``parties`` tasks wait until all of them have reached the same point.

    ``wait()`` returns a distinct index in ``range(parties)`` to each task of a
    round. ``abort()`` breaks the barrier (waiters and later callers get
    :class:`asyncio.BrokenBarrierError`); ``reset()`` returns it to the empty
    state, failing the tasks that were waiting.
    """


_lock.lock_class = Lock
