"""corolla.transports: Protocols and transports: TCP, UDP, Unix, TLS and pipes, servers, sendfile
and Happy Eyeballs.

The connection functions take the event loop as their first argument and
otherwise mirror the methods of :class:`asyncio.AbstractEventLoop` of the same
name; they use only the loop's public interface, so they work on any asyncio
event loop. The protocol and transport interfaces are the stdlib's own classes,
so ``isinstance`` checks hold in both directions.
"""

from asyncio import (
    BaseProtocol,
    BaseTransport,
    BufferedProtocol,
    DatagramProtocol,
    DatagramTransport,
    Protocol,
    ReadTransport,
    SubprocessProtocol,
    SubprocessTransport,
    Transport,
    WriteTransport,
)

from corolla.transports._compiled import COMPILED
from corolla.transports._connect import (
    connect_accepted_socket,
    create_connection,
    create_unix_connection,
)
from corolla.transports._datagram import create_datagram_endpoint
from corolla.transports._pipes import connect_read_pipe, connect_write_pipe
from corolla.transports._public import (
    DatagramSocketTransport,
    ReadPipeTransport,
    Server,
    SocketTransport,
    TLSTransport,
    WritePipeTransport,
)
from corolla.transports._sendfile import sendfile
from corolla.transports._server import create_server, create_unix_server
from corolla.transports._tls import start_tls
from corolla.transports._tsocket import TransportSocket

__all__ = [
    "COMPILED",
    "BaseProtocol",
    "BaseTransport",
    "BufferedProtocol",
    "DatagramProtocol",
    "DatagramSocketTransport",
    "DatagramTransport",
    "Protocol",
    "ReadPipeTransport",
    "ReadTransport",
    "Server",
    "SocketTransport",
    "SubprocessProtocol",
    "SubprocessTransport",
    "TLSTransport",
    "Transport",
    "TransportSocket",
    "WritePipeTransport",
    "WriteTransport",
    "connect_accepted_socket",
    "connect_read_pipe",
    "connect_write_pipe",
    "create_connection",
    "create_datagram_endpoint",
    "create_server",
    "create_unix_connection",
    "create_unix_server",
    "sendfile",
    "start_tls",
]
