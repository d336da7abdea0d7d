"""create_task, iscoroutine and iscoroutinefunction at module level."""

from __future__ import annotations

import asyncio
import contextvars
import inspect
from collections.abc import Callable, Generator
from typing import Any

import pytest

import corolla.tasks

try:  # corolla-loop-core is not a dependency of this package: use it when present
    import corolla.loop as corolla_loop
except ImportError:
    corolla_loop = None  # type: ignore[assignment]

LOOPS: list[Callable[[], asyncio.AbstractEventLoop]] = [asyncio.SelectorEventLoop]
if corolla_loop is not None:
    LOOPS.append(corolla_loop.new_event_loop)
VAR: contextvars.ContextVar[str] = contextvars.ContextVar("VAR", default="unset")


@pytest.mark.parametrize("factory", LOOPS, ids=["stdlib", "corolla"][: len(LOOPS)])
def test_create_task_runs_on_the_running_loop_with_name_and_context(
    factory: Callable[[], asyncio.AbstractEventLoop],
) -> None:
    async def child() -> str:
        return VAR.get()

    async def main() -> tuple[str, str, bool]:
        ctx = contextvars.copy_context()
        ctx.run(VAR.set, "inside")
        task = corolla.tasks.create_task(child(), name="worker", context=ctx)
        result = await task
        return task.get_name(), result, task.get_loop() is asyncio.get_running_loop()

    with asyncio.Runner(loop_factory=factory) as runner:
        assert runner.run(main()) == ("worker", "inside", True)


@pytest.mark.skipif(corolla_loop is None, reason="corolla-loop-core is not installed")
@pytest.mark.parametrize("factory", LOOPS, ids=["stdlib", "corolla"][: len(LOOPS)])
def test_create_task_takes_any_name(factory: Callable[[], asyncio.AbstractEventLoop]) -> None:
    # asyncio names the task str(name); the compiled build once raised
    # TypeError for a name that was not a str.
    async def child() -> int:
        return 1

    async def main() -> tuple[str, str]:
        named = corolla.tasks.create_task(child(), name=42)
        unnamed = corolla.tasks.create_task(child(), name=None)
        await named
        await unnamed
        return named.get_name(), unnamed.get_name()

    with asyncio.Runner(loop_factory=factory) as runner:
        name, default = runner.run(main())
    assert name == "42"
    assert default.startswith("Task-")


def test_corolla_loop_makes_corolla_tasks() -> None:
    async def main() -> bool:
        task = corolla.tasks.create_task(asyncio.sleep(0))
        await task
        return isinstance(task, corolla.tasks.Task)

    assert corolla_loop.run(main())


def test_create_task_without_a_running_loop_is_a_runtime_error() -> None:
    async def never() -> None:
        pass

    coro = never()
    with pytest.raises(RuntimeError, match="no running event loop"):
        corolla.tasks.create_task(coro)
    coro.close()


def test_coroutine_checks() -> None:
    async def native() -> None:
        pass

    def plain() -> None:
        pass

    def generator() -> Generator[int, None, None]:
        yield 1

    coro = native()
    assert corolla.tasks.iscoroutine(coro)
    assert corolla.tasks.iscoroutinefunction(native)
    coro.close()
    assert not corolla.tasks.iscoroutine(generator())
    assert not corolla.tasks.iscoroutine(plain)
    assert not corolla.tasks.iscoroutinefunction(plain)
    assert not corolla.tasks.iscoroutinefunction(generator)


def test_marked_coroutine_function() -> None:
    if not hasattr(inspect, "markcoroutinefunction"):
        pytest.skip("inspect.markcoroutinefunction is new in 3.12")

    def sync_wrapper() -> Any:
        return None

    marked: Any = getattr(inspect, "markcoroutinefunction")(sync_wrapper)  # noqa: B009
    assert corolla.tasks.iscoroutinefunction(marked)
