"""TaskGroup: structured concurrency with ExceptionGroup semantics."""

from __future__ import annotations

import asyncio
import contextvars
import sys
from collections.abc import Coroutine
from types import TracebackType
from typing import Any

from mypy_extensions import mypyc_attr

from corolla.futures._api import Future
from corolla.futures._future import future_add_to_awaited_by, future_discard_from_awaited_by

# 3.13 closes a coroutine that create_task refuses (no "never awaited"
# warning); 3.11 and 3.12 leave it to the caller, who may still await it.
_CLOSE_REFUSED = sys.version_info >= (3, 13)


def _refuse(coro: Coroutine[Any, Any, Any]) -> None:
    if _CLOSE_REFUSED:
        coro.close()


def _is_base_error(exc: BaseException) -> bool:
    return isinstance(exc, (SystemExit, KeyboardInterrupt))


@mypyc_attr(allow_interpreted_subclasses=True)
class TaskGroupCore:
    """What :class:`corolla.tasks.TaskGroup` does (the public class: ``corolla.tasks._api``)."""

    def __init__(self) -> None:
        self._entered = False
        self._exiting = False
        self._aborting = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._parent_task: Any = None
        self._parent_cancel_requested = False
        self._tasks: set[Any] = set()
        self._errors: list[BaseException] = []
        self._base_error: BaseException | None = None
        self._on_completed_fut: Future[bool] | None = None

    def __repr__(self) -> str:
        info = [""]
        if self._tasks:
            info.append(f"tasks={len(self._tasks)}")
        if self._errors:
            info.append(f"errors={len(self._errors)}")
        if self._aborting:
            info.append("cancelling")
        elif self._entered:
            info.append("entered")
        return f"<TaskGroup{' '.join(info)}>"

    async def __aenter__(self) -> TaskGroupCore:
        if self._entered:
            raise RuntimeError(f"TaskGroup {self!r} has already been entered")
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        self._parent_task = asyncio.current_task()
        if self._parent_task is None:
            raise RuntimeError(f"TaskGroup {self!r} cannot determine the parent task")
        self._entered = True
        return self

    async def __aexit__(
        self,
        et: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        self._exiting = True
        if exc is not None and _is_base_error(exc) and self._base_error is None:
            self._base_error = exc
        propagate: BaseException | None = (
            exc if et is not None and issubclass(et, asyncio.CancelledError) else None
        )
        if et is not None and not self._aborting:
            self._abort()
        loop = self._loop
        assert loop is not None
        while self._tasks:
            if self._on_completed_fut is None:
                self._on_completed_fut = Future(loop=loop)
            try:
                await self._on_completed_fut
            except asyncio.CancelledError as cancelled:
                if not self._aborting:
                    propagate = cancelled
                    self._abort()
            self._on_completed_fut = None
        if self._base_error is not None:
            raise self._base_error
        if self._parent_cancel_requested and self._parent_task.uncancel() == 0:
            # We cancelled the parent ourselves and nobody else did: that
            # cancellation is ours to absorb.
            propagate = None
        if propagate is not None and not self._errors:
            raise propagate
        if et is not None and exc is not None and not issubclass(et, asyncio.CancelledError):
            self._errors.append(exc)
        if self._errors:
            parent = self._parent_task
            if parent.cancelling():
                # Keep an outside cancellation pending after we raise.
                parent.uncancel()
                parent.cancel()
            errors = self._errors
            self._errors = []
            raise BaseExceptionGroup("unhandled errors in a TaskGroup", errors) from None
        return None

    def create_task(
        self,
        coro: Coroutine[Any, Any, Any],
        *,
        name: object = None,
        context: contextvars.Context | None = None,
    ) -> Any:
        """Start a task in the group (``loop.create_task``, so factories apply)."""
        if not self._entered:
            _refuse(coro)
            raise RuntimeError(f"TaskGroup {self!r} has not been entered")
        if self._exiting and not self._tasks:
            _refuse(coro)
            raise RuntimeError(f"TaskGroup {self!r} is finished")
        if self._aborting:
            _refuse(coro)
            raise RuntimeError(f"TaskGroup {self!r} is shutting down")
        loop = self._loop
        assert loop is not None
        # Any object names a task (as str(name)), as in asyncio.
        task_name = None if name is None else str(name)
        if context is None:
            task = loop.create_task(coro, name=task_name)
        else:
            task = loop.create_task(coro, name=task_name, context=context)
        # The parent task awaits the group's tasks, for the call graph
        # (undone in _on_task_done).
        future_add_to_awaited_by(task, self._parent_task)
        if task.done():
            # An eager task may already be over.
            self._on_task_done(task)
        else:
            self._tasks.add(task)
            task.add_done_callback(self._on_task_done)
        return task

    def _abort(self) -> None:
        self._aborting = True
        for task in self._tasks:
            if not task.done():
                task.cancel()

    def _on_task_done(self, task: Any) -> None:
        self._tasks.discard(task)
        future_discard_from_awaited_by(task, self._parent_task)
        fut = self._on_completed_fut
        if fut is not None and not self._tasks and not fut.done():
            fut.set_result(True)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is None:
            return
        self._errors.append(exc)
        if _is_base_error(exc) and self._base_error is None:
            self._base_error = exc
        parent = self._parent_task
        if parent.done():
            loop = self._loop
            assert loop is not None
            # Through Any: compiled, a call typed -> None checks for None, and a
            # replaced handler (a Mock) may return anything.
            loop_any: Any = loop
            loop_any.call_exception_handler(
                {
                    "message": f"Task {task!r} has errored out but its parent "
                    f"task {parent} is already completed",
                    "exception": exc,
                    "task": task,
                }
            )
            return
        if not self._aborting and not self._parent_cancel_requested:
            self._abort()
            self._parent_cancel_requested = True
            parent.cancel()
