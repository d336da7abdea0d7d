"""Queue, LifoQueue and PriorityQueue behaviour, on every loop."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import pytest

from corolla.queues import (
    LifoQueue,
    PriorityQueue,
    Queue,
    QueueEmpty,
    QueueFull,
    QueueShutDown,
)


async def yield_n(n: int) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


def test_exceptions_are_asyncio_s() -> None:
    assert QueueEmpty is asyncio.QueueEmpty
    assert QueueFull is asyncio.QueueFull
    if sys.version_info >= (3, 13):
        assert QueueShutDown is asyncio.QueueShutDown
    assert issubclass(QueueShutDown, Exception)


def test_generic_alias() -> None:
    alias = Queue[int]
    assert alias.__origin__ is Queue  # type: ignore[attr-defined]
    assert alias.__args__ == (int,)  # type: ignore[attr-defined]
    assert PriorityQueue[tuple[int, str]].__origin__ is PriorityQueue  # type: ignore[attr-defined]
    q: Queue[int] = Queue()
    q.put_nowait(1)
    assert q.get_nowait() == 1


def test_orders() -> None:
    items = [3, 1, 2]
    for cls, expected in ((Queue, [3, 1, 2]), (LifoQueue, [2, 1, 3]), (PriorityQueue, [1, 2, 3])):
        q: Queue[int] = cls()
        for item in items:
            q.put_nowait(item)
        assert q.qsize() == 3
        assert [q.get_nowait() for _ in items] == expected
        assert q.empty()


def test_nowait_errors_and_sizes() -> None:
    q: Queue[str] = Queue(maxsize=2)
    assert q.maxsize == 2
    assert q.empty()
    assert not q.full()
    with pytest.raises(asyncio.QueueEmpty):
        q.get_nowait()
    q.put_nowait("a")
    q.put_nowait("b")
    assert q.full()
    with pytest.raises(asyncio.QueueFull):
        q.put_nowait("c")
    assert q.get_nowait() == "a"
    assert not q.full()


def test_unbounded_never_full() -> None:
    for size in (0, -1):
        q: Queue[int] = Queue(maxsize=size)
        for i in range(100):
            q.put_nowait(i)
        assert not q.full()


def test_repr_and_str() -> None:
    q: Queue[int] = Queue(maxsize=3)
    assert repr(q).startswith("<Queue at 0x")
    assert repr(q).endswith(" maxsize=3>")
    q.put_nowait(7)
    assert str(q) == "<Queue maxsize=3 _queue=[7] tasks=1>"
    q.shutdown()
    assert str(q) == "<Queue maxsize=3 _queue=[7] tasks=1 shutdown>"
    assert str(LifoQueue()) == "<LifoQueue maxsize=0>"


def test_get_waits_for_put(run: Any) -> None:
    async def main() -> None:
        q: Queue[int] = Queue()
        t = asyncio.create_task(q.get())
        await yield_n(1)
        assert "_getters[1]" in str(q)
        await q.put(5)
        assert await t == 5
        assert not q._getters

    run(main())


def test_put_waits_for_room(run: Any) -> None:
    async def main() -> None:
        q: Queue[int] = Queue(maxsize=1)
        await q.put(1)
        t = asyncio.create_task(q.put(2))
        await yield_n(1)
        assert not t.done()
        assert "_putters[1]" in str(q)
        assert await q.get() == 1
        await t
        assert q.get_nowait() == 2

    run(main())


def test_producers_consumers_fifo(run: Any) -> None:
    async def main() -> None:
        q: Queue[int] = Queue(maxsize=3)
        got: list[int] = []

        async def producer() -> None:
            for i in range(50):
                await q.put(i)

        async def consumer() -> None:
            for _ in range(50):
                got.append(await q.get())
                q.task_done()

        await asyncio.gather(consumer(), producer())
        assert got == list(range(50))
        await q.join()

    run(main())


def test_cancelled_getter_woken_for_item_keeps_item(run: Any) -> None:
    async def main() -> None:
        q: Queue[str] = Queue()
        a = asyncio.create_task(q.get())
        b = asyncio.create_task(q.get())
        await yield_n(1)
        q.put_nowait("x")  # wakes a
        a.cancel()  # ... which is cancelled before it runs
        assert await b == "x"
        assert a.cancelled()
        assert q.empty()

    run(main())


def test_cancelled_getter_alone_leaves_item_queued(run: Any) -> None:
    async def main() -> None:
        q: Queue[str] = Queue()
        a = asyncio.create_task(q.get())
        await yield_n(1)
        q.put_nowait("x")
        a.cancel()
        with pytest.raises(asyncio.CancelledError):
            await a
        assert q.get_nowait() == "x"

    run(main())


def test_cancelled_putter_passes_room_on(run: Any) -> None:
    async def main() -> None:
        q: Queue[int] = Queue(maxsize=1)
        q.put_nowait(0)
        a = asyncio.create_task(q.put(1))
        b = asyncio.create_task(q.put(2))
        await yield_n(1)
        assert q.get_nowait() == 0  # wakes a
        a.cancel()
        await b
        assert a.cancelled()
        assert q.get_nowait() == 2
        assert not q._putters

    run(main())


def test_task_done_and_join(run: Any) -> None:
    async def main() -> None:
        q: Queue[int] = Queue()
        with pytest.raises(ValueError, match="too many"):
            q.task_done()
        for i in range(3):
            q.put_nowait(i)
        joiner = asyncio.create_task(q.join())
        await yield_n(1)
        assert not joiner.done()
        for _ in range(3):
            q.get_nowait()
            q.task_done()
        await joiner
        await q.join()  # nothing unfinished: returns at once

    run(main())


def test_shutdown_graceful(run: Any) -> None:
    async def main() -> None:
        q: Queue[int] = Queue(maxsize=1)
        q.put_nowait(1)
        blocked_put = asyncio.create_task(q.put(2))
        await yield_n(1)
        q.shutdown()
        with pytest.raises(QueueShutDown):
            await blocked_put
        with pytest.raises(QueueShutDown):
            q.put_nowait(3)
        with pytest.raises(QueueShutDown):
            await q.put(3)
        assert await q.get() == 1
        with pytest.raises(QueueShutDown):
            q.get_nowait()
        with pytest.raises(QueueShutDown):
            await q.get()

    run(main())


def test_shutdown_wakes_getters(run: Any) -> None:
    async def main() -> None:
        q: Queue[int] = Queue()
        getters = [asyncio.create_task(q.get()) for _ in range(3)]
        await yield_n(1)
        q.shutdown()
        for result in await asyncio.gather(*getters, return_exceptions=True):
            assert isinstance(result, QueueShutDown)

    run(main())


def test_shutdown_immediate(run: Any) -> None:
    async def main() -> None:
        q: Queue[int] = Queue()
        for i in range(3):
            q.put_nowait(i)
        q.get_nowait()
        joiner = asyncio.create_task(q.join())
        await yield_n(1)
        q.shutdown(immediate=True)
        assert q.empty()
        with pytest.raises(QueueShutDown):
            q.get_nowait()
        # The two discarded items count as done; the one got is still pending.
        await yield_n(1)
        assert not joiner.done()
        q.task_done()
        await joiner

    run(main())


def test_shutdown_immediate_takes_any_truth_value(run: Any) -> None:
    # asyncio tests immediate for its truth; the compiled build once raised
    # TypeError ("bool object expected") for 1.
    async def main() -> None:
        kept: Queue[int] = Queue()
        kept.put_nowait(1)
        kept.shutdown(immediate=0)
        assert kept.get_nowait() == 1
        dropped: Queue[int] = Queue()
        dropped.put_nowait(1)
        dropped.shutdown(immediate=1)
        assert dropped.empty()

    run(main())


def test_shutdown_immediate_releases_join(run: Any) -> None:
    async def main() -> None:
        q: Queue[int] = Queue()
        q.put_nowait(1)
        joiner = asyncio.create_task(q.join())
        await yield_n(1)
        q.shutdown(immediate=True)
        await joiner

    run(main())


def test_two_loops_raise() -> None:
    q: Queue[int] = Queue()

    async def first() -> None:
        t = asyncio.create_task(q.get())
        await yield_n(1)
        q.put_nowait(1)
        await t

    asyncio.run(first())

    async def second() -> None:
        with pytest.raises(RuntimeError, match="different event loop"):
            await q.get()

    asyncio.run(second())


def test_created_outside_loop() -> None:
    q: Queue[int] = Queue()

    async def main() -> int:
        t = asyncio.create_task(q.get())
        await yield_n(1)
        await q.put(9)
        return await t

    assert asyncio.run(main()) == 9


def test_subclass_storage(run: Any) -> None:
    class Reversed(Queue[int]):
        def _init(self, maxsize: int | float) -> None:
            self._queue = []

        def _put(self, item: int) -> None:
            self._queue.insert(0, item)

        def _get(self) -> int:
            item: int = self._queue.pop(0)
            return item

    async def main() -> None:
        q = Reversed()
        for i in range(3):
            await q.put(i)
        assert [await q.get() for _ in range(3)] == [2, 1, 0]

    run(main())


def test_float_maxsize() -> None:
    q: Queue[int] = Queue(maxsize=1.5)
    assert q.maxsize == 1.5
    q.put_nowait(1)
    q.put_nowait(2)
    assert q.full()
    with pytest.raises(QueueFull):
        q.put_nowait(3)
