"""Call-graph introspection (asyncio 3.14's capture/format/print_call_graph), on every loop.

The scenarios follow what CPython's test_graph checks, as behaviour: who is on a
task's call stack, and who is recorded as awaiting whom. Stacks are compared on
the frames of this file only: corolla's own coroutines (TaskGroup.__aexit__, for
one) show up in the pure build and not in the compiled one, which has no frames.
"""

from __future__ import annotations

import asyncio
import io
import re
from typing import Any

import pytest

import corolla.tasks as ct
from corolla.futures import Future, future_add_to_awaited_by, future_discard_from_awaited_by

CO_COROUTINE = 0x80
CO_ASYNC_GENERATOR = 0x200

Summary = list[Any]


@pytest.fixture
def gloop(loop: asyncio.AbstractEventLoop) -> asyncio.AbstractEventLoop:
    """The loop, making corolla tasks (the stdlib loop makes its own by default)."""

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> Any:
        return ct.Task(coro, loop=loop, **kwargs)

    loop.set_task_factory(factory)
    return loop


def awaited(fut: Any) -> Any:
    """Who is recorded as awaiting ``fut`` (a frozenset), or None."""
    return fut._asyncio_awaited_by


def run(loop: asyncio.AbstractEventLoop, coro: Any) -> Any:
    return loop.run_until_complete(ct.Task(coro, loop=loop))


def entry(frame: Any) -> str:
    flags = frame.f_code.co_flags
    kind = "a" if flags & CO_COROUTINE else "ag" if flags & CO_ASYNC_GENERATOR else "s"
    return f"{kind} {frame.f_code.co_name}"


def label(fut: Any) -> str:
    if isinstance(fut, (ct.Task, asyncio.Task)):
        name = fut.get_name()
        # 3.13.0's create_task() names a factory-made task "None" when given no name.
        anonymous = name.startswith("Task-") or name == "None"
        return "T<anon>" if anonymous else f"T<{name}>"
    return "F"


def summary(graph: ct.FutureCallGraph) -> Summary:
    """(label, entries of this file's frames, sorted summaries of the waiters)."""
    assert isinstance(graph.call_stack, tuple)
    assert isinstance(graph.awaited_by, tuple)
    for item in graph.call_stack:
        assert isinstance(item, ct.FrameCallGraphEntry)
    return [
        label(graph.future),
        [entry(e.frame) for e in graph.call_stack if e.frame.f_code.co_filename == __file__],
        sorted((summary(w) for w in graph.awaited_by), key=str),
    ]


def capture(fut: Any = None, *, depth: int = 1, limit: int | None = None) -> tuple[Summary, str]:
    """The caller's view: summary of capture_call_graph and the printed text."""
    buf = io.StringIO()
    # print_call_graph's own frame is one more to skip, as in asyncio.
    ct.print_call_graph(fut, file=buf, depth=depth + 1, limit=limit)
    graph = ct.capture_call_graph(fut, depth=depth, limit=limit)
    assert graph is not None
    return summary(graph), buf.getvalue()


def test_nested_coroutines_in_task_group(gloop: asyncio.AbstractEventLoop) -> None:
    seen: list[tuple[Summary, str]] = []

    def c5() -> None:
        seen.append(capture(depth=2))

    async def c4() -> None:
        await ct.sleep(0)
        c5()

    async def c3() -> None:
        await c4()

    async def c2() -> None:
        await c3()

    async def c1(task: Any) -> None:
        await task

    async def main() -> None:
        async with ct.TaskGroup() as tg:
            task = tg.create_task(c2(), name="c2_root")
            tg.create_task(c1(task), name="sub_main_1")
            tg.create_task(c1(task), name="sub_main_2")

    run(gloop, main())
    parent = ["T<anon>", ["a main"], []]
    assert seen[0][0] == [
        "T<c2_root>",
        ["s c5", "a c4", "a c3", "a c2"],
        [
            parent,
            ["T<sub_main_1>", ["a c1"], [parent]],
            ["T<sub_main_2>", ["a c1"], [parent]],
        ],
    ]
    text = seen[0][1]
    assert text.startswith("* Task(name='c2_root', id=0x")
    assert "test_nested_coroutines_in_task_group.<locals>.c5()" in text
    assert " async test_nested_coroutines_in_task_group.<locals>.c4()" in text
    assert "  + Awaited by:\n    * Task(name=" in text


def test_async_generator_frames(gloop: asyncio.AbstractEventLoop) -> None:
    seen: list[tuple[Summary, str]] = []

    async def nested() -> None:
        seen.append(capture())

    async def gen() -> Any:
        for num in range(2):
            yield num
            if num == 1:
                await nested()

    async def main() -> None:
        async for _ in gen():
            pass

    run(gloop, main())
    assert seen[0][0] == ["T<anon>", ["s capture", "a nested", "ag gen", "a main"], []]
    assert "async generator test_async_generator_frames.<locals>.gen()" in seen[0][1]


