"""TaskGroup behaves like asyncio's plain Python class: weak references,
instance attributes and subclasses work, compiled or not."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Coroutine
from typing import Any

import pytest

from corolla.tasks import TaskGroup


def test_weak_reference_dies_with_the_group() -> None:
    group = TaskGroup()
    called: list[object] = []
    ref = weakref.ref(group, called.append)
    assert ref() is group
    del group
    assert ref() is None
    assert called == [ref]


def test_instance_attributes() -> None:
    group = TaskGroup()
    group.label = "workers"  # type: ignore[attr-defined]
    assert vars(group)["label"] == "workers"
    assert type(group) is TaskGroup
    assert repr(group) == "<TaskGroup>"


class CountingGroup(TaskGroup):
    """A user subclass: extra state, an overridden create_task."""

    def __init__(self, label: str) -> None:
        super().__init__()
        self.label = label
        self.started = 0

    def create_task(self, coro: Coroutine[Any, Any, Any], **kwargs: Any) -> Any:
        self.started += 1
        return super().create_task(coro, **kwargs)


def test_user_subclass(loop: asyncio.AbstractEventLoop) -> None:
    async def child(n: int) -> int:
        await asyncio.sleep(0)
        return n

    async def main() -> tuple[str, int, list[int]]:
        async with CountingGroup("jobs") as group:
            assert isinstance(group, CountingGroup)
            tasks = [group.create_task(child(n)) for n in range(3)]
        return group.label, group.started, [t.result() for t in tasks]

    assert loop.run_until_complete(main()) == ("jobs", 3, [0, 1, 2])


def test_user_subclass_keeps_exception_group_semantics(loop: asyncio.AbstractEventLoop) -> None:
    async def fail() -> None:
        raise ValueError("boom")

    async def main() -> None:
        async with CountingGroup("failing") as group:
            group.create_task(fail())

    with pytest.raises(BaseExceptionGroup) as info:
        loop.run_until_complete(main())
    assert [type(e) for e in info.value.exceptions] == [ValueError]
