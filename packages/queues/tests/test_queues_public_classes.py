"""The public queue classes behave like asyncio's: weak references, attributes, subclasses.

These are the compiled build's weak points (the classes are interpreted
subclasses of compiled cores): a weak reference outliving a queue crashed
Python 3.11, and weak references were refused on 3.12+.
"""

from __future__ import annotations

import asyncio
import heapq
import subprocess
import sys
import types
import weakref
from collections import deque
from typing import Any

import pytest

import corolla.queues
from corolla.queues import (
    LifoQueue,
    PriorityQueue,
    Queue,
    QueueEmpty,
    QueueFull,
    QueueShutDown,
)

CLASSES = [Queue, LifoQueue, PriorityQueue]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_weakref_dies_with_the_queue(cls: type[Queue[int]]) -> None:
    q = cls()
    ref = weakref.ref(q)
    assert ref() is q
    del q
    assert ref() is None


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_weakref_outliving_the_queue_in_a_fresh_process(cls: type[Queue[int]]) -> None:
    # The 3.11 crash showed once the freed memory was reused: check in a
    # child process, so a crash fails this test instead of the whole run.
    code = (
        "import weakref, corolla.queues as m\n"
        f"q = m.{cls.__name__}(); q.put_nowait(1); r = weakref.ref(q); del q\n"
        "junk = [bytearray(64) for _ in range(5000)]\n"
        "print(r())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "None"


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_weak_containers_drop_the_queue(cls: type[Queue[int]]) -> None:
    dropped: list[str] = []
    values: weakref.WeakValueDictionary[str, Queue[int]] = weakref.WeakValueDictionary()
    members: weakref.WeakSet[Queue[int]] = weakref.WeakSet()
    q = cls()
    values["key"] = q
    members.add(q)
    weakref.finalize(q, dropped.append, "finalized")
    assert values["key"] is q
    assert q in members
    del q
    assert "key" not in values
    assert len(members) == 0
    assert dropped == ["finalized"]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_instance_attributes(cls: type[Queue[int]]) -> None:
    q = cls(maxsize=2)
    q.name = "jobs"  # type: ignore[attr-defined]
    assert q.name == "jobs"  # type: ignore[attr-defined]
    assert vars(q)["name"] == "jobs"
    q.put_nowait(1)
    assert q.qsize() == 1


def test_class_relations_match_asyncio() -> None:
    assert issubclass(PriorityQueue, Queue)
    assert issubclass(LifoQueue, Queue)
    assert not issubclass(PriorityQueue, LifoQueue)
    assert not issubclass(LifoQueue, PriorityQueue)
    for cls in CLASSES:
        assert cls.__module__.startswith("corolla.queues")
        assert cls.__qualname__ == cls.__name__
        assert getattr(corolla.queues, cls.__name__) is cls
        assert cls.__doc__
    assert issubclass(QueueEmpty, Exception)
    assert issubclass(QueueFull, Exception)
    assert issubclass(QueueShutDown, Exception)
    assert QueueEmpty is asyncio.QueueEmpty
    assert QueueFull is asyncio.QueueFull


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_generic_alias_is_types_generic_alias(cls: type[Queue[int]]) -> None:
    alias: Any = cls[int]  # type: ignore[index]
    made = alias()
    assert type(made) is cls
    assert isinstance(alias, types.GenericAlias)
    assert alias.__origin__ is cls


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_repr_shows_the_public_name(cls: type[Queue[int]]) -> None:
    q = cls()
    assert repr(q).startswith(f"<{cls.__name__} at 0x")
    assert str(q) == f"<{cls.__name__} maxsize=0>"


def test_user_subclass_with_own_init(run: Any) -> None:
    class Tracked(Queue[int]):
        def __init__(self, label: str) -> None:
            super().__init__(maxsize=1)
            self.label = label
            self.seen: list[int] = []

        def _put(self, item: int) -> None:
            self.seen.append(item)
            super()._put(item)

    async def main() -> None:
        q = Tracked("t")
        assert q.label == "t"
        assert q.maxsize == 1
        getter = asyncio.create_task(q.get())
        await q.put(1)
        assert await getter == 1
        await q.put(2)
        assert q.full()
        with pytest.raises(QueueFull):
            q.put_nowait(3)
        assert q.get_nowait() == 2
        assert q.seen == [1, 2]
        ref = weakref.ref(q)
        assert ref() is q

    run(main())


def test_subclass_hooks_are_honoured(run: Any) -> None:
    # A bounded queue that multiplies its items by ten and records the calls of
    # every hook asyncio documents (and of full/empty, which put/get consult).
    calls: list[str] = []

    class Keyed(Queue[int]):
        def _init(self, maxsize: int | float) -> None:
            calls.append("_init")
            self._queue = deque()

        def _put(self, item: int) -> None:
            calls.append("_put")
            self._queue.append(item * 10)

        def _get(self) -> int:
            calls.append("_get")
            item: int = self._queue.popleft()
            return item

        def _qsize(self) -> int:
            calls.append("_qsize")
            return len(self._queue)

    async def main() -> None:
        q = Keyed(maxsize=2)
        assert calls == ["_init"]
        await q.put(1)
        q.put_nowait(2)
        assert "_put" in calls
        assert "_qsize" in calls
        assert q.full()
        assert q.qsize() == 2
        assert await q.get() == 10
        assert q.get_nowait() == 20
        assert "_get" in calls
        assert q.empty()
        with pytest.raises(QueueEmpty):
            q.get_nowait()
        q.put_nowait(3)
        q.shutdown(immediate=True)
        assert q.empty()

    run(main())


def test_overriding_full_and_put_nowait_is_honoured(run: Any) -> None:
    # asyncio's put() consults full() and ends in put_nowait(); so does ours.
    class Dropping(Queue[int]):
        def full(self) -> bool:
            return False

        def put_nowait(self, item: int) -> None:
            if self.qsize() >= 2:
                self.get_nowait()
            super().put_nowait(item)

    async def main() -> None:
        q = Dropping(maxsize=2)
        for i in range(5):
            await q.put(i)
        assert [q.get_nowait() for _ in range(q.qsize())] == [3, 4]

    run(main())


def test_subclass_of_priority_and_lifo_keep_their_order(run: Any) -> None:
    class MyPriority(PriorityQueue[int]):
        pass

    class MyLifo(LifoQueue[int]):
        def _put(self, item: int) -> None:
            super()._put(item + 100)

    async def main() -> None:
        p = MyPriority()
        lifo = MyLifo()
        for i in (3, 1, 2):
            await p.put(i)
            await lifo.put(i)
        assert [await p.get() for _ in range(3)] == [1, 2, 3]
        assert [await lifo.get() for _ in range(3)] == [102, 101, 103]
        assert isinstance(p._queue, list)
        assert p._queue == []

    run(main())


def test_priority_storage_is_a_heap() -> None:
    q: PriorityQueue[int] = PriorityQueue()
    for i in (5, 3, 9, 1):
        q.put_nowait(i)
    heap = list(q._queue)
    heapq.heapify(heap)
    assert heap == q._queue


def test_subclass_of_subclass_class_attribute_cache() -> None:
    # The storage kind is computed per class: a subclass of a plain subclass
    # that overrides a hook must not reuse its parent's fast path.
    class Plain(Queue[int]):
        pass

    class Reversed(Plain):
        def _get(self) -> int:
            item: int = self._queue.pop()
            return item

    p = Plain()
    r = Reversed()
    for q in (p, r):
        q.put_nowait(1)
        q.put_nowait(2)
    assert p.get_nowait() == 1
    assert r.get_nowait() == 2


def test_format_is_a_hook_of_repr() -> None:
    class Labelled(Queue[int]):
        def _format(self) -> str:
            return "label=" + super()._format()

    q = Labelled()
    assert str(q) == "<Labelled label=maxsize=0>"
    assert repr(q).startswith("<Labelled at 0x")
