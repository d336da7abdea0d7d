"""corolla.tasks.Task behaves like asyncio.Task, on any loop, and interoperates with it."""

from __future__ import annotations

import asyncio
import contextvars
import gc
import io
import sys
import types
from collections.abc import Callable, Generator
from typing import Any

import pytest

from corolla.futures import Future
from corolla.tasks import Task, new_task

VAR: contextvars.ContextVar[str] = contextvars.ContextVar("VAR", default="unset")


def run(loop: asyncio.AbstractEventLoop, coro: Any) -> Any:
    return loop.run_until_complete(coro)


async def answer() -> int:
    return 42


def test_runs_coroutine(loop: asyncio.AbstractEventLoop) -> None:
    task = Task(answer(), loop=loop)
    assert not task.done()
    assert run(loop, task) == 42
    assert task.result() == 42
    assert "finished" in repr(task)


def test_rejects_non_coroutine(loop: asyncio.AbstractEventLoop) -> None:
    with pytest.raises(TypeError, match="a coroutine was expected"):
        Task(42, loop=loop)  # type: ignore[arg-type]
    gc.collect()


def test_constructor_error_is_not_replaced_by_the_dying_task(
    loop: asyncio.AbstractEventLoop,
) -> None:
    class BadName:
        def __str__(self) -> str:
            raise ZeroDivisionError("no name")

    errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    makers: list[Callable[[Any], object]] = [
        lambda coro: Task(coro, loop=loop, name=BadName()),
        lambda coro: new_task(loop, coro, BadName()),
    ]
    for make in makers:
        coro = answer()
        # The half-made task dies (and reports itself) while this error
        # propagates; its __del__ must neither see nor replace the error.
        with pytest.raises(ZeroDivisionError, match="no name"):
            make(coro)
        coro.close()
    gc.collect()
    assert all(e["message"] == "Task was destroyed but it is pending!" for e in errors)


def test_error_in_a_dying_futures_finalizer_is_unraisable(
    loop: asyncio.AbstractEventLoop,
) -> None:
    def failing_handler(_context: dict[str, Any]) -> None:
        raise RuntimeError("handler failed")

    # Replaced on the instance (as CPython's tests do with a Mock): loops catch
    # what a handler set with set_exception_handler raises.
    try:
        loop.call_exception_handler = failing_handler  # type: ignore[method-assign,assignment]
    except AttributeError:
        pytest.skip("this loop takes no instance attributes (uvloop)")
    unraisable: list[Any] = []
    old_hook = sys.unraisablehook
    sys.unraisablehook = unraisable.append
    try:
        fut: Future[int] = Future(loop=loop)
        fut.set_exception(KeyError("never retrieved"))
        del fut  # __del__ reports it to the handler, which raises
        gc.collect()
        # Code after the finalizer runs unaffected.
        assert [n for n in range(3)] == [0, 1, 2]
    finally:
        sys.unraisablehook = old_hook
    assert [str(u.exc_value) for u in unraisable] == ["handler failed"]


@pytest.mark.skipif(sys.version_info < (3, 12), reason="3.11 accepts generators")
def test_rejects_generator_on_312(loop: asyncio.AbstractEventLoop) -> None:
    def gen() -> Generator[None, None, int]:
        yield
        return 1

    with pytest.raises(TypeError):
        Task(gen(), loop=loop)


def test_names(loop: asyncio.AbstractEventLoop) -> None:
    named = Task(answer(), loop=loop, name=123)
    assert named.get_name() == "123"
    named.set_name("other")
    assert named.get_name() == "other"
    anon = Task(answer(), loop=loop)
    assert anon.get_name().startswith("Task-")
    assert "name='other'" in repr(named)
    run(loop, asyncio.gather(named, anon))


def test_get_coro_and_context(loop: asyncio.AbstractEventLoop) -> None:
    coro = answer()
    ctx = contextvars.copy_context()
    task = Task(coro, loop=loop, context=ctx)
    assert task.get_coro() is coro
    assert task.get_context() is ctx
    run(loop, task)


