"""The public Task and TaskGroup classes, interpreted subclasses of the compiled
cores (see corolla.futures._api for why they live in a package ``__init__``)."""

from __future__ import annotations

import asyncio
import contextvars
import types
from collections.abc import Awaitable, Coroutine, Generator
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from typing import Self

from corolla.futures._api import Future
from corolla.futures._future import PENDING
from corolla.tasks._task import TASK_CLASS, TaskCore
from corolla.tasks._taskgroup import TaskGroupCore

_T = TypeVar("_T")


class Task(TaskCore, Future[_T]):
    """Runs a coroutine on an event loop; the task is a Future of its result.

    A drop-in for :class:`asyncio.Task`: the coroutine may await corolla
    futures, stdlib futures or anything else that follows the asyncio future
    protocol; :meth:`cancel` throws CancelledError into it at its next
    suspension point; the task takes part in the stdlib's current-task and
    all-tasks bookkeeping, so ``asyncio.current_task()``,
    ``asyncio.all_tasks()`` and ``asyncio.timeout()`` see it. With
    ``eager_start=True`` and a running loop, the coroutine runs right away
    up to its first suspension, inside the constructor.
    """

    if not TYPE_CHECKING:
        # Future[int] is a types.GenericAlias, as for asyncio's classes.
        __class_getitem__ = classmethod(types.GenericAlias)

    if TYPE_CHECKING:

        def __init__(
            self,
            coro: Coroutine[Any, Any, _T] | Generator[Any, None, _T],
            *,
            loop: asyncio.AbstractEventLoop | None = None,
            name: object = None,
            context: contextvars.Context | None = None,
            eager_start: bool = False,
        ) -> None: ...


async def await_awaitable(awaitable: Awaitable[Any]) -> Any:
    """The coroutine ensure_future wraps a non-coroutine awaitable in.

    Defined here, uncompiled, so that it is a real ``types.CoroutineType``
    (``task.get_coro()`` is one, as with asyncio).
    """
    return await awaitable


class GatheringFuture(Future[list[Any]]):
    """The future :func:`corolla.tasks.gather` returns: cancelling it cancels the children.

    A plain :class:`corolla.futures.Future` otherwise (``isinstance`` and
    ``asyncio.isfuture`` hold, it can be weakly referenced). Interpreted, like
    Future, so that its instances get weak references that are cleared when
    they die.
    """

    def __init__(self, children: list[Any], loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop=loop)
        self._children = children
        self._cancel_requested = False

    def cancel(self, msg: Any = None) -> bool:
        """Cancel every child still running; the outcome follows from theirs.

        Returns False if the gather is already done or no child could be
        cancelled.
        """
        if self._st != PENDING:
            return False
        cancelled_any = False
        for child in self._children:
            if child.cancel(msg=msg):
                cancelled_any = True
        if cancelled_any:
            # The outcome is decided when the children report back.
            self._cancel_requested = True
        return cancelled_any


class TaskGroup(TaskGroupCore):
    """Async context manager that owns the tasks created through it.

    Leaving the block waits for every task. The first task to fail cancels
    the others and the block itself; all failures are then raised together
    in a BaseExceptionGroup (KeyboardInterrupt and SystemExit are re-raised
    as they are). A cancellation of the enclosing task from outside is
    propagated, never swallowed.

    Interpreted over a compiled core, like asyncio's plain class: it can be
    subclassed, weakly referenced and given attributes.
    """

    if TYPE_CHECKING:

        async def __aenter__(self) -> Self: ...


TASK_CLASS.set(Task)
