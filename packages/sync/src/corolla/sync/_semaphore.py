"""The compiled core of Semaphore and BoundedSemaphore (the public classes: ``_public``)."""

from __future__ import annotations

import sys
from asyncio import CancelledError
from collections import deque
from collections.abc import Awaitable
from types import TracebackType

from mypy_extensions import mypyc_attr

from corolla.sync._base import (
    READY,
    LoopBound,
    Waiter,
    WaitFuture,
    discard,
    object_repr,
    reject_keywords,
)


@mypyc_attr(allow_interpreted_subclasses=True)
class SemaphoreCore(LoopBound):
    """What :class:`corolla.sync.Semaphore` and :class:`corolla.sync.BoundedSemaphore` do.

    ``_bound_value`` is the BoundedSemaphore's limit, -1 for a plain Semaphore.
    """

    _value: int
    _waiters: deque[Waiter] | None
    _bound_value: int

    def __init__(self, value: int = 1, **unexpected: object) -> None:
        reject_keywords(self, unexpected)
        super().__init__()
        if value < 0:
            raise ValueError(f"Semaphore initial value must be >= 0, got {value!r}")
        self._value = value
        self._waiters = None
        self._bound_value = -1

    def __repr__(self) -> str:
        extra = "locked" if self.locked() else f"unlocked, value:{self._value}"
        if self._waiters:
            extra = f"{extra}, waiters:{len(self._waiters)}"
        return object_repr(self, extra)

    def __aenter__(self) -> Awaitable[None]:
        # A free slot and nobody queued: take it now, return a completed awaitable.
        if self._value > 0 and (self._waiters is None or not locked(self)):
            self._value -= 1
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
        """True when ``acquire()`` would have to wait."""
        return locked(self)

    async def acquire(self) -> bool:
        """Take a slot, waiting in line for one if none is free. Returns True."""
        if self._value > 0 and (self._waiters is None or not locked(self)):
            self._value -= 1
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
            if waiter.done() and not waiter.cancelled():
                # A slot was reserved for us by release(); give it back.
                self._value += 1
            raise
        finally:
            # Slots may have been freed while waiters queued behind us.
            while self._value > 0 and wake_next(self):
                pass
        return True

    def release(self) -> None:
        """Return a slot and wake the next waiter, if any.

        A BoundedSemaphore raises ValueError instead when that would exceed
        its initial value.
        """
        if self._bound_value >= 0 and self._value >= self._bound_value:
            raise ValueError("BoundedSemaphore released too many times")
        self._value += 1
        wake_next(self)


# Helpers the methods share, as functions: compiled code calls a method of an
# instance of the (interpreted) public class through a Python-level lookup.


def locked(sem: SemaphoreCore) -> bool:
    """True when ``acquire()`` would have to wait."""
    if sem._value == 0:
        return True
    waiters = sem._waiters
    if waiters is None:
        return False
    return any(not waiter.cancelled() for waiter in waiters)


def wake_next(sem: SemaphoreCore) -> bool:
    """Hand one free slot to the first waiter not already woken; False if none."""
    waiters = sem._waiters
    if not waiters:
        return False
    for waiter in waiters:
        if not waiter.done():
            sem._value -= 1
            waiter.set_result(True)
            return True
    return False