def test_runs_in_given_context(loop: asyncio.AbstractEventLoop) -> None:
    ctx = contextvars.Context()
    ctx.run(VAR.set, "inside")

    async def read() -> str:
        await asyncio.sleep(0)
        return VAR.get()

    assert run(loop, Task(read(), loop=loop, context=ctx)) == "inside"
    assert VAR.get() == "unset"


def test_set_result_and_exception_refused(loop: asyncio.AbstractEventLoop) -> None:
    task = Task(answer(), loop=loop)
    with pytest.raises(RuntimeError):
        task.set_result(1)
    with pytest.raises(RuntimeError):
        task.set_exception(ValueError())
    run(loop, task)


def test_exception_propagates(loop: asyncio.AbstractEventLoop) -> None:
    async def fail() -> None:
        raise KeyError("k")

    task = Task(fail(), loop=loop)
    with pytest.raises(KeyError):
        run(loop, task)
    assert isinstance(task.exception(), KeyError)


def test_awaits_stdlib_and_corolla_futures(loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> int:
        std = loop.create_future()
        ours: Future[int] = Future(loop=loop)
        loop.call_soon(std.set_result, 1)
        loop.call_soon(ours.set_result, 2)
        a: int = await std
        b = await ours
        await asyncio.sleep(0)
        await asyncio.sleep(0.0001)
        return a + b

    assert run(loop, Task(main(), loop=loop)) == 3


def test_stdlib_task_awaits_corolla_task(loop: asyncio.AbstractEventLoop) -> None:
    async def outer() -> int:
        inner = Task(answer(), loop=loop)
        return await inner

    assert run(loop, asyncio.Task(outer(), loop=loop)) == 42


def test_current_task_and_all_tasks(loop: asyncio.AbstractEventLoop) -> None:
    async def body() -> None:
        me: object = asyncio.current_task()
        assert me is task
        assert task in set[object](asyncio.all_tasks())

    task = Task(body(), loop=loop)
    run(loop, task)
    assert task not in set[object](asyncio.all_tasks(loop))


def test_cancel_with_message(loop: asyncio.AbstractEventLoop) -> None:
    async def sleeper() -> None:
        await asyncio.sleep(3600)

    async def main() -> None:
        task = Task(sleeper(), loop=loop)
        await asyncio.sleep(0)
        assert task.cancel("bye")
        assert task.cancelling() == 1
        assert "cancelling" in repr(task)
        with pytest.raises(asyncio.CancelledError) as info:
            await task
        assert info.value.args == ("bye",)
        assert task.cancelled()
        assert not task.cancel()

    run(loop, main())


def test_cancel_before_first_step(loop: asyncio.AbstractEventLoop) -> None:
    started = []

    async def body() -> None:
        started.append(1)

    task = Task(body(), loop=loop)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        run(loop, task)
    assert started == []


def test_cancel_can_be_caught(loop: asyncio.AbstractEventLoop) -> None:
    async def stubborn() -> str:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            me = asyncio.current_task()
            assert me is not None
            assert me.uncancel() == 0
            return "survived"
        return "slept"

    async def main() -> None:
        task = Task(stubborn(), loop=loop)
        await asyncio.sleep(0)
        task.cancel()
        assert await task == "survived"
        assert task.cancelling() == 0

    run(loop, main())


def test_uncancel_drops_pending_cancel(loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> None:
        task = Task(answer(), loop=loop)
        task.cancel()
        assert task.uncancel() == 0
        assert task.uncancel() == 0
        assert await task == 42

    run(loop, main())


def test_cancel_requested_while_returning(loop: asyncio.AbstractEventLoop) -> None:
    async def body() -> int:
        me = asyncio.current_task()
        assert me is not None
        me.cancel("late")
        return 1

    task = Task(body(), loop=loop)
    with pytest.raises(asyncio.CancelledError):
        run(loop, task)
    assert task.cancelled()


def test_second_cancel_after_caught_first(loop: asyncio.AbstractEventLoop) -> None:
    async def body() -> int:
        try:
            await Future(loop=loop)
        except asyncio.CancelledError:
            pass
        return 1

    async def main(cls: Any) -> tuple[int, int]:
        task = cls(body(), loop=loop)
        await asyncio.sleep(0)
        task.cancel()
        task.cancel()  # the waiter is already cancelled: this one is remembered
        result: int = await task
        return result, task.cancelling()

    # Same outcome as the stdlib's Task.
    assert run(loop, main(Task)) == run(loop, main(asyncio.Task)) == (1, 2)


def test_asyncio_timeout_around_corolla_task(loop: asyncio.AbstractEventLoop) -> None:
    async def body() -> str:
        try:
            async with asyncio.timeout(0.001):
                await asyncio.sleep(3600)
        except TimeoutError:
            return "timed out"
        return "slept"

    task = Task(body(), loop=loop)
    assert run(loop, task) == "timed out"
    assert task.cancelling() == 0


def test_eager_start(loop: asyncio.AbstractEventLoop) -> None:
    order: list[str] = []

    async def body() -> int:
        order.append("body")
        assert asyncio.current_task() is not None
        return 7

    async def suspends() -> int:
        order.append("suspends")
        await asyncio.sleep(0)
        return 8

    async def main() -> None:
        me = asyncio.current_task()
        task = Task(body(), loop=loop, eager_start=True)
        order.append("after")
        assert task.done()
        assert task.result() == 7
        assert task.get_coro() is None
        assert asyncio.current_task() is me
        other = Task(suspends(), loop=loop, eager_start=True)
        assert not other.done()
        assert other in set[object](asyncio.all_tasks())
        assert await other == 8

    run(loop, main())
    assert order == ["body", "after", "suspends"]


def test_eager_start_without_running_loop(loop: asyncio.AbstractEventLoop) -> None:
    task = Task(answer(), loop=loop, eager_start=True)
    assert not task.done()
    assert run(loop, task) == 42


def test_get_stack_and_print_stack(loop: asyncio.AbstractEventLoop) -> None:
    fut: Future[None] = Future(loop=loop)

    async def waiting() -> None:
        await fut

    async def failing() -> None:
        raise ValueError("x")

    async def main() -> None:
        task = Task(waiting(), loop=loop)
        await asyncio.sleep(0)
        frames = task.get_stack()
        assert frames[-1].f_code.co_name == "waiting"
        assert len(task.get_stack(limit=1)) == 1
        buf = io.StringIO()
        task.print_stack(file=buf)
        assert buf.getvalue().startswith("Stack for")
        fut.set_result(None)
        await task
        assert task.get_stack() == []
        buf = io.StringIO()
        task.print_stack(file=buf)
        assert buf.getvalue().startswith("No stack for")
        bad = Task(failing(), loop=loop)
        with pytest.raises(ValueError):
            await bad
        buf = io.StringIO()
        bad.print_stack(file=buf)
        assert buf.getvalue().startswith("Traceback for")
        assert "ValueError: x" in buf.getvalue()

    run(loop, main())


async def _await(aw: Any) -> Any:
    return await aw


def test_bad_yields(loop: asyncio.AbstractEventLoop) -> None:
    @types.coroutine
    def yield_value() -> Generator[Any, None, None]:
        yield 42

    @types.coroutine
    def yield_nonblocking_future() -> Generator[Any, None, None]:
        fut: Future[None] = Future(loop=loop)
        yield fut

    async def other_loop_future() -> None:
        other = asyncio.new_event_loop()
        try:
            await Future(loop=other)
        finally:
            other.close()

    async def awaits_self() -> None:
        await me_box[0]

    me_box: list[Task[None]] = []

    async def main() -> None:
        with pytest.raises(RuntimeError, match="bad yield"):
            await Task(_await(yield_value()), loop=loop)
        with pytest.raises(RuntimeError, match="yield was used instead of yield from"):
            await Task(_await(yield_nonblocking_future()), loop=loop)
        with pytest.raises(RuntimeError, match="different loop"):
            await Task(other_loop_future(), loop=loop)
        me_box.append(Task(awaits_self(), loop=loop))
        with pytest.raises(RuntimeError, match="cannot await on itself"):
            await me_box[0]

    run(loop, main())


def test_bare_yield_reschedules(loop: asyncio.AbstractEventLoop) -> None:
    @types.coroutine
    def bare() -> Generator[None, None, None]:
        yield

    async def body() -> str:
        await bare()
        return "ok"

    assert run(loop, Task(body(), loop=loop)) == "ok"


def test_destroyed_pending_task_is_reported(loop: asyncio.AbstractEventLoop) -> None:
    reports: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: reports.append(context))
    loop.set_debug(True)

    async def forever() -> None:
        await Future(loop=loop)

    async def main() -> None:
        Task(forever(), loop=loop)
        await asyncio.sleep(0)
        await asyncio.sleep(0)

    run(loop, main())
    gc.collect()
    messages = [r["message"] for r in reports]
    assert "Task was destroyed but it is pending!" in messages
    report = reports[messages.index("Task was destroyed but it is pending!")]
    assert "source_traceback" in report


def test_task_exception_never_retrieved(loop: asyncio.AbstractEventLoop) -> None:
    reports: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: reports.append(context))

    async def fail() -> None:
        raise ValueError("lost")

    task = Task(fail(), loop=loop)
    run(loop, asyncio.sleep(0))
    assert task.done()
    del task
    gc.collect()
    assert [r["message"] for r in reports] == ["Task exception was never retrieved"]


