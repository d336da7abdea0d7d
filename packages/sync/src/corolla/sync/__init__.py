"""corolla.sync: Lock, Event, Condition, Semaphore, BoundedSemaphore and Barrier for any asyncio
event loop.
"""

from corolla.sync._compiled import COMPILED

__all__ = ["COMPILED"]
