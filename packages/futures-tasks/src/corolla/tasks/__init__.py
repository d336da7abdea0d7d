"""corolla.tasks: Task and the coroutine helpers (gather, wait, timeout, TaskGroup, ...)
for any asyncio event loop.

Future-level names (Future, isfuture, wrap_future) live in corolla.futures;
everything that runs coroutines lives here.
"""

from asyncio import AbstractEventLoop, CancelledError, InvalidStateError
from collections.abc import Coroutine, Generator
from contextvars import Context
from typing import TYPE_CHECKING, Any, TypeVar

from corolla.futures._wrap import wrap_future
from corolla.tasks._api import Task, TaskGroup
from corolla.tasks._combinators import (
    ALL_COMPLETED,
    FIRST_COMPLETED,
    FIRST_EXCEPTION,
    AsCompletedIterator,
    as_completed,
    ensure_future,
    gather,
    shield,
    wait,
)
from corolla.tasks._compiled import COMPILED
from corolla.tasks._coroutines import create_task, iscoroutine, iscoroutinefunction
from corolla.tasks._graph import (
    FrameCallGraphEntry,
    FutureCallGraph,
    capture_call_graph,
    format_call_graph,
    print_call_graph,
)
from corolla.tasks._threads import (
    all_tasks,
    create_eager_task_factory,
    current_task,
    eager_task_factory,
    run_coroutine_threadsafe,
    to_thread,
)
from corolla.tasks._timeouts import Timeout, sleep, timeout, timeout_at, wait_for

if TYPE_CHECKING:
    _T = TypeVar("_T")

    def new_task(
        loop: AbstractEventLoop,
        coro: Coroutine[Any, Any, _T] | Generator[Any, None, _T],
        name: object = None,
        context: Context | None = None,
        eager_start: bool = False,
    ) -> Task[_T]: ...

else:
    from corolla.tasks._task import new_task

__all__ = [
    "COMPILED",
    "Task",
    "create_task",
    "new_task",
    "iscoroutine",
    "iscoroutinefunction",
    "CancelledError",
    "InvalidStateError",
    "FIRST_COMPLETED",
    "FIRST_EXCEPTION",
    "ALL_COMPLETED",
    "ensure_future",
    "gather",
    "shield",
    "wait",
    "wait_for",
    "as_completed",
    "AsCompletedIterator",
    "sleep",
    "timeout",
    "timeout_at",
    "Timeout",
    "TaskGroup",
    "run_coroutine_threadsafe",
    "wrap_future",
    "to_thread",
    "current_task",
    "all_tasks",
    "eager_task_factory",
    "create_eager_task_factory",
    "capture_call_graph",
    "format_call_graph",
    "print_call_graph",
    "FrameCallGraphEntry",
    "FutureCallGraph",
]
