"""Cancelling a blocked waiter raises CancelledError and nothing else.

Compiled with mypyc, a coroutine forwards a cancellation to what it awaits
with the old three-argument ``throw()``, which Python 3.12+ answers with a
DeprecationWarning; under ``-W error`` that warning replaced the
CancelledError. These run with every warning turned into an error.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from corolla.sync import Barrier, Condition, Event, Lock, Semaphore


async def _held_lock() -> Coroutine[Any, Any, Any]:
    lock = Lock()
    await lock.acquire()
    return lock.acquire()


async def _unset_event() -> Coroutine[Any, Any, Any]:
    return Event().wait()


async def _empty_semaphore() -> Coroutine[Any, Any, Any]:
    return Semaphore(0).acquire()


async def _barrier() -> Coroutine[Any, Any, Any]:
    return Barrier(2).wait()


async def _condition_wait(lock: Any) -> Coroutine[Any, Any, Any]:
    cond = Condition(lock)

    async def wait() -> None:
        async with cond:
            await cond.wait()

    return wait()


async def _condition_corolla() -> Coroutine[Any, Any, Any]:
    return await _condition_wait(Lock())


async def _condition_stdlib_lock() -> Coroutine[Any, Any, Any]:
    return await _condition_wait(asyncio.Lock())


BLOCKERS: list[Callable[[], Coroutine[Any, Any, Coroutine[Any, Any, Any]]]] = [
    _held_lock,
    _unset_event,
    _empty_semaphore,
    _barrier,
    _condition_corolla,
    _condition_stdlib_lock,
]


@pytest.mark.parametrize("blocker", BLOCKERS, ids=lambda f: f.__name__.strip("_"))
def test_cancel_blocked_raises_only_cancelled(run: Any, blocker: Any) -> None:
    async def main() -> None:
        task = asyncio.create_task(await blocker())
        for _ in range(4):
            await asyncio.sleep(0)
        assert not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run(main())


def test_cancel_while_reacquiring_stdlib_lock(run: Any) -> None:
    # Notified, then cancelled while waiting to re-acquire a held stdlib lock:
    # CancelledError once the lock is free again, with the lock re-acquired.
    async def main() -> None:
        lock = asyncio.Lock()
        cond = Condition(lock)
        reacquired: list[bool] = []

        async def waiter() -> None:
            async with cond:
                try:
                    await cond.wait()
                finally:
                    reacquired.append(lock.locked())

        task = asyncio.create_task(waiter())
        for _ in range(2):
            await asyncio.sleep(0)
        await lock.acquire()
        cond.notify()
        for _ in range(3):
            await asyncio.sleep(0)
        task.cancel()
        for _ in range(3):
            await asyncio.sleep(0)
        assert not task.done()
        lock.release()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert reacquired == [True]
        assert not lock.locked()

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run(main())
