"""The stdlib's own asyncio helpers running unchanged on the corolla loop."""

from __future__ import annotations

import asyncio
import contextvars
import sys
import threading

import pytest

from corolla.loop import EventLoop

pytestmark = pytest.mark.usefixtures("need_tasks")


def test_sleep_and_gather(loop: EventLoop) -> None:
    order: list[int] = []

    async def worker(n: int, delay: float) -> int:
        await asyncio.sleep(delay)
        order.append(n)
        return n * 10

    async def main() -> list[int]:
        return list(await asyncio.gather(worker(1, 0.02), worker(2, 0.0), worker(3, 0.01)))

    assert loop.run_until_complete(main()) == [10, 20, 30]
    assert order == [2, 3, 1]


def test_gather_return_exceptions(loop: EventLoop) -> None:
    async def fail() -> None:
        raise ValueError("x")

    async def main() -> list[object]:
        return list(await asyncio.gather(fail(), asyncio.sleep(0, "ok"), return_exceptions=True))

    result = loop.run_until_complete(main())
    assert isinstance(result[0], ValueError)
    assert result[1] == "ok"


def test_wait_for_timeout_and_success(loop: EventLoop) -> None:
    async def main() -> int:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.sleep(3600), 0.01)
        return await asyncio.wait_for(asyncio.sleep(0, 5), 10)

    assert loop.run_until_complete(main()) == 5


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.timeout is 3.11+")
def test_timeout_context_manager(loop: EventLoop) -> None:
    async def main() -> bool:
        try:
            async with asyncio.timeout(0.01):
                await asyncio.sleep(3600)
        except TimeoutError:
            return True
        return False

    assert loop.run_until_complete(main())


def test_lock_and_queue(loop: EventLoop) -> None:
    async def main() -> list[int]:
        lock = asyncio.Lock()
        queue: asyncio.Queue[int] = asyncio.Queue(maxsize=2)
        got: list[int] = []

        async def producer() -> None:
            for i in range(10):
                async with lock:
                    await queue.put(i)

        async def consumer() -> None:
            for _ in range(10):
                got.append(await queue.get())
                queue.task_done()

        await asyncio.gather(producer(), consumer())
        await queue.join()
        return got

    assert loop.run_until_complete(main()) == list(range(10))


def test_event_and_semaphore(loop: EventLoop) -> None:
    async def main() -> int:
        event = asyncio.Event()
        sem = asyncio.Semaphore(2)
        active = 0
        peak = 0

        async def job() -> None:
            nonlocal active, peak
            await event.wait()
            async with sem:
                active += 1
                peak = max(peak, active)
                await asyncio.sleep(0)
                active -= 1

        tasks = [asyncio.create_task(job()) for _ in range(6)]
        await asyncio.sleep(0)
        event.set()
        await asyncio.gather(*tasks)
        return peak

    assert loop.run_until_complete(main()) == 2


def test_to_thread(loop: EventLoop) -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="")

    def in_thread() -> tuple[str, bool]:
        return var.get(), threading.current_thread() is not threading.main_thread()

    async def main() -> tuple[str, bool]:
        var.set("propagated")
        return await asyncio.to_thread(in_thread)

    assert loop.run_until_complete(main()) == ("propagated", True)


def test_taskgroup_and_current_task(loop: EventLoop) -> None:
    async def child(n: int) -> int:
        assert asyncio.current_task() is not None
        await asyncio.sleep(0)
        return n

    async def main() -> list[int]:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(child(i)) for i in range(3)]
        assert asyncio.current_task() in asyncio.all_tasks()
        return [t.result() for t in tasks]

    assert loop.run_until_complete(main()) == [0, 1, 2]


def test_stdlib_future_awaited_on_corolla_loop(loop: EventLoop) -> None:
    async def main() -> str:
        fut: asyncio.Future[str] = asyncio.Future(loop=loop)
        loop.call_later(0.001, fut.set_result, "stdlib future")
        return await fut

    assert loop.run_until_complete(main()) == "stdlib future"


def test_run_coroutine_threadsafe(loop: EventLoop) -> None:
    results: list[int] = []

    async def compute() -> int:
        await asyncio.sleep(0)
        return 42

    def worker() -> None:
        results.append(asyncio.run_coroutine_threadsafe(compute(), loop).result(timeout=30))

    async def main() -> None:
        thread = threading.Thread(target=worker)
        thread.start()
        while not results:
            await asyncio.sleep(0.001)
        thread.join()

    loop.run_until_complete(main())
    assert results == [42]


def test_wrap_future_from_executor(loop: EventLoop) -> None:
    async def main() -> int:
        return await asyncio.wrap_future(loop.run_in_executor(None, lambda: 9))

    assert loop.run_until_complete(main()) == 9
