"""corolla.streams: StreamReader, StreamWriter, open_connection and start_server."""

from corolla.streams._compiled import COMPILED

__all__ = ["COMPILED"]
