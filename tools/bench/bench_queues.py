"""corolla.queues benchmarks: the impl picks the classes, all on the stdlib loop.

"stdlib" is asyncio.Queue, "corolla" is corolla.queues.Queue, both on
asyncio's own loop; "uvloop" is asyncio.Queue on the uvloop loop.

- queue_nowait: put_nowait then get_nowait on an unbounded queue, N items;
- queue_producer_consumer: one producer, one consumer, Queue(maxsize=100),
  N items (both sides block in turn);
- queue_many_consumers: one producer feeding 10 consumers through
  Queue(maxsize=10), N items, with task_done/join;
- priority_queue_nowait: PriorityQueue put_nowait/get_nowait of N ints.

Run alone: python tools/bench/bench_queues.py  (prints ops/s and corolla/stdlib ratios)
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from _classes import Body, measure, print_table


def _measure(impl: str, ops: int, body: Body) -> float:
    return measure("corolla.queues", impl, ops, body)


def bench_queue_nowait(impl: str, n: int = 300_000) -> float:
    async def body(m: Any) -> None:
        q = m.Queue()
        for i in range(n):
            q.put_nowait(i)
        for _ in range(n):
            q.get_nowait()

    return _measure(impl, n, body)


def bench_queue_producer_consumer(impl: str, n: int = 200_000) -> float:
    async def body(m: Any) -> None:
        q = m.Queue(maxsize=100)

        async def producer() -> None:
            for i in range(n):
                await q.put(i)

        async def consumer() -> None:
            for _ in range(n):
                await q.get()

        await asyncio.gather(producer(), consumer())

    return _measure(impl, n, body)


def bench_queue_many_consumers(impl: str, n: int = 100_000, consumers: int = 10) -> float:
    async def body(m: Any) -> None:
        q = m.Queue(maxsize=10)

        async def consumer() -> None:
            while True:
                item = await q.get()
                q.task_done()
                if item is None:
                    return

        tasks = [asyncio.create_task(consumer()) for _ in range(consumers)]
        for i in range(n):
            await q.put(i)
        for _ in range(consumers):
            await q.put(None)
        await q.join()
        await asyncio.gather(*tasks)

    return _measure(impl, n, body)


def bench_priority_queue_nowait(impl: str, n: int = 200_000) -> float:
    async def body(m: Any) -> None:
        q = m.PriorityQueue()
        for i in range(n):
            q.put_nowait((i * 7919) % n)
        for _ in range(n):
            q.get_nowait()

    return _measure(impl, n, body)


def benchmarks() -> list[tuple[str, Callable[[str], float]]]:
    return [
        ("queue_nowait", bench_queue_nowait),
        ("queue_producer_consumer", bench_queue_producer_consumer),
        ("queue_many_consumers", bench_queue_many_consumers),
        ("priority_queue_nowait", bench_priority_queue_nowait),
    ]


def main() -> None:
    print_table("corolla.queues", benchmarks())


if __name__ == "__main__":
    main()
