"""QueueShutDown for interpreters older than 3.13, where asyncio has none."""

from __future__ import annotations


class QueueShutDown(Exception):
    """Raised by put/get on a queue after ``shutdown()`` (asyncio.QueueShutDown on 3.13+)."""
