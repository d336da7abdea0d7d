"""Module-level task creation and coroutine checks, as asyncio offers them."""

from __future__ import annotations

import asyncio
import collections.abc
import contextvars
import inspect
import types
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_COROUTINE_TYPES = (types.CoroutineType, collections.abc.Coroutine)


def create_task(
    coro: Coroutine[Any, Any, T],
    *,
    name: object = None,
    context: contextvars.Context | None = None,
) -> asyncio.Task[T]:
    """Schedule *coro* as a task on the running event loop and return the task.

    The loop's task factory decides the task class (on the corolla loop, a
    :class:`corolla.tasks.Task`). Raises :exc:`RuntimeError` when no event
    loop is running in this thread.
    """
    loop = asyncio.get_running_loop()
    # Any object names a task (as str(name)), as in asyncio.
    return loop.create_task(coro, name=None if name is None else str(name), context=context)


def iscoroutine(obj: object) -> bool:
    """True for coroutine objects, native or any :class:`collections.abc.Coroutine`."""
    return isinstance(obj, _COROUTINE_TYPES)


def iscoroutinefunction(func: object) -> bool:
    """True for ``async def`` functions, including ones marked with
    :func:`inspect.markcoroutinefunction` (3.12+)."""
    return inspect.iscoroutinefunction(func)
