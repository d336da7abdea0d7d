"""corolla.subprocess: Subprocess transports, child watching and the Process API."""

from corolla.subprocess._compiled import COMPILED

__all__ = ["COMPILED"]
