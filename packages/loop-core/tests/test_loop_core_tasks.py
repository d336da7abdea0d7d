"""Futures and tasks on the loop, async generators, Runner/run/install, fork, delegation."""

from __future__ import annotations

import asyncio
import contextvars
import gc
import os
import signal
import sys
import threading
import warnings
from collections.abc import AsyncGenerator, Iterator
from typing import Any

import pytest

import corolla.loop
from corolla.loop import EventLoop, EventLoopPolicy, Runner

pytestmark = pytest.mark.usefixtures("need_tasks")


def test_create_future_is_corolla_future(loop: EventLoop) -> None:
    import corolla.futures

    fut = loop.create_future()
    assert isinstance(fut, corolla.futures.Future)
    assert fut.get_loop() is loop
    loop.call_soon(fut.set_result, 7)
    assert loop.run_until_complete(fut) == 7


def test_create_task_is_corolla_task_with_name_and_context(loop: EventLoop) -> None:
    import corolla.tasks

    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="none")
    ctx = contextvars.copy_context()
    ctx.run(var.set, "given")

    async def main() -> str:
        return var.get()

    task = loop.create_task(main(), name="the-task", context=ctx)
    assert isinstance(task, corolla.tasks.Task)
    assert task.get_name() == "the-task"
    assert loop.run_until_complete(task) == "given"


def test_create_task_takes_any_name_and_reports_a_failing_one(loop: EventLoop) -> None:
    async def main() -> None:
        return None

    # asyncio names a task str(name), whatever name is.
    task = loop.create_task(main(), name=42)
    assert task.get_name() == "42"
    loop.run_until_complete(task)

    class BadName:
        def __str__(self) -> str:
            raise ZeroDivisionError("no name")

    errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    coro = main()
    # The error from the constructor is what the caller gets, even though the
    # half-made task is freed while it propagates.
    with pytest.raises(ZeroDivisionError, match="no name"):
        loop.create_task(coro, name=BadName())
    coro.close()
    gc.collect()
    assert [e["message"] for e in errors] in ([], ["Task was destroyed but it is pending!"])


def test_eager_task_runs_synchronously(loop: EventLoop) -> None:
    steps: list[str] = []

    async def body() -> int:
        steps.append("body")
        return 1

    async def main() -> int:
        task = loop.create_task(body(), eager_start=True)
        steps.append("after create")
        result: int = await task
        return result

    assert loop.run_until_complete(main()) == 1
    assert steps == ["body", "after create"]


def test_task_factory(any_loop: asyncio.AbstractEventLoop) -> None:
    made: list[object] = []

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> Any:
        task = asyncio.Task(coro, loop=loop, **kwargs) if False else None
        del task
        default = any_loop.get_task_factory()
        assert default is factory
        any_loop.set_task_factory(None)
        try:
            made.append(kwargs)
            return any_loop.create_task(coro)
        finally:
            any_loop.set_task_factory(factory)

    assert any_loop.get_task_factory() is None
    with pytest.raises(TypeError):
        any_loop.set_task_factory(1)  # type: ignore[arg-type]
    any_loop.set_task_factory(factory)

    async def main() -> int:
        return 5

    task = any_loop.create_task(main(), name="named")
    assert task.get_name() == "named"
    assert any_loop.run_until_complete(task) == 5
    assert len(made) == 1
    any_loop.set_task_factory(None)


def test_run_until_complete_errors(any_loop: asyncio.AbstractEventLoop) -> None:
    other = corolla.loop.new_event_loop()
    try:
        fut = other.create_future()
        with pytest.raises(ValueError):
            any_loop.run_until_complete(fut)
    finally:
        other.close()
    with pytest.raises(TypeError):
        any_loop.run_until_complete(42)  # type: ignore[arg-type]

    async def stops_loop() -> None:
        any_loop.stop()
        await asyncio.sleep(10)

    task = any_loop.create_task(stops_loop())
    with pytest.raises(RuntimeError, match="stopped before Future completed"):
        any_loop.run_until_complete(task)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        any_loop.run_until_complete(task)


def test_run_until_complete_propagates_exception(any_loop: asyncio.AbstractEventLoop) -> None:
    async def fail() -> None:
        raise KeyError("inside")

    with pytest.raises(KeyError):
        any_loop.run_until_complete(fail())


def test_run_until_complete_accepts_awaitables(any_loop: asyncio.AbstractEventLoop) -> None:
    class Awaitable:
        def __await__(self) -> Iterator[Any]:
            yield from asyncio.sleep(0).__await__()
            return "awaited"  # type: ignore[return-value]

    assert any_loop.run_until_complete(Awaitable()) == "awaited"  # type: ignore[arg-type]


