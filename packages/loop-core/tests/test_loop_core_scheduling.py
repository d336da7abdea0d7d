"""call_soon, call_later, call_at, threadsafe wake-ups, stop/run_forever/close, debug mode."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

import pytest

import corolla.loop
from corolla.loop import EventLoop, Handle, TimerHandle


def stop_soon(loop: asyncio.AbstractEventLoop) -> None:
    loop.call_soon(loop.stop)


def test_call_soon_runs_in_fifo_order_with_args(any_loop: asyncio.AbstractEventLoop) -> None:
    seen: list[object] = []
    for i in range(5):
        any_loop.call_soon(seen.append, i)
    any_loop.call_soon(seen.append, ("x", 1))
    stop_soon(any_loop)
    any_loop.run_forever()
    assert seen == [0, 1, 2, 3, 4, ("x", 1)]


def test_call_soon_returns_cancellable_handle(any_loop: asyncio.AbstractEventLoop) -> None:
    seen: list[int] = []
    handle = any_loop.call_soon(seen.append, 1)
    any_loop.call_soon(seen.append, 2)
    assert not handle.cancelled()
    handle.cancel()
    handle.cancel()
    assert handle.cancelled()
    stop_soon(any_loop)
    any_loop.run_forever()
    assert seen == [2]


def test_handle_context(any_loop: asyncio.AbstractEventLoop) -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")
    ctx = contextvars.copy_context()
    ctx.run(var.set, "inside")
    seen: list[str] = []
    handle = any_loop.call_soon(lambda: seen.append(var.get()), context=ctx)
    any_loop.call_soon(lambda: seen.append(var.get()))
    if isinstance(any_loop, EventLoop) or sys.version_info >= (3, 12):
        assert getattr(handle, "get_context")() is ctx  # noqa: B009
    stop_soon(any_loop)
    any_loop.run_forever()
    assert seen == ["inside", "unset"]


def test_callbacks_share_no_context_changes(any_loop: asyncio.AbstractEventLoop) -> None:
    var: contextvars.ContextVar[int] = contextvars.ContextVar("var", default=0)
    seen: list[int] = []
    any_loop.call_soon(var.set, 5)
    any_loop.call_soon(lambda: seen.append(var.get()))
    stop_soon(any_loop)
    any_loop.run_forever()
    assert seen == [0]


def test_call_later_orders_by_time_and_negative_delay_runs(
    any_loop: asyncio.AbstractEventLoop,
) -> None:
    seen: list[str] = []
    any_loop.call_later(0.02, seen.append, "late")
    any_loop.call_later(-5, seen.append, "negative")
    any_loop.call_later(0.01, seen.append, "soon")
    any_loop.call_later(0.03, any_loop.stop)
    any_loop.run_forever()
    assert seen == ["negative", "soon", "late"]


def test_call_at_and_when(any_loop: asyncio.AbstractEventLoop) -> None:
    seen: list[float] = []
    when = any_loop.time() + 0.01
    timer = any_loop.call_at(when, lambda: seen.append(any_loop.time()))
    assert timer.when() == when
    any_loop.call_at(when, any_loop.stop)
    any_loop.run_forever()
    assert len(seen) == 1
    assert seen[0] >= when - 0.001


def test_time_is_monotonic(any_loop: asyncio.AbstractEventLoop) -> None:
    first = any_loop.time()
    assert any_loop.time() >= first


def test_cancelled_timer_does_not_run(any_loop: asyncio.AbstractEventLoop) -> None:
    seen: list[int] = []
    timer = any_loop.call_later(0.0, seen.append, 1)
    timer.cancel()
    assert timer.cancelled()
    any_loop.call_later(0.0, any_loop.stop)
    any_loop.run_forever()
    assert seen == []


def test_delay_none_is_type_error(any_loop: asyncio.AbstractEventLoop) -> None:
    with pytest.raises(TypeError):
        any_loop.call_later(None, print)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        any_loop.call_at(None, print)  # type: ignore[arg-type]


def test_non_callable_is_type_error(loop: EventLoop) -> None:
    with pytest.raises(TypeError, match="callable"):
        loop.call_soon(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="callable"):
        loop.call_later(1, "nope")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="callable"):
        loop.call_soon_threadsafe(None)  # type: ignore[arg-type]


def test_coroutine_callback_is_type_error(any_loop: asyncio.AbstractEventLoop) -> None:
    async def coro_fn() -> None:
        return None

    any_loop.set_debug(True)
    with pytest.raises(TypeError, match="coroutines cannot be used"):
        any_loop.call_soon(coro_fn)
    with pytest.raises(TypeError, match="coroutines cannot be used"):
        any_loop.call_later(0, coro_fn)


def test_closed_loop_refuses_callbacks(any_loop: asyncio.AbstractEventLoop) -> None:
    any_loop.close()
    assert any_loop.is_closed()
    for call in (
        lambda: any_loop.call_soon(print),
        lambda: any_loop.call_soon_threadsafe(print),
        lambda: any_loop.call_later(1, print),
        lambda: any_loop.call_at(1, print),
        any_loop.run_forever,
    ):
        with pytest.raises(RuntimeError, match="closed"):
            call()
    any_loop.close()  # twice is fine


def test_callback_exception_goes_to_handler(any_loop: asyncio.AbstractEventLoop) -> None:
    contexts: list[dict[str, Any]] = []
    any_loop.set_exception_handler(lambda loop, ctx: contexts.append(ctx))

    def boom() -> None:
        raise ZeroDivisionError("x")

    handle = any_loop.call_soon(boom)
    seen: list[int] = []
    any_loop.call_soon(seen.append, 1)
    stop_soon(any_loop)
    any_loop.run_forever()
    assert seen == [1]
    assert len(contexts) == 1
    assert isinstance(contexts[0]["exception"], ZeroDivisionError)
    assert contexts[0]["handle"] is handle
    assert "boom" in contexts[0]["message"]


def test_keyboard_interrupt_in_callback_propagates(any_loop: asyncio.AbstractEventLoop) -> None:
    def interrupt() -> None:
        raise KeyboardInterrupt

    any_loop.call_soon(interrupt)
    with pytest.raises(KeyboardInterrupt):
        any_loop.run_forever()
    assert not any_loop.is_running()
    # the loop stays usable
    stop_soon(any_loop)
    any_loop.run_forever()


def test_call_soon_threadsafe_wakes_a_sleeping_loop(any_loop: asyncio.AbstractEventLoop) -> None:
    seen: list[str] = []
    started = threading.Event()

    def worker() -> None:
        started.wait()
        any_loop.call_soon_threadsafe(seen.append, "from thread")
        any_loop.call_soon_threadsafe(any_loop.stop)

    thread = threading.Thread(target=worker)
    thread.start()
    any_loop.call_soon(started.set)
    any_loop.run_forever()  # nothing else scheduled: only the wake-up ends the poll
    thread.join()
    assert seen == ["from thread"]


def test_many_threadsafe_calls(any_loop: asyncio.AbstractEventLoop) -> None:
    count = 2000
    seen: list[int] = []

    def worker(base: int) -> None:
        for i in range(count):
            any_loop.call_soon_threadsafe(seen.append, base + i)

    threads = [threading.Thread(target=worker, args=(n * count,)) for n in range(3)]

    def check() -> None:
        if len(seen) == 3 * count:
            any_loop.stop()
        else:
            any_loop.call_later(0.001, check)

    for t in threads:
        t.start()
    any_loop.call_soon(check)
    any_loop.run_forever()
    for t in threads:
        t.join()
    assert sorted(seen) == list(range(3 * count))


def test_stop_before_run_forever_runs_one_iteration(any_loop: asyncio.AbstractEventLoop) -> None:
    seen: list[int] = []
    any_loop.stop()
    any_loop.call_soon(seen.append, 1)
    any_loop.run_forever()
    assert seen == [1]
    assert not any_loop.is_running()


def test_is_running_and_nested_run_errors(any_loop: asyncio.AbstractEventLoop) -> None:
    errors: list[BaseException] = []
    states: list[bool] = []

    def inside() -> None:
        states.append(any_loop.is_running())
        try:
            any_loop.close()
        except RuntimeError as exc:
            errors.append(exc)
        try:
            # (3.13's stdlib loop forgets it is running after this nested call fails,
            # so close() is tried first.)
            any_loop.run_forever()
        except RuntimeError as exc:
            errors.append(exc)
        any_loop.stop()

    any_loop.call_soon(inside)
    any_loop.run_forever()
    assert states == [True]
    assert len(errors) == 2
    assert not any_loop.is_running()


def test_cannot_run_inside_another_running_loop(any_loop: asyncio.AbstractEventLoop) -> None:
    other = corolla.loop.new_event_loop()
    errors: list[BaseException] = []

    def inside() -> None:
        try:
            other.run_forever()
        except RuntimeError as exc:
            errors.append(exc)
        any_loop.stop()

    try:
        any_loop.call_soon(inside)
        any_loop.run_forever()
    finally:
        other.close()
    assert len(errors) == 1
    assert "another loop is running" in str(errors[0])


def test_running_loop_is_registered(any_loop: asyncio.AbstractEventLoop) -> None:
    seen: list[object] = []
    any_loop.call_soon(lambda: seen.append(asyncio.get_running_loop()))
    stop_soon(any_loop)
    any_loop.run_forever()
    assert seen == [any_loop]
    with pytest.raises(RuntimeError):
        asyncio.get_running_loop()


def test_loop_is_abstract_event_loop() -> None:
    loop = corolla.loop.new_event_loop()
    try:
        assert isinstance(loop, asyncio.AbstractEventLoop)
        assert isinstance(loop, EventLoop)
        assert "EventLoop" in repr(loop)
    finally:
        loop.close()


def test_handle_types_and_repr(loop: EventLoop) -> None:
    def named_callback() -> None:
        return None

    handle = loop.call_soon(named_callback)
    timer = loop.call_later(10, named_callback)
    assert isinstance(handle, Handle)
    assert isinstance(timer, TimerHandle)
    assert "named_callback" in repr(handle)
    assert "when=" in repr(timer)
    handle.cancel()
    timer.cancel()
    assert "cancelled" in repr(handle)


def test_cancelled_timers_do_not_bloat_the_heap(loop: EventLoop) -> None:
    timers = [loop.call_later(1000 + i, print) for i in range(5000)]
    keep = loop.call_later(1, print)
    for timer in timers:
        timer.cancel()
    stop_soon(loop)
    loop.run_forever()
    assert len(loop._scheduled) < 100
    assert keep in loop._scheduled
    keep.cancel()


def test_cancelled_timers_at_heap_head_are_dropped(loop: EventLoop) -> None:
    first = loop.call_later(0.0, print)
    later = loop.call_later(1000, print)
    first.cancel()
    stop_soon(loop)
    loop.run_forever()
    assert loop._scheduled == [later]
    later.cancel()


def test_debug_mode_flags(any_loop: asyncio.AbstractEventLoop) -> None:
    any_loop.set_debug(True)
    assert any_loop.get_debug()
    any_loop.set_debug(False)
    assert not any_loop.get_debug()


def test_set_debug_takes_any_truth_value(any_loop: asyncio.AbstractEventLoop) -> None:
    # asyncio only tests the flag's truth; the compiled build once raised
    # TypeError for set_debug(1).
    any_loop.set_debug(1)  # type: ignore[arg-type]
    assert any_loop.get_debug()
    any_loop.set_debug(0)  # type: ignore[arg-type]
    assert not any_loop.get_debug()


def test_pythonasynciodebug_turns_debug_on() -> None:
    code = (
        "import corolla.loop as l; loop = l.new_event_loop(); print(loop.get_debug()); loop.close()"
    )
    env = dict(os.environ, PYTHONASYNCIODEBUG="1")
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "True"
    env.pop("PYTHONASYNCIODEBUG")
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_debug_handle_records_where_it_was_scheduled(
    any_loop: asyncio.AbstractEventLoop,
) -> None:
    any_loop.set_debug(True)
    soon_line = sys._getframe().f_lineno + 1
    soon = any_loop.call_soon(print)
    later_line = sys._getframe().f_lineno + 1
    later = any_loop.call_later(60, print)
    for handle, line in ((soon, soon_line), (later, later_line)):
        stack = handle._source_traceback  # type: ignore[attr-defined]
        # The last frame is the caller's, not the loop's own (compiled or not).
        assert (stack[-1].filename, stack[-1].lineno) == (__file__, line)
        assert stack[-1].name == "test_debug_handle_records_where_it_was_scheduled"
        handle.cancel()


def test_debug_mode_runs_from_a_module_top_level() -> None:
    # Compiled code has no frames: a fixed depth into the stack (what the loop
    # used) ran off the top of a shallow one, and debug mode failed at once.
    code = (
        "import asyncio, corolla.loop\n"
        "async def main():\n"
        "    await asyncio.sleep(0)\n"
        "    return 'ran'\n"
        "print(corolla.loop.run(main()))\n"
        "loop = corolla.loop.new_event_loop()\n"
        "loop.set_debug(True)\n"
        "handle = loop.call_soon(print)\n"
        "print(handle._source_traceback[-1].lineno)\n"
        "loop.close()\n"
    )
    out = subprocess.run(
        [sys.executable, "-X", "dev", "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["ran", "8"]


def test_slow_callback_is_reported_by_name(
    any_loop: asyncio.AbstractEventLoop, caplog: pytest.LogCaptureFixture
) -> None:
    any_loop.set_debug(True)
    any_loop.slow_callback_duration = 0.0

    def a_rather_slow_callback() -> None:
        return None

    any_loop.call_soon(a_rather_slow_callback)
    stop_soon(any_loop)
    with caplog.at_level(logging.WARNING, logger="asyncio"):
        any_loop.run_forever()
    assert any("a_rather_slow_callback" in r.getMessage() for r in caplog.records)


def test_non_threadsafe_call_detected_in_debug(any_loop: asyncio.AbstractEventLoop) -> None:
    any_loop.set_debug(True)
    errors: list[BaseException] = []
    running = threading.Event()
    done = threading.Event()

    def worker() -> None:
        running.wait()
        calls: list[Callable[[], object]] = [
            lambda: any_loop.call_soon(print),
            lambda: any_loop.call_later(1, print),
        ]
        for call in calls:
            try:
                call()
            except RuntimeError as exc:
                errors.append(exc)
        done.set()
        any_loop.call_soon_threadsafe(any_loop.stop)

    thread = threading.Thread(target=worker)
    thread.start()
    any_loop.call_soon(running.set)
    any_loop.run_forever()
    thread.join()
    assert done.is_set()
    assert len(errors) == 2
    assert all("thread" in str(e) for e in errors)


def test_default_exception_handler_logs_context(
    any_loop: asyncio.AbstractEventLoop, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        try:
            raise ValueError("the error")
        except ValueError as exc:
            any_loop.call_exception_handler(
                {"message": "something broke", "exception": exc, "extra_key": 123}
            )
    [record] = [r for r in caplog.records if "something broke" in r.getMessage()]
    assert "extra_key: 123" in record.getMessage()
    assert record.exc_info is not None
    assert record.exc_info[0] is ValueError


def test_exception_handler_get_set_and_errors(
    any_loop: asyncio.AbstractEventLoop, caplog: pytest.LogCaptureFixture
) -> None:
    assert any_loop.get_exception_handler() is None
    with pytest.raises(TypeError):
        any_loop.set_exception_handler(42)  # type: ignore[arg-type]

    def handler(loop: object, context: dict[str, Any]) -> None:
        raise RuntimeError("handler is broken")

    any_loop.set_exception_handler(handler)
    assert any_loop.get_exception_handler() is handler
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        any_loop.call_exception_handler({"message": "first"})
    assert any("Unhandled error in exception handler" in r.getMessage() for r in caplog.records)
    any_loop.set_exception_handler(None)
    assert any_loop.get_exception_handler() is None


def test_replaced_call_exception_handler_may_return_anything(
    any_loop: asyncio.AbstractEventLoop,
) -> None:
    # Test suites replace the method with a Mock, whose calls return a Mock.
    contexts: list[dict[str, Any]] = []

    def record(context: dict[str, Any]) -> str:
        contexts.append(context)
        return "not None"

    any_loop.call_exception_handler = record  # type: ignore[method-assign,assignment]

    def boom() -> None:
        raise ValueError("in a callback")

    any_loop.call_soon(boom)
    any_loop.call_later(0, boom)
    stop_soon(any_loop)
    any_loop.run_forever()
    assert [type(c["exception"]) for c in contexts] == [ValueError, ValueError]


request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="none")


def test_custom_exception_handler_runs_in_the_failing_callbacks_context(
    loop: corolla.loop.EventLoop,
) -> None:
    # As asyncio does since 3.13: a handler that logs a request id set in a
    # context variable sees the id of the callback (or task) that failed.
    seen: list[str] = []
    loop.set_exception_handler(lambda _loop, _ctx: seen.append(request_id.get()))

    def fail() -> None:
        raise ValueError("boom")

    ctx = contextvars.copy_context()
    ctx.run(request_id.set, "req-42")
    loop.call_soon(fail, context=ctx)
    loop.call_soon(loop.stop)
    loop.run_forever()
    # Without a task, future or handle in the context: the caller's context.
    loop.call_exception_handler({"message": "no owner"})
    assert seen == ["req-42", "none"]


def test_default_exception_handler_without_exception(
    any_loop: asyncio.AbstractEventLoop, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        any_loop.default_exception_handler({"message": "plain message"})
    assert any("plain message" in r.getMessage() for r in caplog.records)


def test_unclosed_loop_warns() -> None:
    import gc

    loop = corolla.loop.new_event_loop()
    with pytest.warns(ResourceWarning, match="unclosed event loop"):  # noqa: PT031
        del loop
        gc.collect()
