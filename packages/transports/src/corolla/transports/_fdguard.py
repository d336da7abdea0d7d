"""How a transport watches its socket, and its entry in the loop's fd guard.

The stdlib loop (and corolla's) keeps ``loop._transports``, a weak mapping
from file descriptor to the transport that owns it, and refuses
``add_reader``/``remove_reader``/``add_writer``/``remove_writer`` and the
``sock_*`` methods on a descriptor whose transport is still open. A loop that
has that mapping also has unguarded ``_add_reader``/``_remove_reader``/
``_add_writer``/``_remove_writer`` methods (same arguments as the public ones)
for the transport's own use. On such a loop a transport registers itself and
watches its socket through the unguarded methods; on any other loop (uvloop,
a third-party loop) it uses the public methods and registers nowhere.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, MutableMapping
from typing import Any

_RAW_NAMES = ("_add_reader", "_remove_reader", "_add_writer", "_remove_writer")


class FdOps:
    """The four readiness operations a transport uses, and the guard's registry."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        registry = getattr(loop, "_transports", None)
        raw = [getattr(loop, name, None) for name in _RAW_NAMES]
        self.registry: MutableMapping[int, Any] | None = None
        if isinstance(registry, MutableMapping) and all(callable(op) for op in raw):
            self.registry = registry
            self.add_reader: Callable[..., object] = raw[0]  # type: ignore[assignment]
            self.remove_reader: Callable[[int], object] = raw[1]  # type: ignore[assignment]
            self.add_writer: Callable[..., object] = raw[2]  # type: ignore[assignment]
            self.remove_writer: Callable[[int], object] = raw[3]  # type: ignore[assignment]
        else:
            self.add_reader = loop.add_reader
            self.remove_reader = loop.remove_reader
            self.add_writer = loop.add_writer
            self.remove_writer = loop.remove_writer

    def register(self, fd: int, transport: object) -> None:
        """Mark ``fd`` as owned by ``transport`` (no-op on a loop without the guard)."""
        registry = self.registry
        if registry is not None:
            try:
                registry[fd] = transport
            except TypeError:
                # A transport that cannot be weakly referenced is simply not guarded.
                self.registry = None

    def unregister(self, fd: int, transport: object) -> None:
        """Drop ``fd``'s entry if it still names ``transport``."""
        registry = self.registry
        if registry is not None and registry.get(fd) is transport:
            del registry[fd]