def test_shutdown_asyncgens_closes_open_generators(any_loop: asyncio.AbstractEventLoop) -> None:
    closed: list[str] = []

    async def agen() -> AsyncGenerator[int, None]:
        try:
            yield 1
            yield 2
        finally:
            closed.append("closed")

    gen = agen()

    async def main() -> int:
        return await gen.__anext__()

    assert any_loop.run_until_complete(main()) == 1
    any_loop.run_until_complete(any_loop.shutdown_asyncgens())
    assert closed == ["closed"]


def test_shutdown_asyncgens_reports_errors(any_loop: asyncio.AbstractEventLoop) -> None:
    contexts: list[dict[str, Any]] = []
    any_loop.set_exception_handler(lambda loop, ctx: contexts.append(ctx))

    async def agen() -> AsyncGenerator[int, None]:
        try:
            yield 1
        finally:
            raise ValueError("while closing")

    gen = agen()

    async def main() -> int:
        return await gen.__anext__()

    any_loop.run_until_complete(main())
    any_loop.run_until_complete(any_loop.shutdown_asyncgens())
    assert len(contexts) == 1
    assert isinstance(contexts[0]["exception"], ValueError)
    assert contexts[0]["asyncgen"] is gen


def test_asyncgen_finalizer_closes_abandoned_generator(
    any_loop: asyncio.AbstractEventLoop,
) -> None:
    closed: list[str] = []

    async def agen() -> AsyncGenerator[int, None]:
        try:
            yield 1
            yield 2
        finally:
            closed.append("closed")

    async def main() -> None:
        gen = agen()
        await gen.__anext__()
        del gen  # the finalizer hook schedules aclose()
        for _ in range(5):
            await asyncio.sleep(0)

    any_loop.run_until_complete(main())
    assert closed == ["closed"]


def test_asyncgen_hooks_are_restored(any_loop: asyncio.AbstractEventLoop) -> None:
    before = sys.get_asyncgen_hooks()

    async def main() -> object:
        return sys.get_asyncgen_hooks()

    during = any_loop.run_until_complete(main())
    assert during != before
    assert sys.get_asyncgen_hooks() == before


def test_task_exception_reported_when_never_retrieved(loop: EventLoop) -> None:
    contexts: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, ctx: contexts.append(ctx))

    async def fail() -> None:
        raise ValueError("nobody looks")

    async def main() -> None:
        loop.create_task(fail())
        await asyncio.sleep(0)
        await asyncio.sleep(0)

    loop.run_until_complete(main())
    import gc

    gc.collect()
    assert any(isinstance(c.get("exception"), ValueError) for c in contexts)


