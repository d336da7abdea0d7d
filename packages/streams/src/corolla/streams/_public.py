"""The public stream classes, defined by the interpreter.

``StreamReader``, ``StreamWriter`` and ``StreamReaderProtocol`` are
interpreted subclasses of compiled cores (plain native classes with no
interpreted base). The interpreter gives them a ``__dict__`` and weak
references that are cleared when an instance is freed, on every Python
version, and user subclasses of them work as with asyncio's classes.

A compiled class cannot do this itself: mypyc's class on asyncio's
``Protocol`` (an interpreted base) gets a weak-reference slot on 3.11 that its
deallocator never clears, so a weak reference outliving the protocol crashed
the interpreter, and no slot at all on 3.12+; a plain native class has neither
a ``__dict__`` nor weak references. This module is never compiled (the
package's build ``exclude`` list); the compiled modules create instances
through the ``*_class`` variables registered at its end.
"""

from __future__ import annotations

import asyncio

from corolla.streams import _protocol, _reader, _writer
from corolla.streams._flow import FlowControlProtocol
from corolla.streams._protocol import ClientConnected, ReaderLike, StreamReaderProtocolCore
from corolla.streams._reader import StreamReaderCore
from corolla.streams._writer import StreamWriterCore


class StreamReader(StreamReaderCore):
    """Bytes arriving on a connection, read with ``await reader.read(...)`` & co.

    A protocol (usually :class:`StreamReaderProtocol`) calls
    :meth:`feed_data`, :meth:`feed_eof` and :meth:`set_exception`; one
    coroutine at a time reads. ``limit`` bounds the length of a line or
    separated chunk (:meth:`readline`, :meth:`readuntil`) and sets the
    buffering: when more than ``2 * limit`` bytes are buffered the reader
    asks the transport to pause reading, and resumes it once the buffer is
    back to ``limit`` bytes or fewer (or as soon as a read has to wait).

    A read that is cancelled leaves every byte it has not returned in the
    buffer. ``async for line in reader`` iterates over lines until EOF.
    ``loop`` defaults to the running loop (else the current loop).
    """


class StreamWriter(StreamWriterCore):
    """The writing half of a stream connection: wraps a transport.

    :meth:`write` and :meth:`writelines` buffer in the transport and never
    block; ``await writer.drain()`` waits until the transport's buffer is
    below its high-water mark. ``protocol`` provides the waiting (see
    :class:`FlowControlProtocol`); ``reader``, when given, lets :meth:`drain`
    report the connection's error.

    A writer that is garbage collected while its transport is open closes
    the transport and emits a :class:`ResourceWarning` (visible with
    ``-W default`` or ``-X dev``).
    """

    def __del__(self) -> None:
        self._finalize()


class StreamReaderProtocol(StreamReaderProtocolCore, FlowControlProtocol, asyncio.Protocol):
    """Adapts a transport to a :class:`StreamReader` (and a :class:`StreamWriter`).

    Received data, EOF and the connection's end go to ``stream_reader``.
    With ``client_connected_cb`` (what :func:`start_server` passes) each new
    connection makes a :class:`StreamWriter` and calls
    ``client_connected_cb(reader, writer)``; a coroutine it returns runs as a
    task, and an exception escaping that task goes to the loop's exception
    handler and closes the connection.

    Subclasses may override the protocol methods (calling the base method
    where they want its behaviour), as with :class:`asyncio.StreamReaderProtocol`.
    """

    def __init__(
        self,
        stream_reader: ReaderLike | None,
        client_connected_cb: ClientConnected | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        FlowControlProtocol.__init__(self, loop)
        StreamReaderProtocolCore.__init__(self, stream_reader, client_connected_cb, self._loop)

    def connection_lost(self, exc: BaseException | None) -> None:
        """EOF (or ``exc``) to the reader; wake writers waiting in ``drain``/``wait_closed``."""
        self._reader_lost(exc)
        FlowControlProtocol.connection_lost(self, exc)
        self._forget()


_reader.reader_class = StreamReader
_writer.writer_class = StreamWriter
_protocol.protocol_class = StreamReaderProtocol
