"""corolla.sync benchmarks: the impl picks the classes, all on the stdlib loop.

"stdlib" is asyncio's Lock/Semaphore/Event, "corolla" is corolla.sync's, both
on asyncio's own loop; "uvloop" is asyncio's classes on the uvloop loop (to
show what the loop alone changes).

- lock_uncontended: ``async with lock: pass`` in one task, N times;
- lock_contended: 50 tasks each taking the lock N/50 times and yielding
  (``await asyncio.sleep(0)``) while holding it, so every acquire but the
  first waits and is handed the lock by release();
- semaphore_uncontended / semaphore_contended: the same with Semaphore(4);
- event_fanout_10k: 10,000 tasks wait on one Event, one set() wakes them all
  (ops = waiters woken per second, task creation included);
- condition_notify: a producer notifying a consumer through a Condition.

Run alone: python tools/bench/bench_sync.py  (prints ops/s and corolla/stdlib ratios)
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from _classes import Body, measure, print_table


def _measure(impl: str, ops: int, body: Body) -> float:
    return measure("corolla.sync", impl, ops, body)


def bench_lock_uncontended(impl: str, n: int = 300_000) -> float:
    async def body(m: Any) -> None:
        lock = m.Lock()
        for _ in range(n):
            async with lock:
                pass

    return _measure(impl, n, body)


async def _contended(prim: Any, tasks: int, per_task: int) -> None:
    async def worker() -> None:
        for _ in range(per_task):
            async with prim:
                await asyncio.sleep(0)

    await asyncio.gather(*(worker() for _ in range(tasks)))


def bench_lock_contended(impl: str, n: int = 100_000) -> float:
    async def body(m: Any) -> None:
        await _contended(m.Lock(), 50, n // 50)

    return _measure(impl, n, body)


def bench_semaphore_uncontended(impl: str, n: int = 300_000) -> float:
    async def body(m: Any) -> None:
        sem = m.Semaphore(4)
        for _ in range(n):
            async with sem:
                pass

    return _measure(impl, n, body)


def bench_semaphore_contended(impl: str, n: int = 100_000) -> float:
    async def body(m: Any) -> None:
        await _contended(m.Semaphore(4), 50, n // 50)

    return _measure(impl, n, body)


def bench_event_fanout_10k(impl: str, waiters: int = 10_000, rounds: int = 5) -> float:
    async def body(m: Any) -> None:
        for _ in range(rounds):
            ev = m.Event()
            tasks = [asyncio.create_task(ev.wait()) for _ in range(waiters)]
            await asyncio.sleep(0)
            ev.set()
            await asyncio.gather(*tasks)

    return _measure(impl, waiters * rounds, body)


def bench_condition_notify(impl: str, n: int = 50_000) -> float:
    async def body(m: Any) -> None:
        cond = m.Condition()
        box: list[int] = []

        async def consumer() -> None:
            async with cond:
                for _ in range(n):
                    await cond.wait_for(lambda: bool(box))
                    box.pop()
                    cond.notify()

        async def producer() -> None:
            async with cond:
                for i in range(n):
                    await cond.wait_for(lambda: not box)
                    box.append(i)
                    cond.notify()

        await asyncio.gather(consumer(), producer())

    return _measure(impl, n, body)


def benchmarks() -> list[tuple[str, Callable[[str], float]]]:
    return [
        ("lock_uncontended", bench_lock_uncontended),
        ("lock_contended", bench_lock_contended),
        ("semaphore_uncontended", bench_semaphore_uncontended),
        ("semaphore_contended", bench_semaphore_contended),
        ("event_fanout_10k", bench_event_fanout_10k),
        ("condition_notify", bench_condition_notify),
    ]


def main() -> None:
    print_table("corolla.sync", benchmarks())


if __name__ == "__main__":
    main()
