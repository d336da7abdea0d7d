"""The compiled cores of Lock, Event and Condition (the public classes: ``_public``)."""

from __future__ import annotations

import sys
from asyncio import CancelledError
from collections import deque
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Protocol, TypeVar

from mypy_extensions import mypyc_attr

from corolla.sync._base import (
    READY,
    Await,
    LoopBound,
    Waiter,
    WaitFuture,
    discard,
    object_repr,
    reject_keywords,
)

_T = TypeVar("_T")


@mypyc_attr(allow_interpreted_subclasses=True)
class LockCore(LoopBound):
    """What :class:`corolla.sync.Lock` does (see its docstring in ``_public``)."""

    _waiters: deque[Waiter] | None
    _locked: bool

    def __init__(self, **unexpected: object) -> None:
        reject_keywords(self, unexpected)
        super().__init__()
        self._waiters = None
        self._locked = False

    def __repr__(self) -> str:
        extra = "locked" if self._locked else "unlocked"
        if self._waiters:
            extra = f"{extra}, waiters:{len(self._waiters)}"
        return object_repr(self, extra)

    def __aenter__(self) -> Awaitable[None]:
        # Uncontended: take the lock now and return a completed awaitable.
        if not self._locked and (self._waiters is None or not has_live_waiter(self._waiters)):
            self._locked = True
            return READY
        return self._acquire_none()

    async def _acquire_none(self) -> None:
        await self.acquire()

    def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Awaitable[None]:
        self.release()
        return READY

    def locked(self) -> bool:
        """True while some task holds the lock."""
        return self._locked

    async def acquire(self) -> bool:
        """Wait until the lock is free, then take it. Returns True."""
        if not self._locked and (self._waiters is None or not has_live_waiter(self._waiters)):
            self._locked = True
            return True
        waiters = self._waiters
        if waiters is None:
            waiters = deque()
            self._waiters = waiters
        waiter = self._get_loop().create_future()
        waiters.append(waiter)
        try:
            try:
                if sys.version_info >= (3, 12):
                    await WaitFuture(waiter)
                else:
                    await waiter
            finally:
                discard(waiters, waiter)
        except CancelledError:
            # Woken and cancelled before running: the lock is free but nobody
            # will take it, so hand the wake-up to the next waiter.
            if not self._locked:
                wake_next(self._waiters)
            raise
        self._locked = True
        return True

    def release(self) -> None:
        """Release the lock and wake the longest-waiting task, if any.

        Raises RuntimeError when the lock is not held.
        """
        if not self._locked:
            raise RuntimeError("Lock is not acquired")
        self._locked = False
        wake_next(self._waiters)


@mypyc_attr(allow_interpreted_subclasses=True)
class EventCore(LoopBound):
    """What :class:`corolla.sync.Event` does."""

    _waiters: deque[Waiter]
    _value: bool

    def __init__(self, **unexpected: object) -> None:
        reject_keywords(self, unexpected)
        super().__init__()
        self._waiters = deque()
        self._value = False

    def __repr__(self) -> str:
        extra = "set" if self._value else "unset"
        if self._waiters:
            extra = f"{extra}, waiters:{len(self._waiters)}"
        return object_repr(self, extra)

    def is_set(self) -> bool:
        """True when the flag is set."""
        return self._value

    def set(self) -> None:
        """Set the flag and wake every task waiting for it."""
        if self._value:
            return
        self._value = True
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(True)

    def clear(self) -> None:
        """Reset the flag."""
        self._value = False

    async def wait(self) -> bool:
        """Return True once the flag is set (at once if it already is)."""
        if self._value:
            return True
        waiter = self._get_loop().create_future()
        waiters = self._waiters
        waiters.append(waiter)
        try:
            if sys.version_info >= (3, 12):
                await WaitFuture(waiter)
            else:
                await waiter
            return True
        finally:
            discard(waiters, waiter)


class _LockLike(Protocol):
    async def acquire(self) -> Any: ...

    def release(self) -> None: ...

    def locked(self) -> bool: ...


