"""The coroutine helpers of corolla.tasks, on every loop, against asyncio's behaviour."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import gc
import socket
import ssl
import threading
import types
import warnings
import weakref
from collections.abc import Callable, Generator
from typing import Any

import pytest

import corolla.tasks as ct
from corolla.futures import Future
from corolla.tasks._combinators import OneArgThrow

VAR: contextvars.ContextVar[str] = contextvars.ContextVar("VAR", default="unset")


def run(loop: asyncio.AbstractEventLoop, coro: Any) -> Any:
    return loop.run_until_complete(ct.Task(coro, loop=loop))


async def value(v: Any) -> Any:
    await ct.sleep(0)
    return v


async def fail(exc: BaseException) -> None:
    await ct.sleep(0)
    raise exc


async def forever() -> None:
    await Future()


# -- ensure_future ---------------------------------------------------------------------


def test_ensure_future(loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> None:
        fut: Future[int] = Future()
        assert ct.ensure_future(fut) is fut
        task = ct.ensure_future(value(1))
        assert await task == 1

        class Awaitable:
            def __await__(self) -> Any:
                return value(2).__await__()

        assert await ct.ensure_future(Awaitable()) == 2
        with pytest.raises(TypeError):
            ct.ensure_future(42)
        other = asyncio.new_event_loop()
        try:
            with pytest.raises(ValueError, match="different loop"):
                ct.ensure_future(fut, loop=other)
        finally:
            other.close()

    run(loop, main())


# -- sleep -----------------------------------------------------------------------------


def test_sleep(loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> None:
        assert await ct.sleep(0) is None
        assert await ct.sleep(0, "r") == "r"
        assert await ct.sleep(-1, "neg") == "neg"
        assert await ct.sleep(0.001, result=5) == 5

    run(loop, main())


def test_sleep_cancelled(loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> None:
        task: ct.Task[None] = ct.Task(ct.sleep(3600), loop=loop)
        await ct.sleep(0)
        task.cancel("stop")
        with pytest.raises(asyncio.CancelledError):
            await task

    run(loop, main())


# -- gather ----------------------------------------------------------------------------


def test_gather_results_in_order(loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> None:
        fut: Future[int] = Future()
        fut.set_result(3)
        coro = value(9)
        assert await ct.gather(value(1), value(2), fut, coro) == [1, 2, 3, 9]
        assert await ct.gather() == []
        task = ct.Task(value(7), loop=loop)
        assert await ct.gather(task, task) == [7, 7]

    run(loop, main())


def test_gather_first_exception(loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> None:
        slow = ct.Task(value("slow"), loop=loop)
        with pytest.raises(KeyError):
            await ct.gather(fail(KeyError()), slow)
        assert await slow == "slow"  # not cancelled by the failure

    run(loop, main())


def test_gather_return_exceptions(loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> None:
        cancelled: Future[int] = Future()
        cancelled.cancel("c")
        res = await ct.gather(value(1), fail(ValueError("v")), cancelled, return_exceptions=True)
        assert res[0] == 1
        assert isinstance(res[1], ValueError)
        assert isinstance(res[2], asyncio.CancelledError)

    run(loop, main())


def test_gather_return_exceptions_takes_any_truth_value(loop: asyncio.AbstractEventLoop) -> None:
    # asyncio only tests the flag's truth; the compiled build once refused
    # anything but a bool (TypeError for return_exceptions=1).
    async def main() -> None:
        res = await ct.gather(value(1), fail(ValueError("v")), return_exceptions=1)
        assert res[0] == 1
        assert isinstance(res[1], ValueError)
        with pytest.raises(ValueError, match="w"):
            await ct.gather(value(1), fail(ValueError("w")), return_exceptions=0)

    run(loop, main())


def test_gather_cancel_cancels_children(loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> None:
        a = ct.Task(forever(), loop=loop)
        b = ct.Task(forever(), loop=loop)
        g = ct.gather(a, b)
        await ct.sleep(0)
        assert g.cancel("msg")
        with pytest.raises(asyncio.CancelledError):
            await g
        assert a.cancelled()
        assert b.cancelled()
        assert not g.cancel()

    run(loop, main())


def test_gather_returns_a_weakrefable_future(loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> weakref.ref[Any]:
        g: Any = ct.gather(value(1), value(2))
        assert isinstance(g, Future)
        assert asyncio.isfuture(g) is True  # (no narrowing to asyncio.Future)
        ref = weakref.ref(g)
        assert ref() is g
        assert await g == [1, 2]
        empty = ct.gather()
        assert isinstance(empty, Future)
        assert weakref.ref(empty)() is empty
        return ref

    # Checked once the task is done: the step that woke it up holds the future.
    ref = run(loop, main())
    gc.collect()
    assert ref() is None
    gc.collect()
    assert ref() is None


def test_gather_futures_die_with_live_weakrefs(loop: asyncio.AbstractEventLoop) -> None:
    # Many gather futures dying in and out of cycles while weakly referenced:
    # a deallocator that forgot its weak references would crash here.
    async def main() -> list[weakref.ref[Any]]:
        refs = []
        for i in range(200):
            g = ct.gather(value(i))
            refs.append(weakref.ref(g))
            if i % 2:
                g.cycle = g
            assert await g == [i]
        return refs

    refs = run(loop, main())
    gc.collect()
    assert all(r() is None for r in refs)


def test_gather_child_cancelled_propagates(loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> None:
        a = ct.Task(forever(), loop=loop)
        g = ct.gather(a, value(1))
        await ct.sleep(0)
        a.cancel()
        with pytest.raises(asyncio.CancelledError):
            await g

    run(loop, main())


# -- shield ----------------------------------------------------------------------------


def test_shield(loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> None:
        gate: Future[str] = Future()

        async def inner() -> str:
            return await gate

        inner_task = ct.Task(inner(), loop=loop)
        outer = ct.shield(inner_task)
        waiter = ct.Task(_await(outer), loop=loop)
        await ct.sleep(0)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert not inner_task.done()
        gate.set_result("done")
        assert await inner_task == "done"
        assert await ct.shield(value(4)) == 4
        finished: Future[int] = Future()
        finished.set_result(1)
        assert ct.shield(finished) is finished

    run(loop, main())


async def _await(aw: Any) -> Any:
    return await aw


def test_shield_inner_outcomes(loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> None:
        with pytest.raises(ValueError):
            await ct.shield(fail(ValueError()))
        inner = ct.Task(forever(), loop=loop)
        outer = ct.shield(inner)
        await ct.sleep(0)
        inner.cancel()
        with pytest.raises(asyncio.CancelledError):
            await outer

    run(loop, main())


# -- wait ------------------------------------------------------------------------------


def test_wait_all_first_and_exception(loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> None:
        a = ct.Task(value(1), loop=loop)
        b = ct.Task(value(2), loop=loop)
        done, pending = await ct.wait([a, b])
        assert done == {a, b}
        assert pending == set()

        slow = ct.Task(forever(), loop=loop)
        quick = ct.Task(value(3), loop=loop)
        done, pending = await ct.wait([slow, quick], return_when=ct.FIRST_COMPLETED)
        assert done == {quick}
        assert pending == {slow}

        bad = ct.Task(fail(KeyError()), loop=loop)
        done, pending = await ct.wait([slow, bad], return_when=ct.FIRST_EXCEPTION)
        assert done == {bad}
        assert bad.exception() is not None

        done, pending = await ct.wait([slow], timeout=0.001)
        assert done == set()
        assert pending == {slow}
        assert not slow.cancelled()
        slow.cancel()

    run(loop, main())


def test_wait_bad_arguments(loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> None:
        fut: Future[int] = Future()
        with pytest.raises(TypeError):
            await ct.wait(fut)
        with pytest.raises(ValueError, match="empty"):
            await ct.wait([])
        with pytest.raises(ValueError, match="return_when"):
            await ct.wait([fut], return_when="SOMETIMES")
        coro = value(1)
        with pytest.raises(TypeError, match="coroutines is forbidden"):
            await ct.wait([coro])
        coro.close()

    run(loop, main())


# -- wait_for --------------------------------------------------------------------------


def test_wait_for(loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> None:
        assert await ct.wait_for(value(1), timeout=None) == 1
        assert await ct.wait_for(value(2), timeout=10) == 2
        with pytest.raises(TimeoutError):
            await ct.wait_for(forever(), timeout=0.001)
        done: Future[int] = Future()
        done.set_result(3)
        assert await ct.wait_for(done, timeout=0) == 3
        pending: Future[int] = Future()
        with pytest.raises(TimeoutError):
            await ct.wait_for(pending, timeout=0)
        assert pending.cancelled()

    run(loop, main())


def test_wait_for_outer_cancel_wins(loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> None:
        inner = ct.Task(forever(), loop=loop)
        task = ct.Task(ct.wait_for(inner, timeout=3600), loop=loop)
        await ct.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert inner.cancelled()

    run(loop, main())


# -- timeout ---------------------------------------------------------------------------


def test_timeout_expires(loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> None:
        me = ct.current_task()
        with pytest.raises(TimeoutError) as info:
            async with ct.timeout(0.001) as cm:
                assert cm.when() is not None
                assert not cm.expired()
                await forever()
        assert cm.expired()
        # As ``raise TimeoutError from <the CancelledError>``.
        assert isinstance(info.value.__cause__, asyncio.CancelledError)
        assert info.value.__suppress_context__
        assert me.cancelling() == 0
        with pytest.raises(RuntimeError, match="Cannot change state"):
            cm.reschedule(None)
        assert "expired" in repr(cm)

    run(loop, main())


def test_timeout_error_chained_into_foreign_error(loop: asyncio.AbstractEventLoop) -> None:
    async def crash() -> None:
        try:
            await forever()
        finally:
            raise ZeroDivisionError

    async def main() -> None:
        with pytest.raises(ZeroDivisionError) as info:
            async with ct.timeout(0.01):
                await crash()
        # ZeroDivisionError during TimeoutError caused by the CancelledError.
        exc = info.value
        assert exc.__cause__ is None
        timeout_error = exc.__context__
        assert isinstance(timeout_error, TimeoutError)
        assert isinstance(timeout_error.__cause__, asyncio.CancelledError)
        assert timeout_error.__context__ is timeout_error.__cause__

    run(loop, main())


def test_timeout_none_and_reschedule(loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> None:
        async with ct.timeout(None) as cm:
            assert cm.when() is None
            await ct.sleep(0)
            cm.reschedule(asyncio.get_running_loop().time() + 3600)
            assert "active" in repr(cm)
        assert not cm.expired()
        with pytest.raises(TimeoutError):
            async with ct.timeout_at(asyncio.get_running_loop().time() - 1):
                await forever()
        fresh = ct.Timeout(None)
        with pytest.raises(RuntimeError, match="not been entered"):
            fresh.reschedule(1.0)
        async with fresh:
            pass
        with pytest.raises(RuntimeError, match="already been entered"):
            async with fresh:
                pass

    run(loop, main())


def _send_outside_task(loop: asyncio.AbstractEventLoop, coro: Any) -> str:
    """Start ``coro`` from a plain loop callback: the loop runs, no task does."""
    errors: list[str] = []

    def callback() -> None:
        try:
            coro.send(None)
        except RuntimeError as exc:
            errors.append(str(exc))
        finally:
            coro.close()

    loop.call_soon(callback)
    loop.call_soon(loop.stop)
    loop.run_forever()
    return errors[0]


def test_timeout_outside_task(loop: asyncio.AbstractEventLoop) -> None:
    async def body() -> None:
        async with ct.timeout(1):
            pass

    assert "inside a task" in _send_outside_task(loop, body())


def test_timeout_does_not_swallow_outer_cancel(loop: asyncio.AbstractEventLoop) -> None:
    async def body() -> None:
        async with ct.timeout(0.001):
            me = ct.current_task()
            me.cancel()  # an outside cancellation arrives first
            await forever()

    async def main() -> None:
        task = ct.Task(body(), loop=loop)
        with pytest.raises(asyncio.CancelledError):
            await task

    run(loop, main())


def test_stdlib_timeout_and_our_timeout_on_stdlib_task(loop: asyncio.AbstractEventLoop) -> None:
    async def body() -> str:
        with pytest.raises(TimeoutError):
            async with ct.timeout(0.001):
                await forever()
        return "ok"

    assert loop.run_until_complete(asyncio.Task(body(), loop=loop)) == "ok"


# -- what a timed-out coroutine held is freed without the garbage collector -----------


class _Resource:
    pass


async def _hold_until_cancelled(resource: _Resource) -> None:
    await forever()


@pytest.mark.parametrize("how", ["timeout", "wait_for"])
def test_timed_out_work_freed_without_gc(loop: asyncio.AbstractEventLoop, how: str) -> None:
    # The TimeoutError raised on expiry must not sit in a reference cycle (its
    # traceback holds the frame that raised it): interpreted, such a cycle kept
    # the cancelled coroutine's frames, and everything they held, alive until
    # the next garbage collection.
    async def main() -> weakref.ref[_Resource]:
        resource = _Resource()
        ref = weakref.ref(resource)
        work = _hold_until_cancelled(resource)
        del resource
        try:
            if how == "timeout":
                async with ct.timeout(0):
                    await work
            else:
                await ct.wait_for(work, 0.001)
        except TimeoutError:
            pass
        else:
            pytest.fail("no TimeoutError")
        return ref

    gc.disable()
    try:
        ref = run(loop, main())
        assert ref() is None
    finally:
        gc.enable()


def test_one_arg_throw_leaves_no_cycle() -> None:
    # The 3.12+ throw() adapter wait_for puts around awaitables it did not make:
    # the error coming back out of it holds its frame in its traceback, and
    # that frame must not name the error any more.
    def inner() -> Generator[None, None, None]:
        yield

    adapter = OneArgThrow(inner())
    next(adapter)
    gc.disable()
    try:
        try:
            adapter.throw(asyncio.CancelledError, asyncio.CancelledError(), None)
        except asyncio.CancelledError as exc:
            ref = weakref.ref(exc)
        assert ref() is None
    finally:
        gc.enable()


def test_wait_for_tls_connect_frees_ssl_context_without_gc(
    loop: asyncio.AbstractEventLoop,
) -> None:
    # CPython's test_ssl test_handshake_timeout_handler_leak: a TLS connection
    # whose handshake never completes (the listener never accepts), cancelled
    # by wait_for; its SSLContext must be freed by reference counting alone.
    async def connect(ctx: ssl.SSLContext, addr: tuple[str, int]) -> None:
        try:
            await ct.wait_for(loop.create_connection(asyncio.Protocol, *addr, ssl=ctx), 0.1)
        except TimeoutError:
            pass
        else:
            pytest.fail("the handshake completed")

    gc.disable()
    try:
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen(1)
            ctx = ssl.create_default_context()
            loop.run_until_complete(connect(ctx, listener.getsockname()))
            ref = weakref.ref(ctx)
            del ctx
        assert ref() is None
    finally:
        gc.enable()


# -- as_completed ----------------------------------------------------------------------


def test_as_completed_sync_iteration(loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> None:
        gates = [Future[int]() for _ in range(3)]
        order: list[int] = []
        it = ct.as_completed(gates)
        # The first step starts watching (as_completed is lazy before 3.13).
        first = next(it)
        for i in (2, 0, 1):
            gates[i].set_result(i)
        order.append(await first)
        for aw in it:
            order.append(await aw)
        assert order == [2, 0, 1]

    run(loop, main())


def test_as_completed_async_iteration_yields_tasks(loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> None:
        tasks = [ct.Task(value(i), loop=loop) for i in range(3)]
        seen = []
        async for t in ct.as_completed(tasks):
            assert t in tasks
            seen.append(t.result())
        assert sorted(seen) == [0, 1, 2]

    run(loop, main())


def test_as_completed_timeout_and_errors(loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> None:
        never = ct.Task(forever(), loop=loop)
        quick = ct.Task(value("q"), loop=loop)
        results: list[Any] = []
        for aw in ct.as_completed([never, quick], timeout=0.01):
            try:
                results.append(await aw)
            except TimeoutError:
                results.append("timeout")
        assert results == ["q", "timeout"]
        never.cancel()
        fut: Future[int] = Future()
        with pytest.raises(TypeError):
            # Raised by the call on 3.13+, by the first step before.
            next(ct.as_completed(fut))
        assert list(ct.as_completed([])) == []

    run(loop, main())


# -- TaskGroup -------------------------------------------------------------------------


def test_taskgroup_success(loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> None:
        async with ct.TaskGroup() as tg:
            a = tg.create_task(value(1))
            b = tg.create_task(value(2), name="bee")
            ctx = contextvars.copy_context()
            c = tg.create_task(value(3), context=ctx)
            assert "entered" in repr(tg)
        assert (a.result(), b.result(), c.result()) == (1, 2, 3)
        assert b.get_name() == "bee"
        coro = value(0)
        with pytest.raises(RuntimeError, match="finished"):
            tg.create_task(coro)
        coro.close()  # closed already on 3.13+, left to the caller before
        fresh = ct.TaskGroup()
        coro = value(0)
        with pytest.raises(RuntimeError, match="not been entered"):
            fresh.create_task(coro)
        coro.close()

    run(loop, main())


def test_taskgroup_create_task_takes_any_name(loop: asyncio.AbstractEventLoop) -> None:
    # As loop.create_task: any object names the task, as str(name).
    async def main() -> None:
        async with ct.TaskGroup() as tg:
            a = tg.create_task(value(1), name=42)
            b = tg.create_task(value(2), name=b"raw", context=contextvars.copy_context())
            c = tg.create_task(value(3), name=None)
        assert (a.get_name(), b.get_name()) == ("42", "b'raw'")
        assert c.get_name().startswith("Task-")

    run(loop, main())


def test_taskgroup_errors_are_grouped(loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> None:
        with pytest.raises(BaseExceptionGroup) as info:
            async with ct.TaskGroup() as tg:
                sibling = tg.create_task(forever())
                tg.create_task(fail(ValueError("a")))
                tg.create_task(fail(KeyError("b")))
                await forever()
        kinds = {type(e) for e in info.value.exceptions}
        assert ValueError in kinds
        assert sibling.cancelled()
        assert ct.current_task().cancelling() == 0

    run(loop, main())


def test_taskgroup_body_error(loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> None:
        with pytest.raises(ExceptionGroup) as info:
            async with ct.TaskGroup() as tg:
                child = tg.create_task(forever())
                raise ZeroDivisionError
        assert isinstance(info.value.exceptions[0], ZeroDivisionError)
        assert child.cancelled()

    run(loop, main())


def test_taskgroup_base_error(loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> None:
        with pytest.raises(KeyboardInterrupt):
            async with ct.TaskGroup() as tg:
                tg.create_task(forever())
                raise KeyboardInterrupt

    run(loop, main())


def test_taskgroup_outer_cancel_propagates(loop: asyncio.AbstractEventLoop) -> None:
    entered: Future[None] = Future(loop=loop)

    async def body() -> None:
        async with ct.TaskGroup() as tg:
            tg.create_task(forever())
            entered.set_result(None)
            await forever()

    async def main() -> None:
        task = ct.Task(body(), loop=loop)
        await entered
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(loop, main())


def test_taskgroup_nested(loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> None:
        with pytest.raises(BaseExceptionGroup) as info:
            async with ct.TaskGroup() as outer:
                outer.create_task(forever())
                async with ct.TaskGroup() as inner:
                    inner.create_task(fail(OSError("deep")))
        nested = info.value.exceptions[0]
        assert isinstance(nested, BaseExceptionGroup)
        assert isinstance(nested.exceptions[0], OSError)

    run(loop, main())


def test_taskgroup_outside_task(loop: asyncio.AbstractEventLoop) -> None:
    async def body() -> None:
        async with ct.TaskGroup():
            pass

    assert "cannot determine the parent task" in _send_outside_task(loop, body())


def test_stdlib_taskgroup_with_corolla_tasks(loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> None:
        with pytest.raises(BaseExceptionGroup):
            async with asyncio.TaskGroup() as tg:
                tg.create_task(forever())
                tg.create_task(fail(ValueError()))

    run(loop, main())


# -- threads ---------------------------------------------------------------------------


def test_run_coroutine_threadsafe(loop: asyncio.AbstractEventLoop) -> None:
    results: list[Any] = []

    def worker(main_loop: asyncio.AbstractEventLoop) -> None:
        results.append(ct.run_coroutine_threadsafe(value(5), main_loop).result(timeout=60))
        failing = ct.run_coroutine_threadsafe(fail(KeyError("k")), main_loop)
        try:
            failing.result(timeout=60)
        except KeyError:
            results.append("keyerror")

    async def main() -> None:
        main_loop = asyncio.get_running_loop()
        thread = threading.Thread(target=worker, args=(main_loop,))
        thread.start()
        await ct.to_thread(thread.join)

    run(loop, main())
    assert results == [5, "keyerror"]
    with pytest.raises(TypeError):
        ct.run_coroutine_threadsafe(42, loop)  # type: ignore[arg-type]


def test_run_coroutine_threadsafe_cancel(loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> None:
        main_loop = asyncio.get_running_loop()
        cf = ct.run_coroutine_threadsafe(forever(), main_loop)
        await ct.sleep(0)
        await ct.sleep(0)
        cf.cancel()
        while not cf.done():
            await ct.sleep(0)
        assert cf.cancelled()

    run(loop, main())


def test_to_thread_passes_context(loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> None:
        VAR.set("ctx")

        def read(a: int, b: int = 0) -> tuple[str, int]:
            return VAR.get(), a + b

        seen = await ct.to_thread(read, 1, b=2)
        assert seen == ("ctx", 3)

    run(loop, main())


def test_wrap_future_reexport(loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> None:
        cf: concurrent.futures.Future[int] = concurrent.futures.Future()
        cf.set_result(1)
        assert await ct.wrap_future(cf) == 1

    run(loop, main())


# -- lookups and factories -------------------------------------------------------------


def test_current_and_all_tasks(loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> None:
        me = ct.current_task()
        assert isinstance(me, ct.Task)
        assert me in ct.all_tasks()
        assert ct.current_task(asyncio.get_running_loop()) is me

    run(loop, main())
    assert ct.all_tasks(loop) == set()


def test_eager_task_factory(loop: asyncio.AbstractEventLoop) -> None:
    async def quick() -> int:
        return 1

    async def main() -> None:
        loop.set_task_factory(ct.eager_task_factory)  # type: ignore[arg-type]
        try:
            task: Any = loop.create_task(quick())
            assert isinstance(task, ct.Task)
            assert task.done()
            assert task.result() == 1
        finally:
            loop.set_task_factory(None)

    run(loop, main())


def test_create_eager_task_factory(loop: asyncio.AbstractEventLoop) -> None:
    made: list[Any] = []

    class MyTask(ct.Task[Any]):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            made.append(kwargs.get("eager_start"))
            super().__init__(*args, **kwargs)

    async def quick() -> int:
        return 2

    async def main() -> None:
        loop.set_task_factory(ct.create_eager_task_factory(MyTask))
        try:
            task = loop.create_task(quick(), name="n")
            assert task.done()
            assert task.get_name() == "n"
        finally:
            loop.set_task_factory(None)

    run(loop, main())
    assert made == [True]


# -- cancellation never turns into a DeprecationWarning ---------------------------------


async def _stdlib_sleeper() -> None:
    await asyncio.sleep(3600)


async def _corolla_waiter() -> None:
    await Future()


def _in_timeout() -> Any:
    async def body() -> None:
        async with ct.timeout(3600):
            await _stdlib_sleeper()

    return body()


def _in_taskgroup() -> Any:
    async def body() -> None:
        async with ct.TaskGroup() as tg:
            tg.create_task(_stdlib_sleeper())

    return body()


def _gathered() -> Any:
    async def body() -> None:
        await ct.gather(_stdlib_sleeper(), _corolla_waiter())

    return body()


def _shielded() -> Any:
    async def body() -> None:
        await ct.shield(_stdlib_sleeper())

    return body()


CANCELLED_SCENARIOS: dict[str, Callable[[], Any]] = {
    "sleep": lambda: ct.sleep(3600),
    "wait_for_stdlib_future": lambda: ct.wait_for(_stdlib_sleeper(), 3600),
    "wait_for_corolla_future": lambda: ct.wait_for(_corolla_waiter(), 3600),
    "wait_for_task": lambda: ct.wait_for(ct.Task(_stdlib_sleeper()), 3600),
    "timeout": _in_timeout,
    "taskgroup": _in_taskgroup,
    "gather": _gathered,
    "shield": _shielded,
    "wait": lambda: ct.wait([ct.Task(_stdlib_sleeper())]),
}


@pytest.mark.parametrize("scenario", sorted(CANCELLED_SCENARIOS))
def test_cancel_raises_cancelled_error_under_warnings_as_errors(
    loop: asyncio.AbstractEventLoop, scenario: str
) -> None:
    # mypyc-compiled coroutines forward a cancellation with the 3-argument
    # throw(), which Python 3.12+ coroutines and futures deprecate: with
    # warnings as errors, the warning must not replace the CancelledError.
    make = CANCELLED_SCENARIOS[scenario]

    async def main() -> None:
        task = ct.Task(make(), loop=loop)
        for _ in range(5):
            await ct.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        run(loop, main())


def test_ensure_future_wraps_an_awaitable_in_a_real_coroutine(
    loop: asyncio.AbstractEventLoop,
) -> None:
    class Awaitable:
        def __await__(self) -> Any:
            return value("ok").__await__()

    task = ct.ensure_future(Awaitable(), loop=loop)
    assert loop.run_until_complete(task) == "ok"
    assert isinstance(task.get_coro(), types.CoroutineType)
