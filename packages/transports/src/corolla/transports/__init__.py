"""corolla.transports: Protocols and transports: TCP, UDP, Unix, TLS and pipes, servers, sendfile
and Happy Eyeballs.
"""

from corolla.transports._compiled import COMPILED

__all__ = ["COMPILED"]