@mypyc_attr(allow_interpreted_subclasses=True)
class ConditionCore(LoopBound):
    """What :class:`corolla.sync.Condition` does."""

    _lock: _LockLike
    _waiters: deque[Waiter]

    def __init__(self, lock: _LockLike | None = None, **unexpected: object) -> None:
        reject_keywords(self, unexpected)
        super().__init__()
        self._lock = lock_class() if lock is None else lock
        self._waiters = deque()

    def __repr__(self) -> str:
        extra = "locked" if self._lock.locked() else "unlocked"
        if self._waiters:
            extra = f"{extra}, waiters:{len(self._waiters)}"
        return object_repr(self, extra)

    async def __aenter__(self) -> None:
        await self._acquire_lock()

    async def _acquire_lock(self) -> None:
        lock = self._lock
        if isinstance(lock, LockCore):
            await lock.acquire()
        else:
            # Someone else's lock: its coroutine may not take throw(type, value, tb).
            await Await(lock.acquire())

    def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Awaitable[None]:
        self._lock.release()
        return READY

    def locked(self) -> bool:
        """True while the underlying lock is held."""
        return self._lock.locked()

    async def acquire(self) -> bool:
        """Acquire the underlying lock."""
        await self._acquire_lock()
        return True

    def release(self) -> None:
        """Release the underlying lock."""
        self._lock.release()

    async def wait(self) -> bool:
        """Release the lock, sleep until notified, then take the lock again.

        The lock is always re-acquired before this returns or raises, even
        when the wait is cancelled. Returns True.
        """
        if not self._lock.locked():
            raise RuntimeError("cannot wait on un-acquired lock")
        waiter = self._get_loop().create_future()
        self._lock.release()
        # No await inside except/finally blocks here: mypyc-compiled
        # coroutines can lose track of the exception being handled when they
        # suspend in one, so the error is carried in a variable instead.
        error: BaseException | None = None
        self._waiters.append(waiter)
        try:
            if sys.version_info >= (3, 12):
                await WaitFuture(waiter)
            else:
                await waiter
        except BaseException as exc:
            error = exc
        discard(self._waiters, waiter)
        # The lock is re-acquired whatever happened, even through cancellations.
        while True:
            try:
                await self._acquire_lock()
                break
            except CancelledError as exc:
                error = exc
            except BaseException as exc:
                error = exc
                break
        if error is not None:
            # We may have consumed a notification we will not act on: pass one
            # on (a spurious wake-up is allowed, a lost one is not).
            notify(self._waiters, 1)
            try:
                raise error
            finally:
                error = None
        return True

    async def wait_for(self, predicate: Callable[[], _T]) -> _T:
        """Wait until ``predicate()`` is true and return its value.

        The predicate is called with the lock held, first before waiting.
        """
        result = predicate()
        while not result:
            await self.wait()
            result = predicate()
        return result

    def notify(self, n: int = 1) -> None:
        """Wake up to ``n`` waiting tasks. The lock must be held."""
        if not self._lock.locked():
            raise RuntimeError("cannot notify on un-acquired lock")
        notify(self._waiters, n)

    def notify_all(self) -> None:
        """Wake every waiting task. The lock must be held."""
        self.notify(len(self._waiters))


# Helpers the methods share, as functions: compiled code calls a method of an
# instance of the (interpreted) public class through a Python-level lookup.


def has_live_waiter(waiters: deque[Waiter]) -> bool:
    """True when some waiter was not cancelled (a newcomer must queue behind it)."""
    return any(not waiter.cancelled() for waiter in waiters)


def wake_next(waiters: deque[Waiter] | None) -> None:
    """Hand a free lock to the first waiter, unless one was already woken."""
    if not waiters:
        return
    for waiter in waiters:
        if not waiter.done():
            waiter.set_result(True)
            return
        if not waiter.cancelled():
            # Already woken and about to take the lock.
            return


def notify(waiters: deque[Waiter], n: int) -> None:
    """Wake up to ``n`` condition waiters not woken yet."""
    woken = 0
    for waiter in waiters:
        if woken >= n:
            return
        if not waiter.done():
            woken += 1
            waiter.set_result(False)


# What Condition() makes when it is given no lock: the public Lock, which
# corolla.sync._public registers here (it cannot be imported from compiled code
# without a cycle).
lock_class: Any = LockCore
