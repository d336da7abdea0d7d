"""corolla.futures.Future behaves like asyncio.Future, on any loop."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import gc
import sys
import threading
import traceback
import warnings
import weakref
from collections.abc import Callable
from typing import Any

import pytest

from corolla.futures import (
    CancelledError,
    Future,
    InvalidStateError,
    isfuture,
    new_future,
    wrap_future,
)

# Typed loosely: asyncio.isfuture narrows to asyncio.Future.
STDLIB_ISFUTURE: Callable[[object], bool] = asyncio.isfuture
VAR: contextvars.ContextVar[str] = contextvars.ContextVar("VAR", default="unset")


def run(loop: asyncio.AbstractEventLoop, coro: Any) -> Any:
    return loop.run_until_complete(coro)


def test_initial_state(loop: asyncio.AbstractEventLoop) -> None:
    fut: Future[int] = Future(loop=loop)
    assert not fut.done()
    assert not fut.cancelled()
    assert fut.get_loop() is loop
    assert fut._state == "PENDING"
    with pytest.raises(InvalidStateError, match="Result is not ready"):
        fut.result()
    with pytest.raises(InvalidStateError, match="Exception is not set"):
        fut.exception()
    assert isfuture(fut)
    assert STDLIB_ISFUTURE(fut)
    assert not isfuture(Future)
    assert not isfuture(object())
    assert "pending" in repr(fut)


def test_default_loop_is_current(loop: asyncio.AbstractEventLoop) -> None:
    async def make() -> Future[int]:
        return Future()

    assert run(loop, make()).get_loop() is loop


def test_generic_alias() -> None:
    alias = Future[int]
    assert alias.__origin__ is Future  # type: ignore[attr-defined]


def test_set_result(loop: asyncio.AbstractEventLoop) -> None:
    fut: Future[int] = Future(loop=loop)
    fut.set_result(42)
    assert fut.done()
    assert not fut.cancelled()
    assert fut.result() == 42
    assert fut.exception() is None
    assert fut._state == "FINISHED"
    assert "result=42" in repr(fut)
    with pytest.raises(InvalidStateError, match="FINISHED"):
        fut.set_result(1)
    with pytest.raises(InvalidStateError):
        fut.set_exception(ValueError())
    assert not fut.cancel()


def test_set_exception(loop: asyncio.AbstractEventLoop) -> None:
    fut: Future[int] = Future(loop=loop)
    fut.set_exception(ValueError("boom"))
    assert isinstance(fut.exception(), ValueError)
    with pytest.raises(ValueError, match="boom"):
        fut.result()
    assert "exception=ValueError('boom')" in repr(fut)


def test_set_exception_class_is_instantiated(loop: asyncio.AbstractEventLoop) -> None:
    fut: Future[int] = Future(loop=loop)
    fut.set_exception(KeyError)
    assert type(fut.exception()) is KeyError


def test_set_exception_rejects_non_exception(loop: asyncio.AbstractEventLoop) -> None:
    fut: Future[int] = Future(loop=loop)
    with pytest.raises(TypeError):
        fut.set_exception(42)  # type: ignore[arg-type]
    assert not fut.done()


def test_set_exception_stop_iteration(loop: asyncio.AbstractEventLoop) -> None:
    fut: Future[int] = Future(loop=loop)
    if sys.version_info >= (3, 13):
        fut.set_exception(StopIteration())
        exc = fut.exception()
        assert isinstance(exc, RuntimeError)
        assert isinstance(exc.__cause__, StopIteration)
    else:
        with pytest.raises(TypeError, match="StopIteration"):
            fut.set_exception(StopIteration())


def test_cancel_with_message(loop: asyncio.AbstractEventLoop) -> None:
    fut: Future[int] = Future(loop=loop)
    assert fut.cancel("why")
    assert fut.cancelled()
    assert fut.done()
    assert fut._state == "CANCELLED"
    assert not fut.cancel()
    with pytest.raises(CancelledError) as info:
        fut.result()
    assert info.value.args == ("why",)
    with pytest.raises(CancelledError):
        fut.exception()
    with pytest.raises(InvalidStateError):
        fut.set_result(1)
    assert "cancelled" in repr(fut)


def test_cancel_without_message(loop: asyncio.AbstractEventLoop) -> None:
    fut: Future[int] = Future(loop=loop)
    fut.cancel()
    with pytest.raises(CancelledError) as info:
        fut.result()
    assert info.value.args == ()


def test_awaiting_cancelled_future_raises(loop: asyncio.AbstractEventLoop) -> None:
    fut: Future[int] = Future(loop=loop)

    async def waiter() -> int:
        return await fut

    task = loop.create_task(waiter())
    loop.call_soon(fut.cancel, "stop")
    with pytest.raises(CancelledError):
        run(loop, task)
    assert task.cancelled()


def test_callbacks_order_and_context(loop: asyncio.AbstractEventLoop) -> None:
    fut: Future[str] = Future(loop=loop)
    seen: list[tuple[str, str]] = []

    def make(tag: str) -> Any:
        def cb(f: Future[str]) -> None:
            assert f is fut
            seen.append((tag, VAR.get()))

        return cb

    token = VAR.set("outer")
    fut.add_done_callback(make("a"))
    VAR.reset(token)
    ctx = contextvars.copy_context()
    ctx.run(VAR.set, "explicit")
    fut.add_done_callback(make("b"), context=ctx)
    fut.add_done_callback(make("c"))
    assert len(fut._callbacks) == 3
    assert "cb=[" in repr(fut)
    fut.set_result("x")
    assert seen == []  # callbacks go through the loop, never inline
    run(loop, asyncio.sleep(0))
    assert seen == [("a", "outer"), ("b", "explicit"), ("c", "unset")]

    # A callback added to a done future is scheduled right away.
    fut.add_done_callback(make("late"))
    run(loop, asyncio.sleep(0))
    assert seen[-1] == ("late", "unset")


def test_remove_done_callback(loop: asyncio.AbstractEventLoop) -> None:
    fut: Future[int] = Future(loop=loop)
    calls: list[str] = []

    def a(f: object) -> None:
        calls.append("a")

    def b(f: object) -> None:
        calls.append("b")

    fut.add_done_callback(a)
    fut.add_done_callback(b)
    fut.add_done_callback(a)
    fut.add_done_callback(a)
    assert fut.remove_done_callback(a) == 3
    assert fut.remove_done_callback(a) == 0
    fut.set_result(1)
    run(loop, asyncio.sleep(0))
    assert calls == ["b"]


def test_callbacks_on_cancel(loop: asyncio.AbstractEventLoop) -> None:
    fut: Future[int] = Future(loop=loop)
    seen: list[bool] = []
    fut.add_done_callback(lambda f: seen.append(f.cancelled()))
    fut.cancel()
    run(loop, asyncio.sleep(0))
    assert seen == [True]


def test_stdlib_task_awaits_corolla_future(loop: asyncio.AbstractEventLoop) -> None:
    fut: Future[int] = Future(loop=loop)

    async def waiter() -> int:
        return await fut + 1

    task = asyncio.Task(waiter(), loop=loop)
    loop.call_soon(fut.set_result, 41)
    assert run(loop, task) == 42
    assert not fut._asyncio_future_blocking


def test_yield_from_iter(loop: asyncio.AbstractEventLoop) -> None:
    fut: Future[int] = Future(loop=loop)
    fut.set_result(7)
    gen = iter(fut)
    with pytest.raises(StopIteration) as info:
        next(gen)
    assert info.value.value == 7


def test_await_without_task_raises(loop: asyncio.AbstractEventLoop) -> None:
    fut: Future[int] = Future(loop=loop)
    gen = fut.__await__()
    assert next(gen) is fut
    with pytest.raises(RuntimeError, match="await wasn't used with future"):
        next(gen)


def test_log_traceback_setter(loop: asyncio.AbstractEventLoop) -> None:
    fut: Future[int] = Future(loop=loop)
    fut.set_exception(ValueError())
    assert fut._log_traceback
    with pytest.raises(ValueError):
        fut._log_traceback = True
    fut._log_traceback = False
    assert not fut._log_traceback


def _collect_reports(loop: asyncio.AbstractEventLoop) -> list[dict[str, Any]]:
    reports: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: reports.append(context))
    return reports


@pytest.mark.parametrize("debug", [False, True])
def test_exception_never_retrieved(loop: asyncio.AbstractEventLoop, debug: bool) -> None:
    reports = _collect_reports(loop)
    loop.set_debug(debug)
    fut: Future[int] = Future(loop=loop)
    fut.set_exception(ValueError("lost"))
    del fut
    gc.collect()
    assert len(reports) == 1
    assert reports[0]["message"] == "Future exception was never retrieved"
    assert isinstance(reports[0]["exception"], ValueError)
    assert ("source_traceback" in reports[0]) is debug
    if debug:
        frames = reports[0]["source_traceback"]
        assert frames[-1].name == "test_exception_never_retrieved"


def test_retrieved_exception_is_not_reported(loop: asyncio.AbstractEventLoop) -> None:
    reports = _collect_reports(loop)
    fut: Future[int] = Future(loop=loop)
    fut.set_exception(ValueError("seen"))
    fut.exception()
    del fut
    other: Future[int] = Future(loop=loop)
    other.set_exception(ValueError("seen"))
    with pytest.raises(ValueError):
        other.result()
    del other
    gc.collect()
    assert reports == []


def test_subclass_takes_attributes(loop: asyncio.AbstractEventLoop) -> None:
    class MyFuture(Future[int]):
        pass

    fut = MyFuture(loop=loop)
    fut.extra = 1  # type: ignore[attr-defined]
    fut.set_result(3)
    assert fut.result() == 3
    assert "MyFuture" in repr(fut)


def test_wrap_future(loop: asyncio.AbstractEventLoop) -> None:
    cf: concurrent.futures.Future[int] = concurrent.futures.Future()

    async def main() -> int:
        wrapped = wrap_future(cf)
        assert isfuture(wrapped)
        assert wrap_future(wrapped) is wrapped
        threading.Thread(target=cf.set_result, args=(5,)).start()
        result: int = await wrapped
        return result

    assert run(loop, main()) == 5


def test_wrap_future_exception_and_cancel(loop: asyncio.AbstractEventLoop) -> None:
    failing: concurrent.futures.Future[int] = concurrent.futures.Future()
    pending: concurrent.futures.Future[int] = concurrent.futures.Future()

    async def main() -> None:
        wrapped = wrap_future(failing)
        failing.set_exception(KeyError("k"))
        with pytest.raises(KeyError):
            await wrapped
        other = wrap_future(pending)
        other.cancel()
        await asyncio.sleep(0)
        assert pending.cancelled()

    run(loop, main())


def test_wrap_future_rejects_other_objects(loop: asyncio.AbstractEventLoop) -> None:
    with pytest.raises(TypeError):
        wrap_future(object(), loop=loop)


# -- robustness: uninitialised futures, hostile callbacks, the await iterator ---------


def test_future_without_init(loop: asyncio.AbstractEventLoop) -> None:
    class NoInit(Future[int]):
        def __init__(self) -> None:
            pass

    fut = NoInit()
    with pytest.raises(RuntimeError, match="not initialized"):
        fut.get_loop()
    bare = Future.__new__(Future)
    with pytest.raises(InvalidStateError):
        bare.result()
    with pytest.raises(InvalidStateError):
        bare.exception()
    calls: list[Callable[[Future[Any]], object]] = [
        lambda f: f.set_result(None),
        lambda f: f.set_exception(ValueError),
        lambda f: f.cancel(),
        lambda f: f.add_done_callback(print),
        lambda f: f.remove_done_callback(print),
    ]
    for call in calls:
        with pytest.raises((RuntimeError, AttributeError)):
            call(Future.__new__(Future))


def test_remove_done_callback_with_hostile_eq(loop: asyncio.AbstractEventLoop) -> None:
    fut: Future[int] = Future(loop=loop)
    fut.add_done_callback(str)
    for _ in range(10):
        fut.add_done_callback(id)

    class Evil:
        # __eq__ answering None and changing the callbacks while compared.
        def __eq__(self, other: object) -> Any:
            fut.remove_done_callback(id)
            return None

        __hash__ = object.__hash__

    assert fut.remove_done_callback(Evil()) == 0  # type: ignore[arg-type]
    assert fut.remove_done_callback(str) == 1


def test_log_traceback_cannot_be_deleted(loop: asyncio.AbstractEventLoop) -> None:
    fut: Future[int] = Future(loop=loop)
    with pytest.raises(AttributeError):
        del fut._log_traceback
    with pytest.raises(AttributeError):
        del fut._asyncio_future_blocking


def test_await_iterator_protocol(loop: asyncio.AbstractEventLoop) -> None:
    fut: Future[int] = Future(loop=loop)
    it = iter(fut)
    assert next(it) is fut
    assert fut._asyncio_future_blocking
    with pytest.raises(RuntimeError, match="await wasn't used with future"):
        next(it)
    done: Future[int] = Future(loop=loop)
    done.set_result(7)
    with pytest.raises(StopIteration) as info:
        done.__await__().send(None)
    assert info.value.value == 7


def test_await_iterator_throw_arguments(loop: asyncio.AbstractEventLoop) -> None:
    fut: Future[int] = Future(loop=loop)
    it: Any = iter(fut)
    if sys.version_info >= (3, 12):
        deprecated = pytest.warns(DeprecationWarning, match="signature of throw")
        with deprecated, pytest.raises(ValueError):
            it.throw(ValueError, ValueError("zebra"), None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(ValueError, match="zebra"):
            it.throw(ValueError, ValueError("zebra"), None)
        with pytest.raises(TypeError):
            it.throw(Exception, Exception("elephant"), 32)
        with pytest.raises(TypeError):
            it.throw(Exception("elephant"), Exception("elephant"))
        with pytest.raises(ValueError):
            it.throw(ValueError, None, None)
    with pytest.raises(TypeError):
        it.throw(list)
    with pytest.raises(KeyError):
        it.throw(KeyError("one argument"))


def test_await_iterator_throw_keeps_the_traceback(loop: asyncio.AbstractEventLoop) -> None:
    def origin() -> None:
        raise LookupError("here")

    try:
        origin()
    except LookupError as exc:
        error = exc
    fut: Future[int] = Future(loop=loop)
    it: Any = iter(fut)
    next(it)
    with pytest.raises(LookupError) as info:
        it.throw(error)
    assert "origin" in "".join(traceback.format_tb(info.value.__traceback__))


@pytest.mark.parametrize("form", ["instance", "type", "three arguments"])
def test_await_iterator_throw_leaves_no_cycle(loop: asyncio.AbstractEventLoop, form: str) -> None:
    # The thrown error's traceback holds throw()'s frame (interpreted): that
    # frame must not name the error any more, or the error, and every frame
    # it went through, wait for the garbage collector.
    fut: Future[int] = Future(loop=loop)
    it: Any = iter(fut)
    next(it)
    gc.disable()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            try:
                if form == "instance":
                    it.throw(asyncio.CancelledError())
                elif form == "type":
                    it.throw(asyncio.CancelledError)
                else:
                    it.throw(asyncio.CancelledError, asyncio.CancelledError(), None)
            except asyncio.CancelledError as exc:
                ref = weakref.ref(exc)
        assert ref() is None
    finally:
        gc.enable()


# -- new_future: the factory event loops use for create_future --------------------


@pytest.mark.parametrize("debug", [False, True])
def test_new_future_is_a_future_bound_to_the_loop(
    loop: asyncio.AbstractEventLoop, debug: bool
) -> None:
    loop.set_debug(debug)
    fut = new_future(loop)
    assert type(fut) is Future
    assert fut.get_loop() is loop
    assert not fut.done()
    assert STDLIB_ISFUTURE(fut)
    fut.set_result(7)
    assert fut.result() == 7
    if debug:
        # The stack recorded is the one of the code that asked for the future.
        assert fut._source_traceback[-1].name == "test_new_future_is_a_future_bound_to_the_loop"
    else:
        assert fut._source_traceback is None


def test_new_future_is_awaited_and_reported_like_any_future(
    loop: asyncio.AbstractEventLoop,
) -> None:
    async def main() -> int:
        fut = new_future(loop)
        loop.call_soon(fut.set_result, 3)
        value: int = await fut
        return value

    assert run(loop, main()) == 3
    reports = _collect_reports(loop)
    fut = new_future(loop)
    fut.set_exception(ValueError("lost"))
    del fut
    gc.collect()
    assert [r["message"] for r in reports] == ["Future exception was never retrieved"]


def test_new_future_can_be_weakly_referenced(loop: asyncio.AbstractEventLoop) -> None:
    fut = new_future(loop)
    ref = weakref.ref(fut)
    assert ref() is fut
    del fut
    gc.collect()
    assert ref() is None
