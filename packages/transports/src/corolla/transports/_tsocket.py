"""A read-mostly view of a transport's socket, handed out by get_extra_info("socket")."""

from __future__ import annotations

import socket
from typing import Any

from mypy_extensions import mypyc_attr

_FORBIDDEN = "the socket belongs to a transport; use the transport's methods instead"


@mypyc_attr(allow_interpreted_subclasses=True)
class TransportSocket:
    """A wrapper around a socket owned by a transport.

    Queries (``fileno``, ``getsockname``, ``getpeername``, ``getsockopt``,
    ``setsockopt``, ``family``, ``type``, ``proto``) pass through; operations
    that would move data or change the socket's state behind the transport's
    back (``send``, ``recv``, ``close``, ``setblocking``, ``settimeout`` ...)
    raise :class:`RuntimeError`.
    """

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    @property
    def family(self) -> int:
        """The socket's address family."""
        return int(self._sock.family)

    @property
    def type(self) -> int:
        """The socket's type."""
        return int(self._sock.type)

    @property
    def proto(self) -> int:
        """The socket's protocol number."""
        return self._sock.proto

    def __repr__(self) -> str:
        text = f"<corolla.transports.TransportSocket fd={self.fileno()}"
        if self.fileno() != -1:
            text += f", family={self._sock.family!r}, type={self._sock.type!r}"
            try:
                text += f", laddr={self._sock.getsockname()!r}"
            except OSError:
                pass
            try:
                text += f", raddr={self._sock.getpeername()!r}"
            except OSError:
                pass
        return text + ">"

    def __getstate__(self) -> Any:
        raise TypeError("cannot pickle a TransportSocket")

    def fileno(self) -> int:
        """The socket's file descriptor (-1 once closed)."""
        return self._sock.fileno()

    def dup(self) -> socket.socket:
        """A new, independent socket object for the same connection."""
        return self._sock.dup()

    def get_inheritable(self) -> bool:
        """Whether the descriptor is inherited by child processes."""
        return self._sock.get_inheritable()

    def shutdown(self, how: int) -> None:
        """Shut down one or both halves of the connection."""
        self._sock.shutdown(how)

    def getsockopt(self, *args: Any) -> Any:
        """Read a socket option."""
        return self._sock.getsockopt(*args)

    def setsockopt(self, *args: Any) -> None:
        """Set a socket option."""
        self._sock.setsockopt(*args)

    def getpeername(self) -> Any:
        """The remote address."""
        return self._sock.getpeername()

    def getsockname(self) -> Any:
        """The local address."""
        return self._sock.getsockname()

    def getsockbyname(self) -> Any:
        """The local address (alias kept for symmetry with getpeername)."""
        return self._sock.getsockname()

    def gettimeout(self) -> float:
        """Always 0: the transport's socket is non-blocking."""
        return 0.0

    def setblocking(self, flag: bool) -> None:
        """Only ``setblocking(False)`` is allowed: the socket stays non-blocking."""
        if flag:
            raise ValueError("a transport's socket must stay non-blocking")

    def settimeout(self, value: float | None) -> None:
        """Only ``settimeout(0)`` is allowed: the socket stays non-blocking."""
        if value == 0:
            return
        raise ValueError("a transport's socket must stay non-blocking")

    def accept(self, *args: Any, **kwargs: Any) -> Any:
        """Forbidden: raises RuntimeError."""
        raise RuntimeError(_FORBIDDEN)

    def bind(self, *args: Any, **kwargs: Any) -> Any:
        """Forbidden: raises RuntimeError."""
        raise RuntimeError(_FORBIDDEN)

    def close(self, *args: Any, **kwargs: Any) -> Any:
        """Forbidden: raises RuntimeError."""
        raise RuntimeError(_FORBIDDEN)

    def connect(self, *args: Any, **kwargs: Any) -> Any:
        """Forbidden: raises RuntimeError."""
        raise RuntimeError(_FORBIDDEN)

    def connect_ex(self, *args: Any, **kwargs: Any) -> Any:
        """Forbidden: raises RuntimeError."""
        raise RuntimeError(_FORBIDDEN)

    def detach(self, *args: Any, **kwargs: Any) -> Any:
        """Forbidden: raises RuntimeError."""
        raise RuntimeError(_FORBIDDEN)

    def listen(self, *args: Any, **kwargs: Any) -> Any:
        """Forbidden: raises RuntimeError."""
        raise RuntimeError(_FORBIDDEN)

    def makefile(self, *args: Any, **kwargs: Any) -> Any:
        """Forbidden: raises RuntimeError."""
        raise RuntimeError(_FORBIDDEN)

    def recv(self, *args: Any, **kwargs: Any) -> Any:
        """Forbidden: raises RuntimeError."""
        raise RuntimeError(_FORBIDDEN)

    def recv_into(self, *args: Any, **kwargs: Any) -> Any:
        """Forbidden: raises RuntimeError."""
        raise RuntimeError(_FORBIDDEN)

    def recvfrom(self, *args: Any, **kwargs: Any) -> Any:
        """Forbidden: raises RuntimeError."""
        raise RuntimeError(_FORBIDDEN)

    def recvfrom_into(self, *args: Any, **kwargs: Any) -> Any:
        """Forbidden: raises RuntimeError."""
        raise RuntimeError(_FORBIDDEN)

    def recvmsg(self, *args: Any, **kwargs: Any) -> Any:
        """Forbidden: raises RuntimeError."""
        raise RuntimeError(_FORBIDDEN)

    def recvmsg_into(self, *args: Any, **kwargs: Any) -> Any:
        """Forbidden: raises RuntimeError."""
        raise RuntimeError(_FORBIDDEN)

    def send(self, *args: Any, **kwargs: Any) -> Any:
        """Forbidden: raises RuntimeError."""
        raise RuntimeError(_FORBIDDEN)

    def sendall(self, *args: Any, **kwargs: Any) -> Any:
        """Forbidden: raises RuntimeError."""
        raise RuntimeError(_FORBIDDEN)

    def sendfile(self, *args: Any, **kwargs: Any) -> Any:
        """Forbidden: raises RuntimeError."""
        raise RuntimeError(_FORBIDDEN)

    def sendmsg(self, *args: Any, **kwargs: Any) -> Any:
        """Forbidden: raises RuntimeError."""
        raise RuntimeError(_FORBIDDEN)

    def sendto(self, *args: Any, **kwargs: Any) -> Any:
        """Forbidden: raises RuntimeError."""
        raise RuntimeError(_FORBIDDEN)

    def set_inheritable(self, *args: Any, **kwargs: Any) -> Any:
        """Forbidden: raises RuntimeError."""
        raise RuntimeError(_FORBIDDEN)

    def __enter__(self) -> Any:
        raise RuntimeError(_FORBIDDEN)

    def __exit__(self, *exc: object) -> None:
        raise RuntimeError(_FORBIDDEN)
