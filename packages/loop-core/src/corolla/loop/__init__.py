"""corolla.loop: The corolla event loop: a drop-in replacement for the asyncio event loop."""

from corolla.loop._compiled import COMPILED

__all__ = ["COMPILED"]
