"""corolla.queues: Queue, LifoQueue and PriorityQueue (with shutdown) for any asyncio event loop."""

from corolla.queues._compiled import COMPILED
from corolla.queues._errors import QueueEmpty, QueueFull, QueueShutDown
from corolla.queues._public import LifoQueue, PriorityQueue, Queue

__all__ = [
    "COMPILED",
    "LifoQueue",
    "PriorityQueue",
    "Queue",
    "QueueEmpty",
    "QueueFull",
    "QueueShutDown",
]