def test_gather_records_the_calling_task(gloop: asyncio.AbstractEventLoop) -> None:
    seen: list[Summary] = []
    children: list[Any] = []

    async def deep() -> None:
        await ct.sleep(0)
        seen.append(capture()[0])

    async def c1() -> None:
        await ct.sleep(0)
        await deep()

    async def c2() -> None:
        await ct.sleep(0)

    async def main() -> None:
        a, b = ct.ensure_future(c1()), ct.ensure_future(c2())
        children.extend((a, b))
        await ct.gather(a, b)

    run(gloop, main())
    assert seen[0] == ["T<anon>", ["s capture", "a deep", "a c1"], [["T<anon>", ["a main"], []]]]
    assert [awaited(c) for c in children] == [None, None]


def test_shield_and_timeout(gloop: asyncio.AbstractEventLoop) -> None:
    seen: list[Summary] = []

    async def inner() -> None:
        await ct.sleep(0)
        seen.append(capture()[0])

    async def c1() -> None:
        async with ct.timeout(60):
            await ct.sleep(0)
            await inner()

    async def main() -> None:
        await ct.shield(c1())

    run(gloop, main())
    assert seen[0] == ["T<anon>", ["s capture", "a inner", "a c1"], [["T<anon>", ["a main"], []]]]


def test_wait_records_the_calling_task(gloop: asyncio.AbstractEventLoop) -> None:
    seen: list[Summary] = []

    async def inner() -> None:
        await ct.sleep(0)
        seen.append(capture()[0])

    async def c1() -> None:
        async with ct.timeout(60):
            await ct.sleep(0)
            await inner()

    async def c2(gate: Any) -> None:
        await gate

    async def main() -> None:
        gate: Future[None] = Future()
        t1 = ct.create_task(c1())
        t2 = ct.create_task(c2(gate))
        done, pending = await ct.wait([t1, t2], return_when=ct.FIRST_COMPLETED)
        assert (done, pending) == ({t1}, {t2})
        # Left pending: no longer awaited by this task.
        assert awaited(t1) is None
        assert awaited(t2) is None
        gate.set_result(None)
        await t2

    run(gloop, main())
    assert seen[0] == ["T<anon>", ["s capture", "a inner", "a c1"], [["T<anon>", ["a main"], []]]]


def test_task_awaiting_a_task(gloop: asyncio.AbstractEventLoop) -> None:
    seen: list[Summary] = []

    async def inner() -> None:
        await ct.sleep(0)
        seen.append(capture()[0])

    async def c1() -> None:
        await inner()

    async def c2() -> None:
        await ct.create_task(c1(), name="there there")

    async def main() -> None:
        await c2()

    run(gloop, main())
    assert seen[0] == [
        "T<there there>",
        ["s capture", "a inner", "a c1"],
        [["T<anon>", ["a c2", "a main"], []]],
    ]


def test_plain_future_awaited_by_two_tasks(gloop: asyncio.AbstractEventLoop) -> None:
    seen: list[tuple[Summary, str]] = []

    async def a2(fut: Any) -> None:
        await fut

    async def a1(fut: Any) -> None:
        await a2(fut)

    async def b1(fut: Any) -> None:
        await fut

    async def main() -> None:
        fut: Future[None] = Future()
        async with ct.TaskGroup() as g:
            ta = g.create_task(a1(fut), name="task A")
            tb = g.create_task(b1(fut), name="task B")
            while awaited(fut) is None or len(awaited(fut)) < 2:
                await ct.sleep(0)
            assert awaited(fut) == frozenset((ta, tb))
            seen.append(capture(fut))
            fut.set_result(None)
        assert awaited(fut) is None
        assert awaited(ta) is None
        assert awaited(tb) is None

    run(gloop, main())
    parent = ["T<anon>", ["a main"], []]
    assert seen[0][0] == [
        "F",
        [],
        [["T<task A>", ["a a2", "a a1"], [parent]], ["T<task B>", ["a b1"], [parent]]],
    ]
    assert seen[0][1].startswith("* Future(id=0x")


def _chain(loop: asyncio.AbstractEventLoop, **kw: Any) -> Summary:
    """c2 -> c3 -> c4 -> c5 capturing with ``kw``; c2 awaited by a task in c1."""
    seen: list[Summary] = []

    def c5() -> None:
        graph = ct.capture_call_graph(**kw)
        assert graph is not None
        seen.append(summary(graph))

    async def c4() -> None:
        await ct.sleep(0)
        c5()

    async def c3() -> None:
        await c4()

    async def c2() -> None:
        await c3()

    async def c1(task: Any) -> None:
        await task

    async def main() -> None:
        task = ct.create_task(c2())
        await ct.create_task(c1(task))

    run(loop, main())
    return seen[0]


