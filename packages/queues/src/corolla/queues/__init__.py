"""corolla.queues: Queue, LifoQueue and PriorityQueue (with shutdown) for any asyncio event loop."""

from corolla.queues._compiled import COMPILED

__all__ = ["COMPILED"]
