"""Call-graph introspection: who runs what, and who waits on whom (asyncio 3.14's API).

This lives in a package ``__init__`` so that it stays interpreted in compiled
builds: ``depth`` counts Python frames, and compiled functions have none, so
the functions here must be ordinary Python functions for ``depth`` to mean the
same thing in every build.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import types
from typing import IO, Any, Final

from corolla.futures._future import isfuture

__all__ = [
    "FrameCallGraphEntry",
    "FutureCallGraph",
    "capture_call_graph",
    "format_call_graph",
    "print_call_graph",
]

# Code flags (inspect.CO_*): a frame runs a coroutine, an async generator or a
# generator. 3.14 frames say so with ``f_generator``; older ones only through
# their code object.
_CO_GENERATOR: Final = 0x20
_CO_COROUTINE: Final = 0x80
_CO_ITERABLE_COROUTINE: Final = 0x100
_CO_ASYNC_GENERATOR: Final = 0x200
_CO_SUSPENDABLE: Final = (
    _CO_GENERATOR | _CO_COROUTINE | _CO_ITERABLE_COROUTINE | _CO_ASYNC_GENERATOR
)


@dataclasses.dataclass(frozen=True, slots=True)
class FrameCallGraphEntry:
    """One entry of a call stack in a :class:`FutureCallGraph`.

    ``frame`` is the frame of a coroutine, of an async generator, or of a
    plain function called from one.
    """

    frame: types.FrameType


@dataclasses.dataclass(frozen=True, slots=True)
class FutureCallGraph:
    """The call graph of one future or task.

    ``future``: the future or task described. ``call_stack``: a tuple of
    :class:`FrameCallGraphEntry`, the innermost (most recently called) frame
    first; empty for a plain future. ``awaited_by``: a tuple of
    :class:`FutureCallGraph`, one for each future or task recorded as
    awaiting this one.
    """

    future: Any
    call_stack: tuple[FrameCallGraphEntry, ...]
    awaited_by: tuple[FutureCallGraph, ...]


def _is_suspendable(frame: types.FrameType) -> bool:
    return bool(frame.f_code.co_flags & _CO_SUSPENDABLE)


def _check_future(future: Any) -> None:
    if not isfuture(future):
        raise TypeError(f"{future!r} object does not appear to be compatible with asyncio.Future")


def _awaited_by_graphs(future: Any, limit: int | None) -> tuple[FutureCallGraph, ...]:
    # corolla's futures (and 3.14's own) expose who awaits them; others do not.
    waiters = getattr(future, "_asyncio_awaited_by", None)
    if not waiters:
        return ()
    return tuple(_graph_of_other(waiter, limit) for waiter in waiters)


def _graph_of_other(future: Any, limit: int | None) -> FutureCallGraph:
    """The graph of a future or task that is not running now: from its coroutine chain."""
    _check_future(future)
    coro: Any = None
    get_coro = getattr(future, "get_coro", None)
    if get_coro is not None and limit != 0:
        coro = get_coro()
    # Outermost first: the task's coroutine, then what it awaits, and so on.
    frames: list[FrameCallGraphEntry] = []
    while coro is not None:
        if hasattr(coro, "cr_await"):
            frame = coro.cr_frame
            coro = coro.cr_await
        elif hasattr(coro, "ag_await"):
            frame = coro.ag_frame
            coro = coro.ag_await
        else:
            # A generator-based awaitable, a future, or a compiled coroutine,
            # which exposes no frame: the chain ends here.
            break
        if frame is None:  # finished
            break
        frames.append(FrameCallGraphEntry(frame))
    awaited_by = _awaited_by_graphs(future, limit)
    if limit is not None and limit != 0:
        frames = frames[:limit] if limit > 0 else frames[limit:]
    frames.reverse()
    return FutureCallGraph(future, tuple(frames), awaited_by)


def capture_call_graph(
    future: Any = None, /, *, depth: int = 1, limit: int | None = None
) -> FutureCallGraph | None:
    """The async call graph of the current task, or of ``future``.

    Without ``future``, the task running on the running event loop is
    described, from the frame of the caller down to its coroutine (``depth``
    frames up from this call: 1, the default, is the caller, 2 skips it, and
    so on); None is returned when no task is running, and RuntimeError raised
    when no event loop is. A ``future`` that is not the current task is
    described by the chain of coroutines its task is suspended in (a plain
    future has no call stack).

    ``limit`` keeps at most ``abs(limit)`` entries of each call stack in the
    graph: a positive one keeps the outermost entries (nearest to where the
    task started), a negative one the innermost; 0 keeps none, so that only
    who awaits whom is left.

    Returns a :class:`FutureCallGraph`, whose ``awaited_by`` lists the graphs
    of the tasks and futures that await this one: tasks record themselves on
    the future they wait on, ``gather()`` and ``shield()`` record their
    caller, a ``TaskGroup`` records its parent task on each of its tasks
    (see also :func:`corolla.futures.future_add_to_awaited_by`).
    """
    loop = asyncio._get_running_loop()
    if future is not None:
        if loop is None or future is not asyncio.current_task(loop):
            return _graph_of_other(future, limit)
    else:
        if loop is None:
            raise RuntimeError(
                "capture_call_graph() is called outside of a running event loop "
                "and no *future* to introspect was provided"
            )
        future = asyncio.current_task(loop)
        if future is None:
            return None
    _check_future(future)
    call_stack: list[FrameCallGraphEntry] = []
    frame: types.FrameType | None = sys._getframe(depth) if limit != 0 else None
    try:
        while frame is not None:
            call_stack.append(FrameCallGraphEntry(frame))
            back = frame.f_back
            if _is_suspendable(frame) and back is not None and not _is_suspendable(back):
                # The outermost coroutine: below it is what runs the task.
                break
            frame = back
    finally:
        del frame
    awaited_by = _awaited_by_graphs(future, limit)
    if limit is not None and limit != 0:
        # Innermost first here, so the signs are the other way round.
        call_stack = call_stack[-limit:] if limit > 0 else call_stack[:-limit]
    return FutureCallGraph(future, tuple(call_stack), tuple(awaited_by))


def _is_task(future: Any) -> bool:
    return callable(getattr(future, "get_coro", None)) and callable(
        getattr(future, "get_name", None)
    )


def _frame_line(frame: types.FrameType) -> str:
    code = frame.f_code
    flags = code.co_flags
    if flags & _CO_COROUTINE:
        tag = "async "
    elif flags & _CO_ASYNC_GENERATOR:
        tag = "async generator "
    elif flags & (_CO_GENERATOR | _CO_ITERABLE_COROUTINE):
        tag = "generator "
    else:
        tag = ""
    return f"  |   File {code.co_filename!r}, line {frame.f_lineno}, in {tag}{code.co_qualname}()"


def _render(graph: FutureCallGraph, lines: list[str], level: int) -> None:
    indent = "    " * level
    future = graph.future
    if _is_task(future):
        lines.append(f"{indent}* Task(name={future.get_name()!r}, id={id(future):#x})")
    else:
        lines.append(f"{indent}* Future(id={id(future):#x})")
    if graph.call_stack:
        lines.append(f"{indent}  + Call stack:")
        lines.extend(indent + _frame_line(entry.frame) for entry in graph.call_stack)
    if graph.awaited_by:
        lines.append(f"{indent}  + Awaited by:")
        for waiter in graph.awaited_by:
            _render(waiter, lines, level + 1)


def format_call_graph(future: Any = None, /, *, depth: int = 1, limit: int | None = None) -> str:
    """:func:`capture_call_graph` as text, in asyncio's layout ("" when no task runs).

    One block per future: ``* Task(name=..., id=0x...)`` or
    ``* Future(id=0x...)``, then ``+ Call stack:`` with one
    ``|   File '...', line N, in async name()`` line per frame, innermost
    first, then ``+ Awaited by:`` with the blocks of its waiters, indented.
    """
    graph = capture_call_graph(future, depth=depth + 1, limit=limit)
    if graph is None:
        return ""
    lines: list[str] = []
    try:
        _render(graph, lines, 0)
    finally:
        # The graph holds frames: let them go now.
        del graph
    return "\n".join(lines)


def print_call_graph(
    future: Any = None,
    /,
    *,
    file: IO[str] | None = None,
    depth: int = 1,
    limit: int | None = None,
) -> None:
    """Print :func:`format_call_graph` to ``file`` (default: ``sys.stdout``).

    As asyncio's, with the default ``depth`` the printed stack of the current
    task starts at this function's own frame; pass ``depth=2`` to start at
    its caller.
    """
    print(format_call_graph(future, depth=depth, limit=limit), file=file)
