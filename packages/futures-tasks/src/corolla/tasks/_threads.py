"""Threads and loops: run_coroutine_threadsafe, to_thread; task lookups and factories."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import functools
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

from corolla.futures._wrap import chain_future
from corolla.tasks._api import Task
from corolla.tasks._combinators import ensure_future
from corolla.tasks._task import is_coroutine

_T = TypeVar("_T")
_P = ParamSpec("_P")


def run_coroutine_threadsafe(
    coro: Coroutine[Any, Any, _T], loop: asyncio.AbstractEventLoop
) -> concurrent.futures.Future[_T]:
    """Submit a coroutine to ``loop`` from another thread.

    Returns a concurrent.futures.Future with its outcome; cancelling that
    future cancels the task.
    """
    if not is_coroutine(coro):
        raise TypeError("A coroutine object is required")
    future: concurrent.futures.Future[_T] = concurrent.futures.Future()

    def start() -> None:
        try:
            chain_future(ensure_future(coro, loop=loop), future)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            if future.set_running_or_notify_cancel():
                future.set_exception(exc)
            raise

    loop.call_soon_threadsafe(start)
    return future


async def to_thread(func: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
    """Run ``func`` in the loop's default executor, in a copy of the current context."""
    loop = asyncio.get_running_loop()
    ctx = contextvars.copy_context()
    call = functools.partial(ctx.run, func, *args, **kwargs)
    result: _T = await loop.run_in_executor(None, call)
    return result


def current_task(loop: asyncio.AbstractEventLoop | None = None) -> Any:
    """The task running on ``loop`` (default: the running loop), or None."""
    return asyncio.current_task(loop)


def all_tasks(loop: asyncio.AbstractEventLoop | None = None) -> set[Any]:
    """The unfinished tasks of ``loop`` (default: the running loop)."""
    return set(asyncio.all_tasks(loop))


def eager_task_factory(
    loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any], **kwargs: Any
) -> Any:
    """Task factory (``loop.set_task_factory``) making eagerly started corolla tasks."""
    kwargs.setdefault("eager_start", True)
    return Task(coro, loop=loop, **kwargs)


def create_eager_task_factory(
    custom_task_constructor: Callable[..., Any],
) -> Callable[..., Any]:
    """A task factory that builds tasks with ``custom_task_constructor(..., eager_start=True)``."""

    def factory(
        loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any], **kwargs: Any
    ) -> Any:
        kwargs.setdefault("eager_start", True)
        return custom_task_constructor(coro, loop=loop, **kwargs)

    return factory
