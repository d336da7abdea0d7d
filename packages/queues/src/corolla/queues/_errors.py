"""The queue exceptions: asyncio's own classes, so ``except asyncio.QueueEmpty`` works."""

from __future__ import annotations

import sys
from asyncio import QueueEmpty, QueueFull

if sys.version_info >= (3, 13):
    from asyncio import QueueShutDown
else:
    from corolla.queues._shutdown import QueueShutDown

__all__ = ["QueueEmpty", "QueueFull", "QueueShutDown"]
