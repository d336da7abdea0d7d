"""The stdlib's current-task and all-tasks bookkeeping, as each Python version offers it.

corolla tasks register there so that ``asyncio.current_task()``,
``asyncio.all_tasks()`` and ``asyncio.timeout()`` see them.
"""

from __future__ import annotations

import asyncio
import asyncio.tasks
from collections.abc import Callable
from typing import Any, Final

_tasks_module: Final[Any] = asyncio.tasks

enter_task: Final[Callable[[asyncio.AbstractEventLoop, Any], None]] = _tasks_module._enter_task
leave_task: Final[Callable[[asyncio.AbstractEventLoop, Any], None]] = _tasks_module._leave_task
register_task: Final[Callable[[Any], None]] = _tasks_module._register_task
unregister_task: Final[Callable[[Any], None]] = _tasks_module._unregister_task
_swap: Callable[[asyncio.AbstractEventLoop, Any], Any] | None = getattr(
    _tasks_module, "_swap_current_task", None
)
_register_eager: Callable[[Any], None] | None = getattr(_tasks_module, "_register_eager_task", None)
_unregister_eager: Callable[[Any], None] | None = getattr(
    _tasks_module, "_unregister_eager_task", None
)
current_task_of: Final[Callable[[asyncio.AbstractEventLoop], Any]] = asyncio.current_task


def swap_current_task(loop: asyncio.AbstractEventLoop, task: Any) -> Any:
    """Make ``task`` (or None) the loop's current task; return the previous one."""
    swap = _swap
    if swap is not None:
        return swap(loop, task)
    # 3.11 has no swap: leave the current task, enter the new one.
    previous = current_task_of(loop)
    if previous is not None:
        leave_task(loop, previous)
    if task is not None:
        enter_task(loop, task)
    return previous


def register_eager_task(task: Any) -> None:
    """Make a task running its eager first step visible to ``all_tasks()``."""
    register = _register_eager
    if register is not None:
        register(task)
    else:
        register_task(task)


def unregister_eager_task(task: Any) -> None:
    unregister = _unregister_eager
    if unregister is not None:
        unregister(task)
    else:
        unregister_task(task)
