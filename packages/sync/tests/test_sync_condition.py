"""Condition, Semaphore, BoundedSemaphore and Barrier behaviour, on every loop."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from corolla.sync import (
    Barrier,
    BoundedSemaphore,
    BrokenBarrierError,
    Condition,
    Lock,
    Semaphore,
)

REPR = re.compile(r"^<corolla\.sync\.\S+ object at 0x[0-9a-f]+ \[(?P<extra>.*)\]>$")


async def yield_n(n: int) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


def extra(obj: object) -> str:
    match = REPR.match(repr(obj))
    assert match, repr(obj)
    return match["extra"]


# Condition


def test_condition_notify_n_and_all(run: Any) -> None:
    async def main() -> None:
        cond = Condition()
        woken: list[int] = []

        async def waiter(i: int) -> None:
            async with cond:
                assert await cond.wait() is True
                woken.append(i)

        tasks = [asyncio.create_task(waiter(i)) for i in range(5)]
        await yield_n(1)
        assert extra(cond) == "unlocked, waiters:5"
        async with cond:
            cond.notify()
        await yield_n(3)
        assert woken == [0]
        async with cond:
            cond.notify(2)
        await yield_n(3)
        assert woken == [0, 1, 2]
        async with cond:
            cond.notify_all()
        await asyncio.gather(*tasks)
        assert woken == [0, 1, 2, 3, 4]
        assert not cond._waiters

    run(main())


def test_condition_wait_for(run: Any) -> None:
    async def main() -> None:
        cond = Condition()
        box: list[int] = []

        async def consumer() -> int:
            async with cond:
                return await cond.wait_for(lambda: len(box) >= 3 and len(box))

        t = asyncio.create_task(consumer())
        for i in range(3):
            await yield_n(1)
            async with cond:
                box.append(i)
                cond.notify_all()
        assert await t == 3

    run(main())


def test_condition_with_given_lock(run: Any) -> None:
    async def main() -> None:
        lock = Lock()
        cond = Condition(lock)
        async with cond:
            assert lock.locked()
            assert cond.locked()
        assert not lock.locked()
        await cond.acquire()
        assert lock.locked()
        cond.release()
        assert not lock.locked()

    run(main())


def test_condition_with_stdlib_lock(run: Any) -> None:
    async def main() -> None:
        cond = Condition(asyncio.Lock())
        t = asyncio.create_task(_wait_once(cond))
        await yield_n(1)
        async with cond:
            cond.notify()
        assert await t

    run(main())


async def _wait_once(cond: Condition) -> bool:
    async with cond:
        return await cond.wait()


def test_condition_errors_without_lock(run: Any) -> None:
    async def main() -> None:
        cond = Condition()
        with pytest.raises(RuntimeError, match="un-acquired"):
            await cond.wait()
        with pytest.raises(RuntimeError, match="un-acquired"):
            cond.notify()
        with pytest.raises(RuntimeError, match="un-acquired"):
            cond.notify_all()

    run(main())


def test_condition_cancelled_wait_reacquires(run: Any) -> None:
    async def main() -> None:
        cond = Condition()
        state: list[bool] = []

        async def waiter() -> None:
            async with cond:
                try:
                    await cond.wait()
                finally:
                    state.append(cond.locked())

        t = asyncio.create_task(waiter())
        await yield_n(1)
        await cond.acquire()
        t.cancel()
        await yield_n(2)
        cond.release()
        with pytest.raises(asyncio.CancelledError):
            await t
        assert state == [True]
        assert not cond.locked()

    run(main())


def test_condition_cancelled_after_notify_passes_it_on(run: Any) -> None:
    async def main() -> None:
        cond = Condition()
        woken: list[int] = []

        async def waiter(i: int) -> None:
            async with cond:
                await cond.wait()
                woken.append(i)

        a = asyncio.create_task(waiter(1))
        b = asyncio.create_task(waiter(2))
        await yield_n(1)
        async with cond:
            cond.notify(1)
            a.cancel()
        await asyncio.gather(a, b, return_exceptions=True)
        assert a.cancelled()
        assert woken == [2]

    run(main())


# Semaphore


def test_semaphore_counts(run: Any) -> None:
    async def main() -> None:
        sem = Semaphore(2)
        assert extra(sem) == "unlocked, value:2"
        await sem.acquire()
        await sem.acquire()
        assert sem.locked()
        assert extra(sem) == "locked"
        t = asyncio.create_task(sem.acquire())
        await yield_n(1)
        assert extra(sem) == "locked, waiters:1"
        sem.release()
        assert await t
        sem.release()
        sem.release()
        assert not sem.locked()
        async with sem:
            assert sem._value == 1

    run(main())


def test_semaphore_fifo_no_starvation(run: Any) -> None:
    async def main() -> list[int]:
        sem = Semaphore(0)
        order: list[int] = []

        async def worker(i: int) -> None:
            async with sem:
                order.append(i)

        tasks = [asyncio.create_task(worker(i)) for i in range(6)]
        await yield_n(1)
        sem.release()
        # A newcomer must queue behind the woken waiter, not take its slot.
        late = asyncio.create_task(worker(99))
        await asyncio.gather(*tasks, late)
        return order

    assert run(main()) == [0, 1, 2, 3, 4, 5, 99]


def test_semaphore_cancelled_woken_waiter_hands_off(run: Any) -> None:
    async def main() -> None:
        sem = Semaphore(0)
        a = asyncio.create_task(sem.acquire())
        b = asyncio.create_task(sem.acquire())
        await yield_n(1)
        sem.release()
        a.cancel()
        assert await b
        assert a.cancelled()
        assert sem._value == 0
        sem.release()
        assert sem._value == 1

    run(main())


def test_semaphore_bad_value() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        Semaphore(-1)
    with pytest.raises(ValueError, match=">= 0"):
        BoundedSemaphore(-1)


def test_bounded_semaphore_over_release(run: Any) -> None:
    async def main() -> None:
        sem = BoundedSemaphore(2)
        with pytest.raises(ValueError, match="too many"):
            sem.release()
        await sem.acquire()
        sem.release()
        with pytest.raises(ValueError, match="too many"):
            sem.release()
        assert sem._value == 2

    run(main())


def test_semaphore_two_loops_raise() -> None:
    sem = Semaphore(0)

    async def first() -> None:
        t = asyncio.create_task(sem.acquire())
        await yield_n(1)
        sem.release()
        await t
        sem.release()
        await sem.acquire()

    asyncio.run(first())

    async def second() -> None:
        with pytest.raises(RuntimeError, match="different event loop"):
            await sem.acquire()

    asyncio.run(second())


# Barrier


def test_barrier_round_and_indices(run: Any) -> None:
    async def main() -> None:
        barrier = Barrier(3)
        assert barrier.parties == 3
        assert extra(barrier) == "filling, waiters:0/3"
        tasks = [asyncio.create_task(barrier.wait()) for _ in range(2)]
        await yield_n(1)
        assert barrier.n_waiting == 2
        assert extra(barrier) == "filling, waiters:2/3"
        last = await barrier.wait()
        results = sorted([last, *(await asyncio.gather(*tasks))])
        assert results == [0, 1, 2]
        assert barrier.n_waiting == 0
        assert not barrier.broken

        # A second round works the same.
        async def use() -> int:
            async with barrier as index:
                return index

        assert sorted(await asyncio.gather(*(use() for _ in range(3)))) == [0, 1, 2]

    run(main())


def test_barrier_abort(run: Any) -> None:
    async def main() -> None:
        barrier = Barrier(3)
        t = asyncio.create_task(barrier.wait())
        await yield_n(1)
        await barrier.abort()
        assert barrier.broken
        assert extra(barrier) == "broken"
        with pytest.raises(BrokenBarrierError):
            await t
        with pytest.raises(BrokenBarrierError):
            await barrier.wait()
        await barrier.reset()
        assert not is_broken(barrier)
        assert sorted(await asyncio.gather(*(barrier.wait() for _ in range(3)))) == [0, 1, 2]

    run(main())


def is_broken(barrier: Barrier) -> bool:
    # A call, so mypy does not keep an earlier `assert barrier.broken` narrowing.
    return barrier.broken


def test_barrier_reset_while_waiting(run: Any) -> None:
    async def main() -> None:
        barrier = Barrier(3)
        tasks = [asyncio.create_task(barrier.wait()) for _ in range(2)]
        await yield_n(1)
        await barrier.reset()
        for result in await asyncio.gather(*tasks, return_exceptions=True):
            assert isinstance(result, BrokenBarrierError)
        assert barrier.n_waiting == 0
        assert not barrier.broken
        assert sorted(await asyncio.gather(*(barrier.wait() for _ in range(3)))) == [0, 1, 2]

    run(main())


def test_barrier_cancelled_waiter_leaves(run: Any) -> None:
    async def main() -> None:
        barrier = Barrier(2)
        t = asyncio.create_task(barrier.wait())
        await yield_n(1)
        assert barrier.n_waiting == 1
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        assert barrier.n_waiting == 0
        assert sorted(await asyncio.gather(barrier.wait(), barrier.wait())) == [0, 1]

    run(main())


def test_barrier_bad_parties() -> None:
    with pytest.raises(ValueError, match="parties"):
        Barrier(0)
    with pytest.raises(ValueError, match="parties"):
        Barrier(-3)


def test_broken_barrier_error_is_asyncio_s() -> None:
    assert BrokenBarrierError is asyncio.BrokenBarrierError
