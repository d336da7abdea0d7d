"""corolla.tasks: Task and the coroutine helpers (gather, wait, timeout, TaskGroup, ...)
for any asyncio event loop.
"""

from corolla.tasks._api import Task
from corolla.tasks._compiled import COMPILED

__all__ = ["COMPILED", "Task"]
