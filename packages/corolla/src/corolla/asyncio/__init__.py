"""corolla.asyncio: The whole corolla asyncio API in one namespace: import corolla.asyncio as
asyncio.
"""

from corolla.asyncio._compiled import COMPILED

__all__ = ["COMPILED"]