def test_subclass(loop: asyncio.AbstractEventLoop) -> None:
    class MyTask(Task[int]):
        pass

    task = MyTask(answer(), loop=loop)
    task.tag = "x"  # type: ignore[attr-defined]
    assert run(loop, task) == 42
    assert repr(task).startswith("<MyTask")


# -- waking up: resumed in Future.__await__, or thrown into --------------------------


class _YieldsFuture:
    """An awaitable of its own that yields a future and catches what is thrown in."""

    def __init__(self, fut: Future[int]) -> None:
        self.fut = fut

    def __await__(self) -> Generator[Any, None, str]:
        self.fut._asyncio_future_blocking = True
        try:
            yield self.fut
        except ValueError:
            return "thrown in"
        return "resumed"


def test_custom_awaitable_gets_the_exception_thrown_in(loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> None:
        fut: Future[int] = Future(loop=loop)
        loop.call_soon(fut.set_exception, ValueError("boom"))
        assert await _YieldsFuture(fut) == "thrown in"
        # Awaited by a stdlib task through __await__ first, then by a custom
        # awaitable: the latter still gets the exception thrown in.
        shared: Future[int] = Future(loop=loop)
        observer = asyncio.Task(_await_and_ignore(shared), loop=loop)
        await asyncio.sleep(0)
        loop.call_soon(shared.set_exception, ValueError("again"))
        assert await _YieldsFuture(shared) == "thrown in"
        await observer

    run(loop, main())


async def _await_and_ignore(fut: Future[int]) -> None:
    try:
        await fut
    except ValueError:
        pass


def test_cancelled_nested_task_keeps_its_traceback(loop: asyncio.AbstractEventLoop) -> None:
    import traceback

    async def nested() -> None:
        await Future(loop=loop)  # the line that is interrupted

    async def outer() -> None:
        task = Task(nested(), loop=loop)
        await asyncio.sleep(0)
        task.cancel()
        await task  # search target

    with pytest.raises(asyncio.CancelledError) as info:
        run(loop, outer())
    text = "".join(traceback.format_tb(info.value.__traceback__))
    assert "the line that is interrupted" in text
    assert "await task  # search target" in text


def test_cancelled_task_freed_once_its_error_was_handed_out(
    loop: asyncio.AbstractEventLoop,
) -> None:
    # The CancelledError the task got from its coroutine is handed out by
    # result() into a frame that holds the task (as wait_for's does): the
    # task must not keep that error alive in turn, or the task, the frame
    # and whatever the coroutine held (sockets, an SSLContext) wait for gc.
    import weakref

    class Resource:
        pass

    async def holds(resource: Resource) -> None:
        await Future(loop=loop)

    async def main() -> tuple[weakref.ref[Task[None]], weakref.ref[Resource]]:
        resource = Resource()
        task = Task(holds(resource), loop=loop)
        refs = weakref.ref(task), weakref.ref(resource)
        del resource
        await asyncio.sleep(0)
        task.cancel()
        try:
            await asyncio.sleep(0)
            task.result()
        except asyncio.CancelledError:
            pass
        return refs

    gc.disable()
    try:
        task_ref, resource_ref = run(loop, main())
        assert task_ref() is None
        assert resource_ref() is None
    finally:
        gc.enable()


def test_cancellation_caught_by_the_coroutine_is_freed_without_gc(
    loop: asyncio.AbstractEventLoop,
) -> None:
    # A cancellation requested after the awaited future finished is thrown
    # into the coroutine, which catches it and returns. Interpreted, the step
    # that threw it must not keep it: its frame is the f_back of the
    # coroutine's frame, which the error's traceback holds, so keeping it is a
    # cycle holding what the coroutine's frames held (a connection's
    # SSLContext, for CPython's test_ssl) until the next garbage collection.
    import weakref

    class Resource:
        pass

    async def inner(resource: Resource, fut: Future[int]) -> None:
        await fut

    async def outer(resource: Resource, fut: Future[int]) -> None:
        try:
            await inner(resource, fut)
        except asyncio.CancelledError:
            pass

    async def main() -> weakref.ref[Resource]:
        fut: Future[int] = Future(loop=loop)
        resource = Resource()
        ref = weakref.ref(resource)
        task = Task(outer(resource, fut), loop=loop)
        del resource
        await asyncio.sleep(0)
        fut.set_result(1)
        task.cancel()
        await task
        assert not task.cancelled()
        return ref

    gc.disable()
    try:
        ref = run(loop, main())
        assert ref() is None
    finally:
        gc.enable()


# -- new_task: the factory event loops use for create_task -------------------------


def test_new_task_runs_like_a_task(loop: asyncio.AbstractEventLoop) -> None:
    ctx = contextvars.Context()
    ctx.run(VAR.set, "inside")

    async def read() -> str:
        await asyncio.sleep(0)
        return VAR.get()

    coro = read()
    task = new_task(loop, coro, "reader", ctx)
    assert type(task) is Task
    assert task.get_loop() is loop
    assert task.get_name() == "reader"
    assert task.get_coro() is coro
    assert task.get_context() is ctx
    assert task in set[object](asyncio.all_tasks(loop))
    assert run(loop, task) == "inside"
    unnamed = new_task(loop, answer())
    assert unnamed.get_name().startswith("Task-")
    assert run(loop, unnamed) == 42


def test_new_task_eager_start(loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> None:
        task = new_task(loop, answer(), None, None, True)
        assert task.done()
        assert task.result() == 42

    run(loop, main())


def test_new_task_rejects_non_coroutine(loop: asyncio.AbstractEventLoop) -> None:
    with pytest.raises(TypeError, match="a coroutine was expected, got 42"):
        new_task(loop, 42)  # type: ignore[arg-type]
    gc.collect()


def test_new_task_records_its_creator_in_debug_mode(loop: asyncio.AbstractEventLoop) -> None:
    loop.set_debug(True)
    task = new_task(loop, answer())
    assert task._source_traceback[-1].name == "test_new_task_records_its_creator_in_debug_mode"
    by_class = Task(answer(), loop=loop)
    assert by_class._source_traceback[-1].name == (
        "test_new_task_records_its_creator_in_debug_mode"
    )
    run(loop, asyncio.gather(task, by_class))


def test_replaced_call_exception_handler_may_return_anything(
    loop: asyncio.AbstractEventLoop,
) -> None:
    # Test suites replace the method with a Mock, whose calls return a Mock.
    contexts: list[dict[str, Any]] = []

    def record(context: dict[str, Any]) -> str:
        contexts.append(context)
        return "not None"

    loop.call_exception_handler = record  # type: ignore[method-assign,assignment]
    fut: Future[None] = Future(loop=loop)
    fut.set_exception(ValueError("never retrieved"))
    del fut

    async def forever() -> None:
        await Future(loop=loop)

    pending = Task(forever(), loop=loop)
    run(loop, asyncio.sleep(0))
    del pending
    gc.collect()
    assert sorted(c["message"] for c in contexts) == [
        "Future exception was never retrieved",
        "Task was destroyed but it is pending!",
    ]
