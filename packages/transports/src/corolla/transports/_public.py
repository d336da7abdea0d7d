"""The public transport classes: interpreted subclasses of the compiled ones.

This module is never compiled (see ``exclude`` in pyproject.toml). Each class
here adds nothing but its name and docstring to its compiled base, whose
methods do the work; being defined by the interpreter is the point:

mypyc builds a native class whose base is an interpreted class (here asyncio's
``Transport`` family, which has ``__slots__``) with a ``__dict__`` but, on
Python 3.12 and later, without a weak-reference slot (``__weakrefoffset__`` is
0), so ``weakref.ref(transport)`` raised TypeError there and the loop's weak
fd -> transport mapping (its fd guard) could not hold the transports. A class
defined by the interpreter on top of such a base gets the slot as any Python
class does (3.11's mypyc build already has one; nothing is added then).

The compiled modules instantiate these classes through the module-level
``*_class`` variables registered below, as importing this module from them
would be circular.

``__del__`` is defined here too, calling the compiled ``_finalize``: the
finalizer mypyc generates for a compiled ``__del__`` does not preserve the
pending exception, and an interpreted subclass runs it as its own finalizer,
so a constructor that raised (a regular file given to ``connect_read_pipe``)
surfaced as ``SystemError: ... returned NULL without setting an exception``.
The interpreter's finalizer for a Python ``__del__`` saves and restores it.
"""

from __future__ import annotations

from corolla.transports import _datagram, _pipes, _stream, _tls


class SocketTransport(_stream.SocketTransportBase):
    """A stream transport over a connected TCP or Unix socket."""

    def __del__(self) -> None:
        self._finalize()


class DatagramSocketTransport(_datagram.DatagramSocketTransportBase):
    """A datagram transport over a UDP or Unix datagram socket.

    Like the stdlib's, it is also an :class:`asyncio.Transport` instance (code
    checks ``isinstance(transport, asyncio.Transport)`` for any transport);
    the stream-only methods (``write``, ``write_eof`` ...) are not supported.
    """

    def __del__(self) -> None:
        self._finalize()


class ReadPipeTransport(_pipes.ReadPipeTransportBase):
    """Reads a pipe-like file descriptor and feeds a Protocol."""

    def __del__(self) -> None:
        self._finalize()


class WritePipeTransport(_pipes.WritePipeTransportBase):
    """Writes to a pipe-like file descriptor with buffering and flow control."""

    def __del__(self) -> None:
        self._finalize()


class TLSTransport(_tls.TLSTransportBase):
    """The transport a protocol sees on a TLS connection."""


_stream.socket_transport_class = SocketTransport
_datagram.datagram_transport_class = DatagramSocketTransport
_pipes.read_pipe_transport_class = ReadPipeTransport
_pipes.write_pipe_transport_class = WritePipeTransport
_tls.tls_transport_class = TLSTransport
