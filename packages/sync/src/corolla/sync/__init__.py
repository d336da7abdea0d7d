"""corolla.sync: Lock, Event, Condition, Semaphore, BoundedSemaphore and Barrier for any asyncio
event loop.
"""

from asyncio import BrokenBarrierError

from corolla.sync._compiled import COMPILED
from corolla.sync._public import (
    Barrier,
    BoundedSemaphore,
    Condition,
    Event,
    Lock,
    Semaphore,
)

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
