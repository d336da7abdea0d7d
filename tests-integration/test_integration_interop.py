"""corolla's pieces with each other and with the stdlib's, in both directions."""

from __future__ import annotations

import asyncio
import threading

import pytest

import corolla.futures
import corolla.loop
import corolla.queues
import corolla.sync
import corolla.tasks


def test_stdlib_helpers_on_the_corolla_loop(runner: corolla.loop.Runner) -> None:
    async def main() -> list[int]:
        lock = asyncio.Lock()
        queue: asyncio.Queue[int] = asyncio.Queue()
        out: list[int] = []

        async def worker(n: int) -> None:
            async with lock:
                await asyncio.sleep(0)
                await queue.put(n)

        await asyncio.gather(*(worker(n) for n in range(5)))
        async with asyncio.timeout(10):
            while not queue.empty():
                out.append(await queue.get())
        assert await asyncio.wait_for(asyncio.to_thread(sum, out), 10) == 10
        return out

    assert runner.run(main()) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("factory", [asyncio.SelectorEventLoop, corolla.loop.new_event_loop])
def test_corolla_sync_and_queues_on_any_loop(factory: object) -> None:
    async def main() -> int:
        queue: corolla.queues.Queue[int] = corolla.queues.Queue(maxsize=2)
        done = corolla.sync.Event()
        total = 0

        async def consume() -> None:
            nonlocal total
            while True:
                try:
                    total += await queue.get()
                except corolla.queues.QueueShutDown:
                    done.set()
                    return

        consumer = asyncio.ensure_future(consume())
        for i in range(100):
            await queue.put(i)
        queue.shutdown()
        await done.wait()
        await consumer
        return total

    with asyncio.Runner(loop_factory=factory) as r:  # type: ignore[arg-type]
        assert r.run(main()) == 4950


def test_stdlib_task_awaits_corolla_future_and_back() -> None:
    async def main() -> tuple[int, int]:
        loop = asyncio.get_running_loop()
        ours: corolla.futures.Future[int] = corolla.futures.Future(loop=loop)
        theirs: asyncio.Future[int] = loop.create_future()

        async def await_ours() -> int:
            return await ours

        stdlib_task = asyncio.ensure_future(await_ours())
        corolla_task = corolla.tasks.Task(asyncio.wait_for(theirs, 10), loop=loop)
        loop.call_soon(ours.set_result, 1)
        loop.call_soon(theirs.set_result, 2)
        return await stdlib_task, await corolla_task

    with asyncio.Runner(loop_factory=asyncio.SelectorEventLoop) as r:
        assert r.run(main()) == (1, 2)


def test_call_soon_threadsafe_wakes_a_sleeping_corolla_loop(runner: corolla.loop.Runner) -> None:
    async def main() -> str:
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        thread = threading.Thread(target=loop.call_soon_threadsafe, args=(fut.set_result, "woken"))
        thread.start()
        result = await asyncio.wait_for(fut, 10)
        thread.join()
        return str(result)

    assert runner.run(main()) == "woken"
