"""corolla.devtools: Debug tooling for asyncio programs and the corolla command line."""

from corolla.devtools._compiled import COMPILED

__all__ = ["COMPILED"]