@pytest.fixture
def no_gc() -> Iterator[None]:
    """The garbage collector off: what a test frees, reference counting frees."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@pytest.mark.usefixtures("no_gc")
def test_finished_callback_released_before_the_next_one_runs(loop: EventLoop) -> None:
    # asyncio's C Task has no interpreted frames that could keep it in a
    # reference cycle: it is freed as soon as the loop lets go of its step,
    # and its "never retrieved" report must reach the handler before the
    # next callback of the same batch runs, in the failed task's context
    # (where the Task can tell it: get_context() is new in 3.12). On an
    # interpreted loop the coroutine's frame links (f_back) to the frames of
    # Handle._run and _run_once, which must not keep the task's step then.
    request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
    seen: list[tuple[str, str]] = []
    loop.set_exception_handler(lambda _loop, ctx: seen.append((ctx["message"], request_id.get())))

    async def fail() -> None:
        request_id.set("req-7")
        raise ValueError("nobody looks")

    async def main() -> list[tuple[str, str]]:
        asyncio.Task(fail())  # dropped on purpose
        await asyncio.sleep(0)  # the task's step and this wake-up: one batch
        return list(seen)

    expected_id = "req-7" if hasattr(asyncio.Task, "get_context") else "-"
    assert loop.run_until_complete(main()) == [("Task exception was never retrieved", expected_id)]


@pytest.mark.usefixtures("no_gc")
def test_failed_task_last_in_its_batch_is_reported_by_the_next_one(loop: EventLoop) -> None:
    # The dropped task's step is the last callback of its batch, so it is the
    # last handle the loop ran when the batch ends (an interpreted loop must
    # not keep it in a local that the coroutine's frame chain still reaches).
    seen: list[str] = []
    loop.set_exception_handler(lambda _loop, ctx: seen.append(ctx["message"]))

    async def fail() -> None:
        raise ValueError("nobody looks")

    async def main() -> list[str]:
        ready = loop.create_future()
        loop.call_soon(ready.set_result, None)  # first in the next batch
        asyncio.Task(fail())  # its step: second and last; dropped on purpose
        await ready  # resumed in the batch after
        return list(seen)

    assert loop.run_until_complete(main()) == ["Task exception was never retrieved"]


# ------------------------------------------------------------- runner and run


def test_run_returns_result_and_closes_loop() -> None:
    loops: list[asyncio.AbstractEventLoop] = []

    async def main() -> str:
        loops.append(asyncio.get_running_loop())
        return "done"

    assert corolla.loop.run(main()) == "done"
    assert isinstance(loops[0], EventLoop)
    assert loops[0].is_closed()


def test_run_debug_flag() -> None:
    async def main() -> bool:
        return asyncio.get_running_loop().get_debug()

    assert corolla.loop.run(main(), debug=True) is True
    assert corolla.loop.run(main(), debug=False) is False


def test_run_and_runner_debug_take_any_truth_value() -> None:
    # As asyncio.run / asyncio.Runner: debug is tested for its truth (the
    # compiled build once raised TypeError for debug=1).
    async def main() -> bool:
        return asyncio.get_running_loop().get_debug()

    assert corolla.loop.run(main(), debug=1) is True
    with Runner(debug=0) as runner:
        assert runner.run(main()) is False


def test_run_cancels_leftover_tasks() -> None:
    cancelled: list[bool] = []

    async def forever() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    async def main() -> None:
        asyncio.get_running_loop().create_task(forever())
        await asyncio.sleep(0)

    corolla.loop.run(main())
    assert cancelled == [True]


def test_run_from_running_loop_is_error() -> None:
    async def inner() -> None:
        return None

    async def main() -> None:
        coro = inner()
        try:
            with pytest.raises(RuntimeError):
                corolla.loop.run(coro)
        finally:
            coro.close()

    corolla.loop.run(main())


def test_runner_context_loop_factory_and_close() -> None:
    var: contextvars.ContextVar[int] = contextvars.ContextVar("var", default=0)

    async def bump() -> int:
        var.set(var.get() + 1)
        return var.get()

    with Runner(loop_factory=corolla.loop.new_event_loop) as runner:
        assert runner.run(bump()) == 1
        assert runner.run(bump()) == 2  # one shared context
        assert isinstance(runner.get_loop(), EventLoop)
        assert runner.run(bump(), context=contextvars.copy_context()) == 1
        loop = runner.get_loop()
    assert loop.is_closed()
    coro = bump()
    with pytest.raises(RuntimeError, match="closed"):
        runner.run(coro)
    coro.close()


def test_runner_rejects_non_coroutines() -> None:
    with Runner() as runner, pytest.raises(ValueError):
        runner.run(42)  # type: ignore[arg-type]


def test_runner_sigint_cancels_main_task() -> None:
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals need the main thread")
    seen: list[str] = []

    async def main() -> None:
        try:
            asyncio.get_running_loop().call_soon(signal.raise_signal, signal.SIGINT)
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    with Runner() as runner, pytest.raises(KeyboardInterrupt):
        runner.run(main())
    assert seen == ["cancelled"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_stdlib_runner_with_corolla_factory() -> None:
    async def main() -> type:
        return type(asyncio.get_running_loop())

    with asyncio.Runner(loop_factory=corolla.loop.new_event_loop) as runner:
        assert runner.run(main()) is EventLoop


@pytest.fixture
def restore_policy() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        old = asyncio.get_event_loop_policy()
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        asyncio.set_event_loop_policy(old)


@pytest.mark.usefixtures("restore_policy")
def test_install_makes_corolla_the_default() -> None:
    corolla.loop.install()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        assert isinstance(asyncio.get_event_loop_policy(), EventLoopPolicy)
    loop = asyncio.new_event_loop()
    try:
        assert isinstance(loop, EventLoop)
    finally:
        loop.close()

    async def main() -> type:
        return type(asyncio.get_running_loop())

    assert asyncio.run(main()) is EventLoop


def test_policy_per_thread_loops() -> None:
    policy = EventLoopPolicy()
    loop = policy.new_event_loop()
    try:
        policy.set_event_loop(loop)
        assert policy.get_event_loop() is loop
        errors: list[BaseException] = []

        def worker() -> None:
            try:
                policy.get_event_loop()
            except RuntimeError as exc:
                errors.append(exc)

        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
        assert len(errors) == 1
        with pytest.raises(TypeError):
            policy.set_event_loop(42)  # type: ignore[arg-type]
        policy.set_event_loop(None)
        with pytest.raises(RuntimeError):
            policy.get_event_loop()
    finally:
        loop.close()


# ------------------------------------------------------------------ fork


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_forked_child_gets_its_own_loop_state(loop: EventLoop) -> None:
    parent_wake = loop._wake_rfd
    rfd, wfd = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads around
        pid = os.fork()
    if pid == 0:  # child
        code = 1
        try:
            assert asyncio._get_running_loop() is None

            async def work() -> int:
                await asyncio.sleep(0)
                return 3

            # the inherited loop runs on fresh fds; a new loop works as well
            ok = loop.run_until_complete(work()) == 3
            fresh = corolla.loop.new_event_loop()
            ok = ok and fresh.run_until_complete(work()) == 3
            fresh.close()
            os.write(wfd, b"ok" if ok else b"no")
            code = 0
        finally:
            os._exit(code)
    os.close(wfd)
    try:
        _, status = os.waitpid(pid, 0)
        assert os.read(rfd, 10) == b"ok"
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        os.close(rfd)
    # the parent's loop is untouched and still works
    assert loop._wake_rfd == parent_wake

    async def again() -> int:
        return 4

    assert loop.run_until_complete(again()) == 4


# ---------------------------------------------------- high-level delegation


def test_subprocess_methods_name_the_missing_piece(loop: EventLoop) -> None:
    try:
        import corolla.subprocess as sub
    except ImportError:
        sub = None  # type: ignore[assignment]
    if sub is not None and hasattr(sub, "subprocess_exec"):
        pytest.skip("corolla.subprocess provides subprocess_exec now")
    with pytest.raises(RuntimeError, match=r"corolla\.subprocess\.subprocess_exec"):
        loop.run_until_complete(loop.subprocess_exec(asyncio.SubprocessProtocol, "true"))
    with pytest.raises(RuntimeError, match=r"corolla\.subprocess\.subprocess_shell"):
        loop.run_until_complete(loop.subprocess_shell(asyncio.SubprocessProtocol, "true"))


def test_create_connection_delegates_or_names_the_missing_piece(loop: EventLoop) -> None:
    import corolla.transports as transports

    if not hasattr(transports, "create_connection") or not hasattr(transports, "create_server"):
        with pytest.raises(RuntimeError, match=r"corolla\.transports\."):
            loop.run_until_complete(loop.create_connection(asyncio.Protocol, "127.0.0.1", 1))
        return

    received: list[bytes] = []
    done = loop.create_future()

    class Server(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport

        def data_received(self, data: bytes) -> None:
            received.append(data)
            self.transport.close()

        def connection_lost(self, exc: Exception | None) -> None:
            if not done.done():
                done.set_result(None)

    async def main() -> None:
        server = await loop.create_server(Server, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        transport, _ = await loop.create_connection(asyncio.Protocol, "127.0.0.1", port)
        transport.write(b"through transports")
        await done
        transport.close()
        server.close()
        await server.wait_closed()

    loop.run_until_complete(main())
    assert b"".join(received) == b"through transports"


def test_other_network_methods_delegate_or_name_the_missing_piece(loop: EventLoop) -> None:
    import corolla.transports as transports

    for name in ("create_unix_connection", "connect_read_pipe"):
        if hasattr(transports, name):
            continue
        method = getattr(loop, name)
        with pytest.raises(RuntimeError, match=rf"corolla\.transports\.{name}"):
            loop.run_until_complete(method(asyncio.Protocol, None))


def test_runner_with_stdlib_loop_factory() -> None:
    async def main() -> str:
        await asyncio.get_running_loop().run_in_executor(None, int)
        return type(asyncio.get_running_loop()).__name__

    with Runner(loop_factory=asyncio.new_event_loop) as runner:
        assert runner.run(main()) != "EventLoop"
    assert corolla.loop.run(main(), loop_factory=asyncio.new_event_loop) != "EventLoop"


def test_policy_makes_a_main_thread_loop_like_the_running_python() -> None:
    policy = EventLoopPolicy()
    if sys.version_info >= (3, 14):
        with pytest.raises(RuntimeError):
            policy.get_event_loop()
        return
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        loop = policy.get_event_loop()
    try:
        assert isinstance(loop, EventLoop)
        assert policy.get_event_loop() is loop
        deprecations = [w for w in seen if w.category is DeprecationWarning]
        if sys.version_info >= (3, 12):
            assert deprecations
            assert deprecations[0].filename == __file__
        else:
            assert not deprecations
    finally:
        loop.close()