def test_depth_and_limit(gloop: asyncio.AbstractEventLoop) -> None:
    # c2's task is awaited by c1's, itself awaited by main's.
    waiter = ["T<anon>", ["a c1"], [["T<anon>", ["a main"], []]]]
    assert _chain(gloop) == ["T<anon>", ["s c5", "a c4", "a c3", "a c2"], [waiter]]
    assert _chain(gloop, depth=2) == ["T<anon>", ["a c4", "a c3", "a c2"], [waiter]]
    # A positive limit keeps the outermost entries, a negative one the innermost.
    assert _chain(gloop, limit=2) == ["T<anon>", ["a c3", "a c2"], [waiter]]
    assert _chain(gloop, limit=-2) == ["T<anon>", ["s c5", "a c4"], [waiter]]
    assert _chain(gloop, limit=0) == ["T<anon>", [], [["T<anon>", [], [["T<anon>", [], []]]]]]


def test_limit_on_another_task(gloop: asyncio.AbstractEventLoop) -> None:
    seen: list[Summary] = []
    started = []

    async def leaf(fut: Any) -> None:
        started.append(1)
        await fut

    async def mid(fut: Any) -> None:
        await leaf(fut)

    async def top(fut: Any) -> None:
        await mid(fut)

    async def main() -> None:
        fut: Future[None] = Future()
        task = ct.create_task(top(fut))
        while awaited(fut) is None:
            await ct.sleep(0)
        for limit in (None, 2, -2, 0):
            graph = ct.capture_call_graph(task, limit=limit)
            assert graph is not None
            assert graph.future is task
            seen.append(summary(graph))
        # The current task passed explicitly is the current-task view.
        graph = ct.capture_call_graph(ct.current_task())
        assert graph is not None
        seen.append(summary(graph))
        fut.set_result(None)
        await task

    run(gloop, main())
    assert seen == [
        ["T<anon>", ["a leaf", "a mid", "a top"], []],
        ["T<anon>", ["a mid", "a top"], []],
        ["T<anon>", ["a leaf", "a mid"], []],
        ["T<anon>", [], []],
        ["T<anon>", ["a main"], []],
    ]


def test_print_call_graph_layout(gloop: asyncio.AbstractEventLoop) -> None:
    out: list[str] = []

    def show() -> None:
        buf = io.StringIO()
        ct.print_call_graph(file=buf, depth=2)
        out.append(buf.getvalue())
        buf = io.StringIO()
        ct.print_call_graph(file=buf)
        out.append(buf.getvalue())
        out.append(ct.format_call_graph(depth=1))

    async def child() -> None:
        show()

    async def main() -> None:
        async with ct.TaskGroup() as g:
            g.create_task(child(), name="child")

    run(gloop, main())
    lines = out[0].splitlines()
    assert out[0].endswith("\n")
    assert re.fullmatch(r"\* Task\(name='child', id=0x[0-9a-f]+\)", lines[0])
    assert lines[1] == "  + Call stack:"
    name = "test_print_call_graph_layout.<locals>"
    assert re.fullmatch(
        rf"  \|   File {re.escape(repr(__file__))}, line \d+, in {name}.show\(\)", lines[2]
    )
    assert re.fullmatch(rf"  \|   File '.*', line \d+, in async {name}.child\(\)", lines[3])
    assert lines[4] == "  + Awaited by:"
    assert re.fullmatch(r"    \* Task\(name='Task-\d+', id=0x[0-9a-f]+\)", lines[5])
    assert lines[6] == "      + Call stack:"
    assert lines[-1].endswith(f", in async {name}.main()")
    assert all(line.startswith("      |   File ") for line in lines[7:])
    # The default depth starts at print_call_graph's own frame, as asyncio's does.
    assert out[1].splitlines()[2].endswith(", in print_call_graph()")
    assert out[1].splitlines()[3].endswith(f", in {name}.show()")
    assert out[2].splitlines()[2].endswith(f", in {name}.show()")
    assert out[2].splitlines()[3:] == lines[3:]


def test_outside_a_task(loop: asyncio.AbstractEventLoop) -> None:
    with pytest.raises(RuntimeError, match="outside of a running event loop"):
        ct.capture_call_graph()
    with pytest.raises(TypeError, match=r"compatible with asyncio\.Future"):
        ct.capture_call_graph(42)
    results: list[Any] = []

    def callback() -> None:
        results.append(ct.capture_call_graph())
        results.append(ct.format_call_graph())
        buf = io.StringIO()
        ct.print_call_graph(file=buf)
        results.append(buf.getvalue())

    loop.call_soon(callback)
    loop.call_soon(loop.stop)
    loop.run_forever()
    assert results == [None, "", "\n"]
    fut: Future[int] = Future(loop=loop)
    graph = ct.capture_call_graph(fut)
    assert graph == ct.FutureCallGraph(fut, (), ())
    assert ct.format_call_graph(fut) == f"* Future(id={id(fut):#x})"
    with pytest.raises(dataclasses_frozen_error()):
        graph.future = None  # type: ignore[misc]


