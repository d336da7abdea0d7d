"""corolla.futures / corolla.tasks benchmarks: the impl picks the classes, on the stdlib loop.

"stdlib" is asyncio.Future/Task/gather/sleep (the C-accelerated ones),
"corolla" is corolla.futures.Future, corolla.tasks.Task/gather/sleep, both
on asyncio's own loop; "uvloop" is the stdlib classes on the uvloop loop.

- future_create_resolve: Future(), set_result, result(), N times (no loop turn);
- future_await: a task awaits a fresh future resolved by call_soon, N times;
- task_spawn_finish: create a Task for a trivial coroutine and await it, N times;
- gather_10k: gather() of 10,000 trivial coroutines;
- sleep0_pingpong: two tasks each doing sleep(0) N/2 times, interleaved.

Run alone: python tools/bench/bench_futures.py  (prints ops/s and corolla/stdlib ratios)
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from typing import Any

from _table import print_table


class _Api:
    def __init__(self, future: Any, task: Any, gather: Any, sleep: Any) -> None:
        self.Future = future
        self.Task = task
        self.gather = gather
        self.sleep = sleep


def _setup(impl: str) -> tuple[_Api, asyncio.AbstractEventLoop] | None:
    std = _Api(asyncio.Future, asyncio.Task, asyncio.gather, asyncio.sleep)
    if impl == "stdlib":
        return std, asyncio.new_event_loop()
    if impl == "corolla":
        import corolla.futures
        import corolla.tasks

        api = _Api(
            corolla.futures.Future, corolla.tasks.Task, corolla.tasks.gather, corolla.tasks.sleep
        )
        return api, asyncio.new_event_loop()
    if impl == "uvloop":
        try:
            import uvloop
        except ImportError:
            return None
        return std, uvloop.new_event_loop()
    raise ValueError(f"unknown impl {impl!r}")


def _measure(impl: str, n: int, make: Callable[[_Api, asyncio.AbstractEventLoop], Any]) -> float:
    setup = _setup(impl)
    if setup is None:
        return math.nan
    api, loop = setup
    try:
        best = 0.0
        for _ in range(3):
            coro = make(api, loop)
            start = time.perf_counter()
            loop.run_until_complete(api.Task(coro, loop=loop))
            best = max(best, n / (time.perf_counter() - start))
        return best
    finally:
        loop.close()


def bench_future_create_resolve(impl: str, n: int = 300_000) -> float:
    async def body(api: _Api, loop: asyncio.AbstractEventLoop) -> None:
        future = api.Future
        for _ in range(n):
            f = future(loop=loop)
            f.set_result(1)
            f.result()

    return _measure(impl, n, body)


def bench_future_await(impl: str, n: int = 100_000) -> float:
    async def body(api: _Api, loop: asyncio.AbstractEventLoop) -> None:
        future = api.Future
        call_soon = loop.call_soon
        for _ in range(n):
            f = future(loop=loop)
            call_soon(f.set_result, 1)
            await f

    return _measure(impl, n, body)


async def _trivial() -> int:
    return 1


def bench_task_spawn_finish(impl: str, n: int = 100_000) -> float:
    async def body(api: _Api, loop: asyncio.AbstractEventLoop) -> None:
        task = api.Task
        for _ in range(n):
            await task(_trivial(), loop=loop)

    return _measure(impl, n, body)


def bench_gather_10k(impl: str, n: int = 10_000) -> float:
    async def body(api: _Api, loop: asyncio.AbstractEventLoop) -> None:
        await api.gather(*[_trivial() for _ in range(n)])

    return _measure(impl, n, body)


def bench_sleep0_pingpong(impl: str, n: int = 200_000) -> float:
    async def player(api: _Api, count: int) -> None:
        sleep = api.sleep
        for _ in range(count):
            await sleep(0)

    async def body(api: _Api, loop: asyncio.AbstractEventLoop) -> None:
        a = api.Task(player(api, n // 2), loop=loop)
        b = api.Task(player(api, n // 2), loop=loop)
        await a
        await b

    return _measure(impl, n, body)


def benchmarks() -> list[tuple[str, Callable[[str], float]]]:
    return [
        ("future_create_resolve", bench_future_create_resolve),
        ("future_await", bench_future_await),
        ("task_spawn_finish", bench_task_spawn_finish),
        ("gather_10k", bench_gather_10k),
        ("sleep0_pingpong", bench_sleep0_pingpong),
    ]


def main() -> None:
    print_table("corolla.futures", benchmarks())


if __name__ == "__main__":
    main()
