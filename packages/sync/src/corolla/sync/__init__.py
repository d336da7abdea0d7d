"""corolla.sync: Lock, Event, Condition, Semaphore, BoundedSemaphore and Barrier for any asyncio
event loop.
"""

from asyncio import BrokenBarrierError

from corolla.sync._barrier import Barrier
from corolla.sync._compiled import COMPILED
from corolla.sync._lock import Condition, Event, Lock
from corolla.sync._semaphore import BoundedSemaphore, Semaphore

__all__ = [
    "COMPILED",
    "Barrier",
    "BoundedSemaphore",
    "BrokenBarrierError",
    "Condition",
    "Event",
    "Lock",
    "Semaphore",
]
