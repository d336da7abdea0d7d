"""Lock and Event behaviour, on every loop."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from corolla.sync import Event, Lock

REPR = re.compile(r"^<corolla\.sync\.\S+ object at 0x[0-9a-f]+ \[(?P<extra>.*)\]>$")


async def yield_n(n: int) -> None:
    # Let other ready tasks run; deterministic, no timing involved.
    for _ in range(n):
        await asyncio.sleep(0)


def extra(obj: object) -> str:
    match = REPR.match(repr(obj))
    assert match, repr(obj)
    return match["extra"]


def test_lock_uncontended(run: Any) -> None:
    async def main() -> None:
        lock = Lock()
        assert not lock.locked()
        assert await lock.acquire() is True
        assert lock.locked()
        lock.release()
        assert not lock.locked()
        async with lock:
            assert lock.locked()
        assert not lock.locked()

    run(main())


def test_lock_created_outside_loop_then_used() -> None:
    lock = Lock()
    assert extra(lock) == "unlocked"

    async def main() -> None:
        async with lock:
            assert extra(lock) == "locked"

    asyncio.run(main())


def test_lock_release_unlocked_raises() -> None:
    with pytest.raises(RuntimeError, match="not acquired"):
        Lock().release()


def test_lock_fifo(run: Any) -> None:
    async def main() -> list[int]:
        lock = Lock()
        order: list[int] = []
        await lock.acquire()

        async def worker(i: int) -> None:
            async with lock:
                order.append(i)
                await asyncio.sleep(0)

        tasks = [asyncio.create_task(worker(i)) for i in range(10)]
        await yield_n(2)
        assert extra(lock) == "locked, waiters:10"
        lock.release()
        await asyncio.gather(*tasks)
        return order

    assert run(main()) == list(range(10))


def test_lock_no_barging(run: Any) -> None:
    # A task arriving after release() but before the woken waiter runs must queue.
    async def main() -> list[str]:
        lock = Lock()
        order: list[str] = []
        await lock.acquire()

        async def worker(name: str) -> None:
            async with lock:
                order.append(name)

        first = asyncio.create_task(worker("waiter"))
        await yield_n(1)
        lock.release()
        assert not lock.locked()
        late = asyncio.create_task(worker("late"))
        await asyncio.gather(first, late)
        return order

    assert run(main()) == ["waiter", "late"]


def test_lock_cancelled_waiter_hands_off(run: Any) -> None:
    async def main() -> None:
        lock = Lock()
        await lock.acquire()
        got: list[int] = []

        async def worker(i: int) -> None:
            async with lock:
                got.append(i)

        a = asyncio.create_task(worker(1))
        b = asyncio.create_task(worker(2))
        await yield_n(1)
        lock.release()  # wakes a
        a.cancel()  # ... which is cancelled before it runs
        await asyncio.gather(a, b, return_exceptions=True)
        assert a.cancelled()
        assert got == [2]
        assert not lock.locked()
        assert not lock._waiters

    run(main())


def test_lock_cancelled_waiter_not_woken(run: Any) -> None:
    async def main() -> None:
        lock = Lock()
        await lock.acquire()
        t = asyncio.create_task(lock.acquire())
        await yield_n(1)
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        assert lock.locked()
        lock.release()
        assert not lock.locked()
        # The only waiter left was cancelled: acquire takes the fast path.
        assert await lock.acquire()

    run(main())


def test_lock_fast_path_ignores_cancelled_waiters(run: Any) -> None:
    async def main() -> None:
        lock = Lock()
        await lock.acquire()
        t = asyncio.create_task(lock.acquire())
        await yield_n(1)
        t.cancel()
        lock.release()
        # t is cancelled but has not run its cleanup yet.
        assert await lock.acquire()
        with pytest.raises(asyncio.CancelledError):
            await t
        lock.release()

    run(main())


def test_lock_two_loops_raise() -> None:
    lock = Lock()

    async def hold_and_wait() -> None:
        await lock.acquire()
        t = asyncio.create_task(lock.acquire())
        await yield_n(1)
        lock.release()
        await t

    asyncio.run(hold_and_wait())

    async def other() -> None:
        with pytest.raises(RuntimeError, match="different event loop"):
            await lock.acquire()

    asyncio.run(other())


@pytest.mark.parametrize("name", ["Lock", "Event", "Condition", "Semaphore", "BoundedSemaphore"])
def test_no_loop_keyword(name: str) -> None:
    import corolla.sync

    cls = getattr(corolla.sync, name)
    with pytest.raises(
        TypeError, match=rf"{name}\.__init__\(\) got an unexpected keyword argument 'loop'"
    ):
        cls(loop=None)
    with pytest.raises(TypeError, match="unexpected keyword argument 'loop'"):
        corolla.sync.Barrier(2, loop=None)


def test_event_basics(run: Any) -> None:
    async def main() -> None:
        ev = Event()
        assert not ev.is_set()
        assert extra(ev) == "unset"
        results: list[bool] = []

        async def waiter() -> None:
            results.append(await ev.wait())

        tasks = [asyncio.create_task(waiter()) for _ in range(3)]
        await yield_n(1)
        assert extra(ev) == "unset, waiters:3"
        ev.set()
        ev.set()
        assert ev.is_set()
        await asyncio.gather(*tasks)
        assert results == [True, True, True]
        assert not ev._waiters
        assert await ev.wait()
        ev.clear()
        assert not ev.is_set()
        assert extra(ev) == "unset"

    run(main())


def test_event_set_then_clear_still_wakes(run: Any) -> None:
    async def main() -> None:
        ev = Event()
        t = asyncio.create_task(ev.wait())
        await yield_n(1)
        ev.set()
        ev.clear()
        assert await t is True

    run(main())


def test_event_cancelled_waiter_removed(run: Any) -> None:
    async def main() -> None:
        ev = Event()
        t = asyncio.create_task(ev.wait())
        await yield_n(1)
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        assert not ev._waiters
        ev.set()

    run(main())


def test_event_fan_out(run: Any) -> None:
    async def main() -> None:
        ev = Event()
        tasks = [asyncio.create_task(ev.wait()) for _ in range(1000)]
        await yield_n(1)
        ev.set()
        assert all(await asyncio.gather(*tasks))
        assert not ev._waiters

    run(main())


def test_event_two_loops_raise() -> None:
    ev = Event()

    async def first() -> None:
        t = asyncio.create_task(ev.wait())
        await yield_n(1)
        ev.set()
        await t
        ev.clear()

    asyncio.run(first())

    async def second() -> None:
        with pytest.raises(RuntimeError, match="different event loop"):
            await ev.wait()

    asyncio.run(second())


def test_async_with_binds_none(run: Any) -> None:
    async def main() -> None:
        from corolla.sync import Condition, Semaphore

        lock = Lock()
        for prim in (lock, Semaphore(1), Condition()):
            async with prim as value:
                assert value is None
        # Contended path too.
        await lock.acquire()
        t = asyncio.create_task(_enter(lock))
        await yield_n(1)
        lock.release()
        assert await t is None

    run(main())


async def _enter(lock: Lock) -> object:
    async with lock as value:
        result: object = value
    return result
