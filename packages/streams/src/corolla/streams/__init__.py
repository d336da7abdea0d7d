"""corolla.streams: StreamReader, StreamWriter, open_connection and start_server.

The functions and classes mirror :mod:`asyncio`'s streams (Python 3.13
behaviour) on any event loop: connections and servers are made through the
running loop's ``create_connection``/``create_server``/``create_unix_*``
and ``start_tls`` methods. :class:`FlowControlProtocol` is the write flow
control base that :class:`StreamWriter.drain` waits on, for protocols of
other packages (process pipes) to build on.
"""

from corolla.streams._api import (
    open_connection,
    open_unix_connection,
    start_server,
    start_unix_server,
)
from corolla.streams._compiled import COMPILED
from corolla.streams._flow import FlowControlProtocol
from corolla.streams._public import StreamReader, StreamReaderProtocol, StreamWriter

__all__ = [
    "COMPILED",
    "FlowControlProtocol",
    "StreamReader",
    "StreamReaderProtocol",
    "StreamWriter",
    "open_connection",
    "open_unix_connection",
    "start_server",
    "start_unix_server",
]
