"""The public classes behave like asyncio's plain Python classes: weak references,
instance attributes and subclasses work, compiled or not."""

from __future__ import annotations

import asyncio
import gc
import weakref
from typing import Any

import pytest

import corolla.sync as sync
from corolla.sync import Barrier, BoundedSemaphore, Condition, Event, Lock, Semaphore

MAKERS: dict[str, Any] = {
    "Lock": Lock,
    "Event": Event,
    "Condition": Condition,
    "Semaphore": lambda: Semaphore(2),
    "BoundedSemaphore": lambda: BoundedSemaphore(2),
    "Barrier": lambda: Barrier(2),
}


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_weak_reference_dies_with_the_object(name: str) -> None:
    obj = MAKERS[name]()
    called: list[object] = []
    ref = weakref.ref(obj, called.append)
    assert ref() is obj
    del obj
    # No cycle holds a fresh primitive: it is freed at once, and the weak
    # reference is cleared with its callback run (a compiled class that
    # skipped that used to leave a dangling reference).
    assert ref() is None
    assert called == [ref]


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_weak_value_dictionary_entry_goes(name: str) -> None:
    table: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()
    obj = MAKERS[name]()
    table["key"] = obj
    assert table["key"] is obj
    del obj
    gc.collect()
    assert "key" not in table
    assert len(table) == 0


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_instance_attributes(name: str) -> None:
    obj = MAKERS[name]()
    obj.owner = "me"
    assert obj.owner == "me"
    assert vars(obj)["owner"] == "me"


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_public_class_identity(name: str) -> None:
    obj = MAKERS[name]()
    cls = getattr(sync, name)
    assert type(obj) is cls
    assert cls.__name__ == name
    assert f".{name} object at 0x" in repr(obj)
    assert cls.__doc__


def test_bounded_semaphore_is_a_semaphore() -> None:
    assert issubclass(BoundedSemaphore, Semaphore)
    sem = BoundedSemaphore(1)
    assert isinstance(sem, Semaphore)
    with pytest.raises(ValueError, match="released too many times"):
        sem.release()
    plain = Semaphore(1)
    plain.release()  # an unbounded one may go above its initial value
    assert plain._value == 2


def test_condition_default_lock_is_the_public_lock() -> None:
    assert type(Condition()._lock) is Lock


class CountingLock(Lock):
    """A user subclass with its own state and an overridden public method."""

    def __init__(self) -> None:
        super().__init__()
        self.acquired = 0
        self.released = 0

    async def acquire(self) -> bool:
        self.acquired += 1
        return await super().acquire()

    def release(self) -> None:
        self.released += 1
        super().release()


def test_user_subclass_of_lock(run: Any) -> None:
    async def main() -> tuple[int, int]:
        lock = CountingLock()
        assert isinstance(lock, Lock)
        await lock.acquire()
        waiter = asyncio.ensure_future(lock.acquire())
        await asyncio.sleep(0)
        assert not waiter.done()
        lock.release()
        assert await waiter is True
        # async with goes through the overridden release(), as asyncio's does.
        lock.release()
        async with lock:
            assert lock.locked()
        assert not lock.locked()
        return lock.acquired, lock.released

    acquired, released = run(main())
    assert acquired == 2
    assert released == 3


class NamedEvent(Event):
    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name


class LimitedSemaphore(BoundedSemaphore):
    pass


def test_user_subclasses_of_the_others(run: Any) -> None:
    async def main() -> None:
        event = NamedEvent("ready")
        waiter = asyncio.ensure_future(event.wait())
        await asyncio.sleep(0)
        event.set()
        assert await waiter is True
        assert event.name == "ready"

        class MyCondition(Condition):
            pass

        cond = MyCondition()
        async with cond:
            cond.notify_all()

        sem = LimitedSemaphore(1)
        async with sem:
            assert sem.locked()
        with pytest.raises(ValueError):
            sem.release()

        class MyBarrier(Barrier):
            pass

        barrier = MyBarrier(2)
        assert sorted(await asyncio.gather(barrier.wait(), barrier.wait())) == [0, 1]

    run(main())


def test_unexpected_keyword_still_rejected() -> None:
    with pytest.raises(TypeError, match="unexpected keyword argument 'loop'"):
        Lock(loop=None)
    with pytest.raises(TypeError, match="unexpected keyword argument 'loop'"):
        BoundedSemaphore(1, loop=None)