def dataclasses_frozen_error() -> type[BaseException]:
    import dataclasses

    return dataclasses.FrozenInstanceError


def test_stdlib_objects(loop: asyncio.AbstractEventLoop) -> None:
    seen: list[Summary] = []

    async def leaf(fut: Any) -> None:
        await fut

    async def main() -> None:
        fut: Future[None] = Future()
        # A stdlib task awaiting a corolla future is not recorded (asyncio's
        # functions before 3.14 know nothing of the call graph), but can be
        # described from its coroutine.
        task = asyncio.Task(leaf(fut))
        await ct.sleep(0)
        graph = ct.capture_call_graph(task)
        assert graph is not None
        seen.append(summary(graph))
        assert awaited(fut) is None
        other: asyncio.Future[None] = asyncio.Future()
        # Anything not corolla's is ignored, as asyncio ignores what is not its own.
        future_add_to_awaited_by(other, ct.current_task())
        future_add_to_awaited_by(fut, task)
        future_add_to_awaited_by(fut, other)
        future_add_to_awaited_by(42, fut)
        future_discard_from_awaited_by(other, ct.current_task())
        future_discard_from_awaited_by(fut, other)
        assert awaited(fut) is None
        assert ct.capture_call_graph(other) == ct.FutureCallGraph(other, (), ())
        fut.set_result(None)
        await task

    run(loop, main())
    assert seen == [["T<anon>", ["a leaf"], []]]


def test_awaited_by_bookkeeping(loop: asyncio.AbstractEventLoop) -> None:
    fut: Future[None] = Future(loop=loop)
    a: Future[None] = Future(loop=loop)
    b: Future[None] = Future(loop=loop)
    c: Future[None] = Future(loop=loop)
    assert awaited(fut) is None
    future_add_to_awaited_by(fut, a)
    future_add_to_awaited_by(fut, a)
    assert awaited(fut) == frozenset((a,))
    future_add_to_awaited_by(fut, b)
    future_add_to_awaited_by(fut, c)
    future_add_to_awaited_by(fut, b)
    assert awaited(fut) == frozenset((a, b, c))
    future_discard_from_awaited_by(fut, a)
    assert awaited(fut) == frozenset((b, c))
    # The first place is free again: b, already recorded, is not recorded twice.
    future_add_to_awaited_by(fut, b)
    future_discard_from_awaited_by(fut, b)
    assert awaited(fut) == frozenset((c,))
    future_discard_from_awaited_by(fut, c)
    future_discard_from_awaited_by(fut, c)
    assert awaited(fut) is None
    graph = ct.capture_call_graph(fut)
    assert graph is not None
    assert graph.awaited_by == ()
    future_add_to_awaited_by(fut, a)
    future_add_to_awaited_by(a, b)
    graph = ct.capture_call_graph(fut)
    assert graph == ct.FutureCallGraph(
        fut, (), (ct.FutureCallGraph(a, (), (ct.FutureCallGraph(b, (), ()),)),)
    )
    text = ct.format_call_graph(fut)
    assert text == "\n".join(
        [
            f"* Future(id={id(fut):#x})",
            "  + Awaited by:",
            f"    * Future(id={id(a):#x})",
            "      + Awaited by:",
            f"        * Future(id={id(b):#x})",
        ]
    )
    for f in (fut, a, b, c):
        f.cancel()


def test_cancelled_waiter_forgets(gloop: asyncio.AbstractEventLoop) -> None:
    async def main() -> None:
        fut: Future[None] = Future()
        task = ct.create_task(fut_wait(fut))
        while awaited(fut) is None:
            await ct.sleep(0)
        assert awaited(fut) == frozenset((task,))
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert awaited(fut) is None

    run(gloop, main())


async def fut_wait(fut: Any) -> None:
    await fut


def test_public_names() -> None:
    import corolla.futures as cf

    for name in (
        "capture_call_graph",
        "format_call_graph",
        "print_call_graph",
        "FrameCallGraphEntry",
        "FutureCallGraph",
    ):
        assert name in ct.__all__
        assert getattr(ct, name).__module__ == "corolla.tasks._graph"
    for name in ("future_add_to_awaited_by", "future_discard_from_awaited_by"):
        assert name in cf.__all__
